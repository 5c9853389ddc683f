"""Behaviours of tidy.py (the parser, the frame, wide and to_daily) that mutation testing found
unpinned (issue 16).

Each test fails when a plausible wrong change is made to the code it exercises: a dropped
page, a miscounted warning, a lost key, an error that names the wrong point, a column of the
wrong dtype. Pages are built directly (``Page``, ``Chain``): no client, no network.
"""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from costtrend_nb.errors import QueryError, ResponseError
from costtrend_nb.query import TrendQuery
from costtrend_nb.tidy import (
    COLUMNS,
    Chain,
    Page,
    build_frame,
    empty_frame,
    metric_units,
    parse_chain,
    to_daily,
    wide,
)

from .frames import make_frame

Q = TrendQuery("2026-11-18 00:00", "2026-11-18 03:00", model_types=["TTS"])
T0 = 1794931200  # 2026-11-18 00:00 in Shanghai
AS_OF = pd.Timestamp("2026-11-20T00:00+08:00")
TTS_METRICS = ["total_amount", "total_calls", "model_count", "characters"]
DTYPES = {
    "timestamp": "datetime64[ns, {tz}]",
    "model_type": "category",
    "client_id": "Int64",
    "metric": "category",
    "value": "float64",
    "unit": "category",
    "complete": "bool",
}


def point(ts: Any, values: Any = None, **metrics: Any) -> dict:
    """A point whose values are JSON text (as the service sends them) unless given."""
    return {"timestamp": ts, "values": json.dumps(metrics) if values is None else values}


def chain(*pages: list, query: TrendQuery = Q, metrics=None) -> Chain:
    (window,) = query.plan()
    return Chain(
        window,
        [
            Page(list(points), metrics=list(metrics or []), index=i, request_id=f"r{i + 1}")
            for i, points in enumerate(pages)
        ],
    )


def frame(*pages: list, query: TrendQuery = Q, metrics=None, as_of=AS_OF) -> pd.DataFrame:
    return build_frame(query, [chain(*pages, query=query, metrics=metrics)], as_of=as_of)


def values_of(df: pd.DataFrame, metric: str) -> list[float]:
    return df.loc[df["metric"] == metric, "value"].tolist()


def dtypes(df: pd.DataFrame) -> dict[str, str]:
    return df.dtypes.astype(str).to_dict()


def error_of(*pages: list, query: TrendQuery = Q, metrics=None) -> str:
    with pytest.raises(ResponseError) as info:
        frame(*pages, query=query, metrics=metrics)
    return str(info.value)


# -- empty frames ------------------------------------------------------------------------------


def test_empty_frame_has_every_dtype_of_the_contract_in_shanghai_by_default():
    df = empty_frame()
    assert len(df) == 0 and list(df.columns) == list(COLUMNS)
    assert dtypes(df) == {k: v.format(tz="Asia/Shanghai") for k, v in DTYPES.items()}


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/London"])  # London: days from hours
def test_a_fetch_read_before_its_range_begins_is_empty_with_the_schema_and_categories(tz):
    query = TrendQuery("2026-11-18", "2026-11-20", granularity="daily", tz=tz, model_types=["TTS"])
    chains = [Chain(w, [Page([])]) for w in query.plan()]
    df = build_frame(query, chains, as_of=pd.Timestamp("2026-11-01", tz="UTC"))
    assert len(df) == 0 and list(df.columns) == list(COLUMNS)
    assert dtypes(df) == {k: v.format(tz=tz) for k, v in DTYPES.items()}
    assert list(df["model_type"].cat.categories) == ["all"]
    assert list(df["metric"].cat.categories) == TTS_METRICS
    assert list(df["unit"].cat.categories) == ["CNY", "calls", "chars", "models"]


def test_no_chains_at_all_is_an_empty_frame_in_the_querys_zone():
    query = TrendQuery("2026-11-18", "2026-11-19", tz="Europe/Paris")
    df = build_frame(query, [], as_of=AS_OF)
    assert len(df) == 0 and dtypes(df) == {
        k: v.format(tz="Europe/Paris") for k, v in DTYPES.items()
    }


def test_a_one_bucket_range_has_its_rows():
    query = TrendQuery("2026-11-18 00:00", "2026-11-18 01:00", model_types=["TTS"])
    df = frame([point(T0, total_amount=2.5)], query=query)
    assert df["metric"].tolist() == TTS_METRICS
    assert values_of(df, "total_amount") == [2.5]


