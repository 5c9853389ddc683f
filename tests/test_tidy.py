import json
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from costtrend_nb import TrendQuery, wide
from costtrend_nb.errors import QueryError, ResponseError
from costtrend_nb.protocol import read_page
from costtrend_nb.tidy import COLUMNS, Chain, Page, build_frame, empty_frame

GOLDEN = Path(__file__).parent / "data" / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def load_expected(path: Path, tz: str) -> pd.DataFrame:
    raw = pd.read_csv(path, keep_default_na=False, dtype=str)
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(raw["timestamp"])
            .dt.tz_convert(tz)
            .astype(f"datetime64[ns, {tz}]"),
            "model_type": pd.Categorical(
                raw["model_type"], categories=list(dict.fromkeys(raw["model_type"]))
            ),
            "client_id": pd.array([int(x) if x else None for x in raw["client_id"]], dtype="Int64"),
            "metric": pd.Categorical(raw["metric"], categories=list(dict.fromkeys(raw["metric"]))),
            "value": raw["value"].astype(float),
            "unit": pd.Categorical(
                raw["unit"],
                categories=[
                    u
                    for u in ("CNY", "calls", "tokens", "images", "s", "chars", "models")
                    if u in set(raw["unit"])
                ],
            ),
            "complete": raw["complete"] == "True",
        }
    )


def frame_from_pages(query: TrendQuery, bodies: list[bytes], as_of: str) -> pd.DataFrame:
    (window,) = query.plan()
    pages = [read_page(httpx.Response(200, content=body), i) for i, body in enumerate(bodies)]
    return build_frame(query, [Chain(window, pages)], as_of=pd.Timestamp(as_of))


@pytest.mark.parametrize("case", CASES)
def test_golden_raw_pages_to_tidy_frame(case):
    folder = GOLDEN / case
    spec = json.loads((folder / "case.json").read_text())
    query = TrendQuery(spec["query"].pop("start"), spec["query"].pop("end"), **spec["query"])
    bodies = [p.read_bytes() for p in sorted(folder.glob("page-*.json"))]
    got = frame_from_pages(query, bodies, spec["as_of"])
    expected = load_expected(folder / "expected.csv", query.tz)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.columns) == list(COLUMNS)


def test_golden_cases_cover_the_promised_shapes():
    assert set(CASES) >= {
        "double_encoded",
        "single_encoded",
        "metric_missing",
        "duplicated_boundary",
        "empty_page",
        "three_pages",
    }


def test_dtypes_match_the_contract():
    got = frame_from_pages(
        TrendQuery("2026-11-18", "2026-11-18 03:00", model_types=["TTS"]),
        [(GOLDEN / "double_encoded" / "page-1.json").read_bytes()],
        "2026-11-20T00:00+08:00",
    )
    assert str(got["timestamp"].dtype) == "datetime64[ns, Asia/Shanghai]"
    assert isinstance(got["model_type"].dtype, pd.CategoricalDtype)
    assert str(got["client_id"].dtype) == "Int64"
    assert isinstance(got["metric"].dtype, pd.CategoricalDtype)
    assert got["value"].dtype == np.float64
    assert isinstance(got["unit"].dtype, pd.CategoricalDtype)
    assert got["complete"].dtype == bool
    assert (
        got.memory_usage(deep=True).sum() / len(got) < 200
    )  # tiny frame: category tables dominate


def test_empty_frame_has_the_schema():
    df = empty_frame("UTC")
    assert list(df.columns) == list(COLUMNS) and len(df) == 0
    assert str(df["timestamp"].dtype) == "datetime64[ns, UTC]"


# -- hostile or odd pages ----------------------------------------------------------------------

Q = TrendQuery("2026-11-18 00:00", "2026-11-18 03:00", model_types=["TTS"])
AS_OF = "2026-11-20T00:00+08:00"
T0 = 1794931200


