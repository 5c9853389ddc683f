import datetime as dt
import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

from costtrend_nb import TrendQuery
from costtrend_nb.errors import QueryError
from costtrend_nb.query import MODEL_TYPES, RangeWidenedWarning, SeriesKey, to_timestamp

SH = "Asia/Shanghai"


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-01T08:00:00+08:00",
        "2026-11-01 08:00",
        dt.datetime(2026, 11, 1, 8, 0),
        dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC),
        pd.Timestamp("2026-11-01 00:00", tz="UTC"),
        np.datetime64("2026-11-01T00:00"),  # naive: read in tz... so it differs, see below
        1793491200,
        1793491200.0,
        "1793491200",
    ],
)
def test_time_inputs(value):
    ts = to_timestamp(value, SH)
    assert str(ts.tz) == SH
    expected = pd.Timestamp("2026-11-01 08:00", tz=SH)
    if isinstance(value, np.datetime64):
        expected = pd.Timestamp("2026-11-01 00:00", tz=SH)  # naive values are wall time in tz
    assert ts == expected


def test_naive_dates_are_wall_clock_in_tz():
    q = TrendQuery("2026-11-01", "2026-11-02", tz="America/New_York")
    assert q.start == pd.Timestamp("2026-11-01 00:00", tz="America/New_York")
    assert q.start.utcoffset() == dt.timedelta(hours=-4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "2026-11-02", "end": "2026-11-01"}, "must be before end"),
        ({"start": "2026-11-01", "end": "2026-11-01"}, "must be before end"),
        ({"granularity": "weekly"}, "granularity must be 'hourly' or 'daily'"),
        ({"start": 1793491200000}, "looks like milliseconds"),
        ({"start": "yesterday-ish"}, "not a date or time"),
        ({"start": None}, "must be a date"),
        ({"start": "1990-01-01"}, "before 2015-01-01"),
        ({"tz": "Asia/Shangai"}, "Did you mean 'Asia/Shanghai'"),
        ({"tz": 8}, "IANA time zone"),
        ({"api_key_id": 5}, "api_key_id needs exactly one department"),
        ({"api_key_id": 5, "client_ids": [1, 2]}, "api_key_id needs exactly one department"),
        ({"member_user_ids": [1]}, "member_user_ids filters the members of one department"),
        ({"member_user_ids": [{"a": 1}], "client_ids": 3}, "member_user_ids must be a list of ids"),
        ({"member_user_ids": ["1,2"], "client_ids": 3}, "member_user_ids must be a list of ids"),
        ({"client_ids": []}, "client_ids is empty"),
        ({"client_ids": ["x"]}, "client_ids must be an integer id"),
        ({"client_ids": [-1]}, "an id from 1 to"),
        ({"model_types": []}, "model_types is empty"),
        ({"model_types": [3]}, "model_types must be names"),
        ({"by": "department"}, "by must name 'model_type', 'client_id'"),
        ({"max_results": 0}, "max_results must be an integer from 1 to 1000"),
        ({"max_results": 1001}, "max_results must be an integer from 1 to 1000"),
        ({"max_results": 10.5}, "max_results must be an integer"),
        ({"settle": "soon"}, "settle must be a duration"),
        ({"settle": "-1h"}, "non-negative duration"),
        ({"start": "2023-01-01", "end": "2026-01-01"}, "more than the 732 allowed for hourly data"),
        ({"granularity": "daily", "tz": "Asia/Kolkata"}, r"Asia/Kolkata \(UTC\+05:30"),
    ],
)
def test_bad_input_raises_query_error(kwargs, message):
    args = {"start": "2026-11-01", "end": "2026-11-08", **kwargs}
    with pytest.raises(QueryError, match=message):
        TrendQuery(args.pop("start"), args.pop("end"), **args)


def test_model_types_match_the_catalogue_whatever_their_case():
    q = TrendQuery("2026-11-01", "2026-11-02", model_types="chat, tts,CHATMULTIMODAL,asr")
    assert q.model_types == ("Chat", "TTS", "ChatMultimodal", "ASR")
    assert q.to_params()["modelTypes"] == "Chat,TTS,ChatMultimodal,ASR"
    assert TrendQuery("2026-11-01", "2026-11-02", model_types=["Chat", "chat"]).model_types == (
        "Chat",
    )


@pytest.mark.parametrize("name", ["LLM", "Chat2", "chatt", "Cha t", "Ｃhat", "Image"])
def test_unknown_model_types_are_refused_listing_the_valid_ones(name):
    with pytest.raises(QueryError) as info:
        TrendQuery("2026-11-01", "2026-11-02", model_types=[name])
    message = str(info.value)
    assert "unknown model type" in message
    assert "Chat, ChatMultimodal, ChatFullmodal" in message and "ASR" in message