def test_a_range_read_before_it_begins_keeps_the_points_the_service_sent():
    """Regression: with no bucket before ``as_of`` (the range starts after it, e.g. the Date
    header a second behind the range's start), a point the service sent raised IndexError."""
    df = frame([point(T0 + 3600, total_amount=4.0)], as_of=pd.Timestamp("2026-11-01", tz="UTC"))
    assert values_of(df, "total_amount") == [4.0]
    assert df["timestamp"].unique().tolist() == [
        pd.Timestamp("2026-11-18 01:00", tz="Asia/Shanghai")
    ]
    assert not df["complete"].any()


def test_a_series_with_no_bucket_does_not_hide_the_series_after_it():
    """Read before the range begins, Chat has nothing; TTS sent one point (kept: the service
    sent it) and must not be lost behind the empty series."""
    query = TrendQuery(
        "2026-11-18 00:00", "2026-11-18 03:00", model_types=["Chat", "TTS"], by="model_type"
    )
    chat, tts = query.plan()
    chains = [Chain(chat, [Page([])]), Chain(tts, [Page([point(T0, total_amount=4.0)])])]
    df = build_frame(query, chains, as_of=pd.Timestamp("2026-11-01", tz="UTC"))
    assert set(df["model_type"]) == {"TTS"}
    assert list(df["model_type"].cat.categories) == ["Chat", "TTS"]
    assert values_of(df, "total_amount") == [4.0]


def test_a_series_fetched_in_two_windows_one_of_them_empty_has_zeros_there():
    query = TrendQuery("2026-11-18 00:00", "2026-11-18 04:00", model_types=["TTS"], max_results=2)
    first, second = query.plan(parallelism=2)
    chains = [
        Chain(second, [Page([])]),
        Chain(first, [Page([point(T0, total_amount=1), point(T0 + 3600, total_amount=2)])]),
    ]
    df = build_frame(query, chains, as_of=AS_OF)
    assert values_of(df, "total_amount") == [1.0, 2.0, 0.0, 0.0]


# -- series order ------------------------------------------------------------------------------


def _series_order(query: TrendQuery, windows) -> list[int]:
    chains = [Chain(w, [Page([point(T0, total_amount=1.0)])]) for w in windows]
    df = build_frame(query, chains, as_of=AS_OF)
    return list(dict.fromkeys(df["client_id"].tolist()))


def test_departments_come_in_the_order_the_query_names_them_whatever_the_chain_order():
    query = TrendQuery("2026-11-18 00:00", "2026-11-18 03:00", client_ids=[7, 3], by="client_id")
    assert _series_order(query, reversed(query.plan())) == [7, 3]


def test_departments_enumerated_by_the_client_come_by_id():
    query = TrendQuery("2026-11-18 00:00", "2026-11-18 03:00", by="client_id")
    assert _series_order(query, query.plan(departments=[9, 4])) == [4, 9]


# -- pages, points and what the service may send -------------------------------------------------


def test_an_empty_page_does_not_end_the_chain():
    df = frame([], [point(T0 + 3600, total_amount=3.0)])
    assert values_of(df, "total_amount") == [0.0, 3.0, 0.0]


def test_points_outside_the_range_are_counted_over_every_page_in_one_warning():
    pages = (
        [point(T0 - 3600, total_amount=9), point(T0, total_amount=1)],
        [point(T0 + 3 * 3600, total_amount=9)],
    )
    with pytest.warns(UserWarning) as caught:
        df = frame(*pages)
    assert [str(w.message) for w in caught] == [
        "2 point(s) of series all lay outside the requested range and were dropped."
    ]
    assert values_of(df, "total_amount") == [1.0, 0.0, 0.0]