def page(points, request_id="rid-42", metrics=None):
    return json.dumps(
        {
            "requestId": request_id,
            "success": True,
            "data": {"points": points, "metrics": metrics or []},
        }
    ).encode()


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (
            [{"timestamp": T0, "values": "{not json"}],
            r"page 1 of series all: point 0: values is not JSON",
        ),
        ([{"timestamp": T0, "values": "[1, 2]"}], "values is list, not a JSON object"),
        (
            [{"timestamp": T0, "values": '{"total_amount": "abc"}'}],
            "metric total_amount is 'abc', not a number",
        ),
        (
            [{"timestamp": T0, "values": '{"total_amount": true}'}],
            "metric total_amount is True, not a number",
        ),
        ([{"timestamp": T0, "values": '{"total_amount": NaN}'}], "not JSON|not a number"),
        (
            [{"timestamp": "1794931200", "values": "{}"}],
            "point 0 has timestamp '1794931200', not Unix seconds",
        ),
        ([{"values": "{}"}], "point 0 is not an object with timestamp and values"),
        (["x"], "point 0 is not an object"),
        ([{"timestamp": T0 + 60, "values": "{}"}], "not the start of a hourly bucket"),
    ],
)
def test_hostile_points_raise_response_error_naming_page_and_request(points, message):
    with pytest.raises(ResponseError, match=message) as info:
        frame_from_pages(Q, [page(points)], AS_OF)
    assert info.value.request_id == "rid-42"
    assert "rid-42" in str(info.value)


def test_second_page_is_named_in_errors():
    first = json.dumps(
        {
            "requestId": "r1",
            "nextToken": "t",
            "data": {"points": [{"timestamp": T0, "values": "{}"}]},
        }
    ).encode()
    second = page([{"timestamp": T0 + 3600, "values": "{oops"}], request_id="r2")
    with pytest.raises(ResponseError, match=r"page 2 of series all: point 0.*request id: r2"):
        frame_from_pages(Q, [first, second], AS_OF)


def test_numbers_as_text_are_read_and_negatives_kept_with_a_warning():
    pts = [
        {"timestamp": T0, "values": '{"total_amount": "1.5", "total_calls": 2}'},
        {"timestamp": T0 + 3600, "values": '{"total_amount": -0.5}'},
    ]
    with pytest.warns(UserWarning, match="1 negative value"):
        df = frame_from_pages(Q, [page(pts)], AS_OF)
    cost = df[df.metric == "total_amount"]["value"].tolist()
    assert cost == [1.5, -0.5, 0.0]


def test_points_outside_the_range_are_dropped_with_a_warning():
    pts = [
        {"timestamp": T0 - 3600, "values": '{"total_amount": 9}'},
        {"timestamp": T0, "values": '{"total_amount": 1}'},
        {"timestamp": T0 + 3 * 3600, "values": '{"total_amount": 9}'},
    ]
    with pytest.warns(UserWarning, match="2 point.* outside the requested range"):
        df = frame_from_pages(Q, [page(pts)], AS_OF)
    assert df[df.metric == "total_amount"]["value"].sum() == 1


def test_unknown_metric_keys_pass_through_as_additive_with_a_warning():
    pts = [{"timestamp": T0, "values": '{"total_amount": 1, "gpu_seconds": 12.5}'}]
    defs = [{"key": "gpu_seconds", "label": "GPU时长", "unit": "秒"}]
    with pytest.warns(UserWarning, match="not in the catalogue: gpu_seconds"):
        df = frame_from_pages(Q, [page(pts, metrics=defs)], AS_OF)
    gpu = df[df.metric == "gpu_seconds"]
    assert gpu["value"].tolist() == [12.5, 0.0, 0.0]
    assert set(gpu["unit"]) == {"s"}


def test_same_point_twice_with_different_values_keeps_the_last():
    pts = [
        {"timestamp": T0, "values": '{"total_amount": 1}'},
        {"timestamp": T0, "values": '{"total_amount": 2}'},
    ]
    df = frame_from_pages(Q, [page(pts)], AS_OF)
    assert df[df.metric == "total_amount"]["value"].tolist() == [2.0, 0.0, 0.0]


def test_points_after_as_of_are_kept_but_not_invented():
    pts = [{"timestamp": T0 + 2 * 3600, "values": '{"total_amount": 4}'}]
    df = frame_from_pages(Q, [page(pts)], "2026-11-18T00:30+08:00")
    cost = df[df.metric == "total_amount"]
    assert cost["timestamp"].dt.hour.tolist() == [0, 2]  # 01:00 is after as_of and was not sent
    assert not cost["complete"].any()