@pytest.mark.parametrize("name", ["client_ids", "api_key_id"])
@pytest.mark.parametrize(
    "value",
    [0, -1, 2**63, 9223372036854775808, "9223372036854775808", "abc", "1e3", "١٢", " ", 1.5],
)
def test_ids_outside_1_to_2_63_minus_1_are_refused(name, value):
    kwargs = {"client_ids": 7, name: value} if name == "api_key_id" else {name: value}
    with pytest.raises(QueryError, match=name):
        TrendQuery("2026-11-01", "2026-11-02", **kwargs)


@pytest.mark.parametrize("value", [1, 2**63 - 1, "9223372036854775807", " 42 "])
def test_ids_inside_the_range_are_kept(value):
    q = TrendQuery("2026-11-01", "2026-11-02", client_ids=value, api_key_id=value)
    assert q.client_ids == (int(value),) and q.api_key_id == int(value)


@pytest.mark.parametrize("members", [["0"], [2**63], ["12a"], ["-3"]])
def test_member_ids_outside_the_range_are_refused(members):
    with pytest.raises(QueryError, match="member_user_ids"):
        TrendQuery("2026-11-01", "2026-11-02", client_ids=7, member_user_ids=members)


@pytest.mark.parametrize(
    ("start", "end", "granularity", "tz", "fetched"),
    [
        ("2026-05-03 13:30", "2026-05-03 18:00", "hourly", "Asia/Shanghai", ("13:00", "18:00")),
        ("2026-05-03 13:00", "2026-05-03 17:59:59", "hourly", "UTC", ("13:00", "18:00")),
        ("2026-05-03 06:00", "2026-05-05", "daily", "Asia/Shanghai", ("00:00", "00:00")),
        ("2026-05-03", "2026-05-04 00:00:01", "daily", "Europe/London", ("00:00", "00:00")),
    ],
)
def test_a_range_off_the_grid_is_widened_with_a_warning_naming_the_fetched_range(
    start, end, granularity, tz, fetched
):
    with pytest.warns(RangeWidenedWarning) as record:
        q = TrendQuery(start, end, granularity=granularity, tz=tz)
    assert len(record) == 1 and record[0].filename == __file__
    message = str(record[0].message)
    assert q.widened and q.start.isoformat() in message and q.end.isoformat() in message
    assert "Adjacent ranges must meet on the grid" in message
    assert (q.start.strftime("%H:%M"), q.end.strftime("%H:%M")) == fetched


def test_ranges_on_the_grid_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TrendQuery("2026-05-03 13:00", "2026-05-03 18:00")
        TrendQuery("2026-05-03", "2026-05-05", granularity="daily")
        TrendQuery("2026-03-07", "2026-03-10", granularity="daily", tz="America/New_York")


def test_adjacent_off_grid_ranges_share_a_bucket_and_the_frame_records_the_widening():
    from costtrend_nb import CostTrendClient

    client = CostTrendClient.demo()
    with pytest.warns(RangeWidenedWarning):
        first = client.fetch("2026-05-03 10:00", "2026-05-03 13:30", model_types="Chat")
    with pytest.warns(RangeWidenedWarning):
        second = client.fetch("2026-05-03 13:30", "2026-05-03 16:00", model_types="Chat")
    assert first.attrs["widened"] and second.attrs["widened"]
    assert first.attrs["query"]["requested_end"] == "2026-05-03T13:30:00+08:00"
    assert first.attrs["query"]["end"] == "2026-05-03T14:00:00+08:00"
    assert second.attrs["query"]["start"] == "2026-05-03T13:00:00+08:00"
    assert first.timestamp.max() == second.timestamp.min()  # the 13:00 hour is in both


def test_known_model_types_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TrendQuery("2026-11-01", "2026-11-02", model_types=["Chat", "TTS", "Chat"])


def test_hourly_ranges_widen_to_whole_hours():
    with pytest.warns(RangeWidenedWarning):
        q = TrendQuery("2026-11-01 08:20", "2026-11-01 10:05")
    assert (q.start, q.end) == (
        pd.Timestamp("2026-11-01 08:00", tz=SH),
        pd.Timestamp("2026-11-01 11:00", tz=SH),
    )
    assert q.requested_start == pd.Timestamp("2026-11-01 08:20", tz=SH)
    assert q.widened
    assert not TrendQuery("2026-11-01", "2026-11-02").widened