def test_a_point_far_beyond_the_range_is_dropped_not_mistaken_for_one_off_the_grid():
    """Timestamps are whole seconds (int64): one on the hour grid 8e9 years on is outside the
    range; read as a float it would lose its last bits and look off the grid."""
    far = T0 + 3600 * (2**46 + 1)
    with pytest.warns(UserWarning, match="1 point"):
        df = frame([point(T0, total_amount=1), point(far, total_amount=9)])
    assert values_of(df, "total_amount") == [1.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("sent", "amounts", "logged"),
    [  # (hour, amount) in page order; the amounts of hours 0, 1, 2; the debug lines
        ([(0, 1), (1, 5)], [1, 5, 0], []),
        ([(0, 1), (0, 2)], [2, 0, 0], ["series all: 1 duplicate point(s) dropped"]),
        ([(0, 1), (1, 2), (1, 3)], [1, 3, 0], ["series all: 1 duplicate point(s) dropped"]),
        ([(0, 1), (1, 5), (0, 2), (0, 4)], [4, 5, 0], ["series all: 2 duplicate point(s) dropped"]),
    ],
)
def test_a_point_seen_twice_counts_once_and_the_debug_log_counts_the_copies_dropped(
    caplog, sent, amounts, logged
):
    pts = [point(T0 + 3600 * hour, total_amount=amount) for hour, amount in sent]
    with caplog.at_level(logging.DEBUG, logger="costtrend_nb"):
        df = frame(pts)
    assert values_of(df, "total_amount") == amounts
    assert [r.getMessage() for r in caplog.records if r.name == "costtrend_nb"] == logged


def test_a_metric_key_without_a_definition_is_kept_and_every_unknown_key_is_named():
    pts = [point(T0, total_amount=1, gpu_seconds=2.0, npu_seconds=3.0)]
    with pytest.warns(UserWarning) as caught:
        df = frame(pts)
    assert [str(w.message) for w in caught] == [
        "the service sent metric key(s) not in the catalogue: gpu_seconds, npu_seconds; "
        "they are kept and treated as additive."
    ]
    assert values_of(df, "gpu_seconds") == [2.0, 0.0, 0.0]
    assert set(df.loc[df["metric"] == "gpu_seconds", "unit"]) == {"unknown"}


def test_a_metric_only_later_points_carry_is_read():
    """The first point carries fewer keys than the next: the next one's extra key counts."""
    df = frame([point(T0, total_amount=1), point(T0 + 3600, total_amount=2, total_calls=5)])
    assert values_of(df, "total_calls") == [0.0, 5.0, 0.0]
    assert values_of(df, "total_amount") == [1.0, 2.0, 0.0]


def test_negative_values_warn_once_per_metric_with_the_whole_sentence():
    pts = [point(T0, total_amount=-1.5, total_calls=-2), point(T0 + 3600, total_amount=-0.5)]
    with pytest.warns(UserWarning) as caught:
        frame(pts)
    assert sorted(str(w.message) for w in caught) == [
        "series all: 1 negative value(s) of total_calls, kept as sent (credits or corrections).",
        "series all: 2 negative value(s) of total_amount, kept as sent (credits or corrections).",
    ]


def test_zeros_and_small_values_are_not_negative():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = frame([point(T0, total_amount=0.0, total_calls=0.5)])
    assert values_of(df, "total_calls") == [0.5, 0.0, 0.0]


def test_a_value_sent_as_an_object_may_be_beyond_64_bits_but_not_beyond_a_float():
    """Values already decoded (an object in the page, or a decoder that keeps big integers)
    are read as floats when they fit one; a number no float holds is an error, not a crash."""
    big = 2**70
    df = frame([point(T0, {"total_amount": big}), point(T0 + 3600, {"total_amount": 1})])
    assert values_of(df, "total_amount") == [float(big), 1.0, 0.0]
    message = error_of([point(T0, {"total_amount": 10**400})])
    assert message.startswith("page 1 of series all: point 0: metric total_amount is 1000")
    assert message.endswith("000, not a number (request id: r1)")


def test_a_huge_but_finite_number_is_read_whatever_the_other_points_hold():
    """Regression: 1e301 was read when every point held a number, and refused ("not a number")
    when another point of the page had null for that metric."""
    df = frame([point(T0, {"total_amount": 1e301}), point(T0 + 3600, {"total_amount": None})])
    assert values_of(df, "total_amount") == [1e301, 0.0, 0.0]


def test_true_and_false_in_one_page_are_refused():
    pts = [point(T0, '{"total_amount": true}'), point(T0 + 3600, '{"total_amount": false}')]
    assert error_of(pts) == (
        "page 1 of series all: point 0: metric total_amount is True, not a number (request id: r1)"
    )


def test_a_value_holding_two_objects_is_not_json():
    text = '{"total_amount": 1}, {"total_amount": 2}'
    assert error_of([point(T0, text)]) == (
        f"page 1 of series all: point 0: values is not JSON: {text!r} (request id: r1)"
    )