def test_as_of_must_be_aware():
    with pytest.raises(QueryError, match="timezone-aware"):
        frame_from_pages(Q, [page([])], "2026-11-20T00:00")


# -- daily re-bucketed from hours ---------------------------------------------------------------


def hourly_pages(query: TrendQuery, amount=lambda ts: 1.0, until=None):
    chains = []
    for w in query.plan():
        end = w.end if until is None else min(w.end, int(until.timestamp()) // 3600 * 3600 + 3600)
        pts = [
            {
                "timestamp": ts,
                "values": json.dumps(
                    {"total_amount": amount(ts), "total_calls": 1, "model_count": 1}
                ),
            }
            for ts in range(w.start, end, 3600)
        ]
        chains.append(Chain(w, [Page(pts)]))
    return chains


def test_local_days_in_a_dst_zone_have_23_and_25_hours():
    spring = TrendQuery(
        "2026-03-07", "2026-03-10", granularity="daily", tz="America/New_York", model_types=["TTS"]
    )
    df = build_frame(spring, hourly_pages(spring), as_of=pd.Timestamp("2026-04-01", tz="UTC"))
    calls = df[df.metric == "total_calls"]
    assert calls["value"].tolist() == [24.0, 23.0, 24.0]
    assert [t.isoformat() for t in calls["timestamp"]] == [
        "2026-03-07T00:00:00-05:00",
        "2026-03-08T00:00:00-05:00",
        "2026-03-09T00:00:00-04:00",
    ]
    autumn = TrendQuery(
        "2026-10-31", "2026-11-03", granularity="daily", tz="America/New_York", model_types=["TTS"]
    )
    df = build_frame(autumn, hourly_pages(autumn), as_of=pd.Timestamp("2026-12-01", tz="UTC"))
    assert df[df.metric == "total_calls"]["value"].tolist() == [24.0, 25.0, 24.0]


def test_rebucketed_days_sum_to_the_hours_and_leave_model_count_unknown():
    hourly = TrendQuery("2026-11-01", "2026-11-08", tz="Europe/London", model_types=["TTS"])
    daily = TrendQuery(
        "2026-11-01", "2026-11-08", granularity="daily", tz="Europe/London", model_types=["TTS"]
    )
    amount = lambda ts: (ts // 3600) % 17 * 0.25  # noqa: E731
    as_of = pd.Timestamp("2026-11-05 13:30", tz="UTC")
    h = build_frame(hourly, hourly_pages(hourly, amount, until=as_of), as_of=as_of)
    d = build_frame(daily, hourly_pages(daily, amount, until=as_of), as_of=as_of)
    hc, dc = h[h.metric == "total_amount"], d[d.metric == "total_amount"]
    assert dc["value"].sum() == pytest.approx(hc["value"].sum(), rel=1e-12)
    assert len(dc) == 5  # Nov 1..5: the day holding as_of is partial, later days do not exist
    assert dc["complete"].tolist() == [True, True, True, True, False]
    assert d[d.metric == "model_count"]["value"].isna().all()


# -- wide ------------------------------------------------------------------------------------


def test_wide_pivots_one_column_per_metric():
    df = frame_from_pages(Q, [(GOLDEN / "double_encoded" / "page-1.json").read_bytes()], AS_OF)
    w = wide(df)
    assert list(w.columns) == [
        "timestamp",
        "model_type",
        "client_id",
        "complete",
        "total_amount",
        "total_calls",
        "model_count",
        "characters",
    ]
    assert len(w) == 3
    assert w["total_amount"].tolist() == [1.25, 0.0, 2.0625]
    assert w["client_id"].isna().all() and str(w["client_id"].dtype) == "Int64"
    with pytest.raises(QueryError, match="columns value"):
        wide(df.drop(columns="value"))
    with pytest.raises(QueryError, match="aggregate it first"):
        wide(pd.concat([df, df]))


def test_wide_does_not_mutate_its_input():
    df = frame_from_pages(Q, [(GOLDEN / "double_encoded" / "page-1.json").read_bytes()], AS_OF)
    before = df.copy()
    wide(df)
    pd.testing.assert_frame_equal(df, before, check_exact=True)