def test_daily_in_service_zone_uses_service_days():
    with pytest.warns(RangeWidenedWarning):
        q = TrendQuery("2026-11-01 13:00", "2026-11-03 01:00", granularity="daily")
    assert (q.start, q.end) == (
        pd.Timestamp("2026-11-01", tz=SH),
        pd.Timestamp("2026-11-04", tz=SH),
    )
    assert not q.rebucket and q.fetch_granularity == "daily"
    # Singapore keeps UTC+8 too: the service's own days fit
    assert not TrendQuery(
        "2026-11-01", "2026-11-03", granularity="daily", tz="Asia/Singapore"
    ).rebucket


def test_daily_elsewhere_is_fetched_hourly_over_local_days():
    with pytest.warns(RangeWidenedWarning):
        q = TrendQuery(
            "2026-03-07 10:00", "2026-03-09 10:00", granularity="daily", tz="America/New_York"
        )
    assert q.rebucket and q.fetch_granularity == "hourly"
    assert q.start == pd.Timestamp("2026-03-07", tz="America/New_York")
    assert q.end == pd.Timestamp("2026-03-10", tz="America/New_York")
    # 24 + 23 (spring forward) + 24 hours
    assert (q.end - q.start) == pd.Timedelta(hours=71)
    assert all(w.params["granularity"] == "hourly" for w in q.plan())


def test_to_params_for_one_department_and_members():
    q = TrendQuery(
        1793462400, 1793548800, client_ids=7, api_key_id=42, member_user_ids=[], tz="UTC"
    )
    assert q.to_params() == {
        "startTime": "1793462400",
        "endTime": "1793548800",
        "granularity": "hourly",
        "maxResults": "100",
        "clientId": "7",
        "apiKeyId": "42",
        "memberUserIds": "",
    }
    several = TrendQuery(1793462400, 1793548800, client_ids=[3, 1, 3]).to_params()
    assert several["clientIds"] == "3,1" and "clientId" not in several


def test_plan_splits_by_model_type_and_department():
    q = TrendQuery(
        "2026-11-01",
        "2026-11-02",
        by=["client_id", "model_type"],
        model_types=["Chat", "TTS"],
        client_ids=[1, 7],
    )
    assert q.by == ("model_type", "client_id")
    plan = q.plan()
    assert [w.series for w in plan] == [
        SeriesKey("Chat", 1),
        SeriesKey("Chat", 7),
        SeriesKey("TTS", 1),
        SeriesKey("TTS", 7),
    ]
    assert plan[1].params["modelTypes"] == "Chat" and plan[1].params["clientId"] == "7"


def test_plan_by_model_type_without_types_covers_every_known_type():
    plan = TrendQuery("2026-11-01", "2026-11-02", by="model_type").plan()
    assert [w.series.model_type for w in plan] == list(MODEL_TYPES)


def test_plan_by_department_needs_ids():
    q = TrendQuery("2026-11-01", "2026-11-02", by="client_id")
    with pytest.raises(QueryError, match="needs department ids"):
        q.plan()
    assert [w.series.client_id for w in q.plan([5, 6])] == [5, 6]


def test_windows_keep_the_connections_busy_in_whole_pages():
    q = TrendQuery("2026-01-01", "2026-04-01", max_results=100)  # 2160 hours
    assert [(w.end - w.start) // 3600 for w in q.plan()] == [2160]  # one chain is enough for one
    windows = [(w.start, w.end) for w in q.plan(parallelism=8)]
    assert [(e - s) // 3600 for s, e in windows] == [300] * 7 + [60]  # 2160/8 -> 3 pages each
    assert windows[0][0] == int(q.start.timestamp()) and windows[-1][1] == int(q.end.timestamp())
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))
    split = TrendQuery(
        "2026-01-01", "2026-04-01", by="model_type", model_types=["Chat", "TTS", "ASR"]
    )
    assert len(split.plan(parallelism=8)) == 3 * 3  # three series, three windows each
    many = TrendQuery("2026-01-01", "2026-04-01", by="model_type")
    assert len(many.plan(parallelism=8)) == 13  # thirteen series keep eight connections busy


def test_a_request_covers_at_most_366_days():
    hourly = TrendQuery("2025-01-01", "2026-06-01", max_results=1000).plan()
    assert (hourly[0].end - hourly[0].start) // 3600 == 8000  # 8784 hours, in whole pages
    daily = TrendQuery("2024-01-01", "2026-01-01", granularity="daily", max_results=1000).plan()
    assert [(w.end - w.start) // 86400 for w in daily] == [366, 365]  # 2024 is a leap year


def test_query_is_immutable_and_serialisable():
    q = TrendQuery("2026-11-01", "2026-11-02")
    with pytest.raises(AttributeError):
        q.start = pd.Timestamp("2026-01-01")  # type: ignore[misc]
    d = q.to_dict()
    assert d["start"] == "2026-11-01T00:00:00+08:00" and d["settle"] == "0 days 02:00:00"