def test_values_encoded_seven_times_over_are_refused():
    text = json.dumps({"total_amount": 1})
    for _ in range(6):
        text = json.dumps(text)
    assert error_of([point(T0, text)]).startswith(
        "page 1 of series all: point 0: values is str, not a JSON object"
    )


def test_a_nan_value_sent_as_an_object_is_refused():
    assert error_of([point(T0, {"total_amount": float("nan")})]) == (
        "page 1 of series all: point 0: metric total_amount is nan, not a number (request id: r1)"
    )


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        (  # objects and text mixed: the bad text is named by its own place
            ([point(T0, {"total_amount": 1}), point(T0 + 3600, "{oops")],),
            "page 1 of series all: point 1: values is not JSON: '{oops' (request id: r1)",
        ),
        (  # the first of two pages
            ([point(T0, "{oops")], [point(T0 + 3600, total_amount=1)]),
            "page 1 of series all: point 0: values is not JSON: '{oops' (request id: r1)",
        ),
        (  # long text is cut at 60 characters
            ([point(T0, "{" + "x" * 100)],),
            f"page 1 of series all: point 0: values is not JSON: {'{' + 'x' * 59!r} "
            "(request id: r1)",
        ),
        (
            ([point(T0, total_amount=1)], [point(T0 + 3600 + 60, total_amount=1)]),
            "page 2 of series all has a point at 1794934860 "
            "(2026-11-17T17:01:00+00:00), which is not the start of a hourly bucket "
            "(request id: r2)",
        ),
        (
            ([point(9_223_372_036_855, total_amount=1)],),
            "page 1 of series all has a point at 9223372036855 "
            "(out of any calendar range), which is not the start of a hourly bucket "
            "(request id: r1)",
        ),
        (
            ([point(T0, total_amount=1), point("x", total_amount=1)],),
            "page 1 of series all: point 1 has timestamp 'x', not Unix seconds (request id: r1)",
        ),
        (
            ([point(-3600, total_amount=1), point("x", total_amount=1)],),
            "page 1 of series all: point 1 has timestamp 'x', not Unix seconds (request id: r1)",
        ),
        (
            ([point(-(2**62), total_amount=1), point("x", total_amount=1)],),
            "page 1 of series all: point 0 has timestamp -4611686018427387904, "
            "out of range (request id: r1)",
        ),
        (
            ([point(2**62, total_amount=1), point("x", total_amount=1)],),
            "page 1 of series all: point 0 has timestamp 4611686018427387904, "
            "out of range (request id: r1)",
        ),
        (
            ([point(2**64, total_amount=1)],),
            "page 1 of series all: point 0 has timestamp 18446744073709551616, "
            "out of range (request id: r1)",
        ),
    ],
)
def test_a_bad_point_is_named_by_page_point_and_request(pages, message):
    assert error_of(*pages) == message


# -- metric definitions ------------------------------------------------------------------------


def test_a_metric_definition_without_a_key_is_quoted_in_80_characters():
    definition = {"unit": "秒", "label": "x" * 200}
    shown = repr(str(definition)[:80])
    assert error_of([point(T0, total_amount=1)], metrics=[definition]) == (
        f"page 1 of series all has a metric definition without a key: {shown} (request id: r1)"
    )


def test_the_vendors_label_and_unit_of_a_new_metric_are_kept_when_they_are_text():
    definitions = [
        {"key": "gpu_seconds", "label": "GPU时长", "unit": "秒"},
        {"key": "npu_seconds", "label": 7, "unit": 5},
    ]
    parsed = parse_chain(Q, chain([point(T0, total_amount=1)], metrics=definitions))
    gpu, npu = parsed.declared["gpu_seconds"], parsed.declared["npu_seconds"]
    assert (gpu.key, gpu.unit, gpu.label_zh, gpu.unit_zh) == (
        "gpu_seconds",
        "s",
        "GPU时长",
        "秒",
    )
    assert (npu.key, npu.unit, npu.label_zh, npu.unit_zh) == ("npu_seconds", "unknown", "", "")
    pts = [point(T0, total_amount=1, npu_seconds=1)]
    with pytest.warns(UserWarning, match="not in the catalogue"):
        df = frame(pts, metrics=definitions)
    assert set(df.loc[df["metric"] == "npu_seconds", "unit"]) == {"unknown"}


def test_as_of_without_a_zone_is_refused_with_the_whole_sentence():
    with pytest.raises(QueryError) as info:
        build_frame(Q, [chain([])], as_of=pd.Timestamp("2026-11-20"))
    assert str(info.value) == "as_of must be timezone-aware."


def test_metric_units_reads_the_catalogue():
    assert metric_units(["total_amount", "characters", "gpu_seconds"]) == {
        "total_amount": "CNY",
        "characters": "chars",
        "gpu_seconds": "unknown",
    }


# -- wide --------------------------------------------------------------------------------------


def _two_series() -> pd.DataFrame:
    """TTS (department 7) before Chat (department 3), as the frame's categories order them."""
    return make_frame(
        "2026-03-02",
        "2026-03-04",
        {
            ("TTS", 7, "total_amount"): lambda ix: np.array([1.0, 2.0]),
            ("TTS", 7, "total_calls"): 10.0,
            ("Chat", 3, "total_amount"): lambda ix: np.array([3.0, 4.0]),
            ("Chat", 3, "total_calls"): 20.0,
        },
        complete_until="2026-03-03",
    )


def test_wide_keeps_the_frames_series_order_ids_and_completeness():
    df = _two_series()
    expected = pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(
                ["2026-03-02", "2026-03-03"] * 2, tz="Asia/Shanghai"
            ).astype("datetime64[ns, Asia/Shanghai]"),
            "model_type": pd.Categorical(["TTS"] * 2 + ["Chat"] * 2, categories=["TTS", "Chat"]),
            "client_id": pd.array([7, 7, 3, 3], dtype="Int64"),
            "complete": [True, False, True, False],
            "total_amount": [1.0, 2.0, 3.0, 4.0],
            "total_calls": [10.0, 10.0, 20.0, 20.0],
        }
    )
    pd.testing.assert_frame_equal(wide(df), expected)
    as_text = df.assign(model_type=df["model_type"].astype(object))
    pd.testing.assert_frame_equal(wide(as_text), expected)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda df: df.drop(columns=["unit", "value"]),
            "wide() needs a tidy frame; the columns value, unit are missing.",
        ),
        (
            lambda df: pd.concat([df, df.assign(value=df["value"] + 1)]),
            "the frame has several rows for one (timestamp, model_type, client_id, metric); "
            "aggregate it first.",
        ),
    ],
)
def test_wide_refuses_what_it_cannot_pivot_with_the_whole_sentence(change, message):
    with pytest.raises(QueryError) as info:
        wide(change(_two_series()))
    assert str(info.value) == message


# -- to_daily ----------------------------------------------------------------------------------


def test_to_daily_returns_the_tidy_columns_on_a_fresh_index_in_the_frames_dtype():
    hours = make_frame("2026-03-02", "2026-03-04", {("Chat", None, "total_calls"): 1.0}, freq="h")
    days = to_daily(hours)
    assert list(days.columns) == list(COLUMNS)
    assert days.index.equals(pd.RangeIndex(2))
    assert dtypes(days) == {k: v.format(tz="Asia/Shanghai") for k, v in DTYPES.items()}


def test_to_daily_where_midnight_happens_twice_starts_the_day_at_the_first():
    """Havana turns its clocks back from 01:00 to 00:00 on 2026-11-01: that day has 25 hours
    and starts at the first midnight (UTC-4)."""
    hours = make_frame(
        "2026-10-31",
        "2026-11-03",
        {("Chat", None, "total_calls"): 1.0},
        freq="h",
        tz="America/Havana",
    )
    days = to_daily(hours)
    assert days["value"].tolist() == [24.0, 25.0, 24.0]
    assert [t.isoformat() for t in days["timestamp"]] == [
        "2026-10-31T00:00:00-04:00",
        "2026-11-01T00:00:00-04:00",
        "2026-11-02T00:00:00-05:00",
    ]


def test_to_daily_refuses_a_frame_that_is_not_tidy_with_the_whole_sentence():
    hours = make_frame("2026-03-02", "2026-03-03", {("Chat", None, "total_calls"): 1.0})
    with pytest.raises(QueryError) as info:
        to_daily(hours.drop(columns=["unit", "complete"]))
    assert str(info.value) == "to_daily() needs a tidy frame; unit, complete missing."
