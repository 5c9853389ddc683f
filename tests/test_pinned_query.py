"""Behaviours of query.py that mutation testing found unpinned (issue 16).

Bad input gets a clear error that says what to do: each distinct error is checked here whole,
word for word, so that a changed or truncated message fails a test.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from costtrend_nb.errors import QueryError
from costtrend_nb.query import (
    EARLIEST,
    MAX_SPAN,
    RangeWidenedWarning,
    SeriesKey,
    TrendQuery,
    to_timestamp,
)

MODEL_TYPE_LIST = (
    "Chat, ChatMultimodal, ChatFullmodal, ImageGeneration, ImageEdit, VideoGeneration, "
    "VideoImageGeneration, Embedding, Rerank, MultimodalEmbedding, MultimodalRerank, TTS, ASR"
)
ID_RANGE = "an id from 1 to 9223372036854775807 (2**63-1)"


def _query(**kwargs) -> TrendQuery:
    args = {"start": "2026-11-01", "end": "2026-11-08", **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TrendQuery(args.pop("start"), args.pop("end"), **args)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"start": "2026-11-02", "end": "2026-11-01"},
            "start (2026-11-02T00:00:00+08:00) must be before end (2026-11-01T00:00:00+08:00); "
            "ranges are half-open [start, end).",
        ),
        (
            {"start": "2014-12-31"},
            "start 2014-12-31T00:00:00+08:00 is before 2015-01-01T08:00:00+08:00, earlier than "
            "any data the service holds; check the date (and that Unix times are in seconds).",
        ),
        (  # was "start 2015-01-01T00:00:00+08:00 is before 2015-01-01": the bound is UTC's day
            {"start": "2015-01-01", "end": "2015-01-02"},
            "start 2015-01-01T00:00:00+08:00 is before 2015-01-01T08:00:00+08:00, earlier than "
            "any data the service holds; check the date (and that Unix times are in seconds).",
        ),
        (
            {"start": "2014-12-31", "tz": "UTC"},
            "start 2014-12-31T00:00:00+00:00 is before 2015-01-01T00:00:00+00:00, earlier than "
            "any data the service holds; check the date (and that Unix times are in seconds).",
        ),
        ({"start": True}, "start must be a date or time, not True."),
        ({"end": None}, "end must be a date or time, not None."),
        ({"start": math.inf}, "start must be a finite number of Unix seconds, not inf."),
        (
            {"start": 1793491200123},
            "start=1793491200123 looks like milliseconds; pass Unix seconds (1793491200).",
        ),
        (
            {"end": "1793491200999"},
            "end=1793491200999 looks like milliseconds; pass Unix seconds (1793491200).",
        ),
        (
            {"start": "yesterday-ish"},
            "start='yesterday-ish' is not a date or time pandas can read; use ISO 8601 such as "
            "'2026-11-01' or '2026-11-01T08:00+08:00'.",
        ),
        (  # only a leading minus is allowed before the digits of Unix seconds
            {"start": "X1793491200"},
            "start='X1793491200' is not a date or time pandas can read; use ISO 8601 such as "
            "'2026-11-01' or '2026-11-01T08:00+08:00'.",
        ),
        (
            {"start": [2026]},
            "start must be a datetime, pd.Timestamp, ISO string or Unix seconds, not list.",
        ),
        (
            {"start": 10**11},
            "start=100000000000 looks like milliseconds; pass Unix seconds (100000000).",
        ),
        (  # floored, as pandas reads milliseconds: the second that holds the instant
            {"start": "-1793491200123"},
            "start=-1793491200123 looks like milliseconds; pass Unix seconds (-1793491201).",
        ),
        ({"start": pd.NaT}, "start is missing (NaT)."),
        ({"end": np.datetime64("NaT")}, "end is missing (NaT)."),
        (
            {"start": "2023-01-01", "end": "2026-01-01"},
            "the range spans 1096 days, more than the 732 allowed for hourly data; split it into "
            "shorter ranges or use granularity='daily'.",
        ),
        (
            {"start": "2015-01-02", "end": "2026-01-01", "granularity": "daily"},
            "the range spans 4017 days, more than the 3660 allowed for daily data; split it into "
            "shorter ranges.",
        ),
        (
            {"granularity": "daily", "tz": "America/St_Johns"},
            "daily data in America/St_Johns (UTC-02:30 on 2026-11-01) cannot be built: the "
            "service's hourly buckets start on the whole hour, and this zone's midnight does "
            "not. Use granularity='hourly', or tz='Asia/Shanghai' for the service's own days.",
        ),
        ({"tz": "Nowhere/Atall"}, "unknown time zone 'Nowhere/Atall'."),
        ({"tz": ""}, "tz must be an IANA time zone name such as 'Asia/Shanghai', not ''."),
        ({"tz": 8}, "tz must be an IANA time zone name such as 'Asia/Shanghai', not 8."),
        ({"granularity": "weekly"}, "granularity must be 'hourly' or 'daily', not 'weekly'."),
        ({"model_types": [3]}, "model_types must be names such as 'Chat', got 3."),
        (
            {"model_types": ["Chat,TTS"]},
            "model_types must be names such as 'Chat', got 'Chat,TTS'.",
        ),
        ({"model_types": object}, "model_types must be one value or a list, not type."),
        (
            {"model_types": ["chatt"]},
            f"unknown model type 'chatt'. Did you mean 'Chat'? The service knows: "
            f"{MODEL_TYPE_LIST}.",
        ),
        (
            {"model_types": ["zzzzzz"]},
            f"unknown model type 'zzzzzz'. The service knows: {MODEL_TYPE_LIST}.",
        ),
        (
            {"model_types": ["Q" * 70]},
            f"unknown model type '{'Q' * 60}'. The service knows: {MODEL_TYPE_LIST}.",
        ),
        ({"model_types": []}, "model_types is empty; pass None for all model types, or a list."),
        ({"client_ids": object}, "client_ids must be one value or a list, not type."),
        ({"by": object}, "by must be one value or a list, not type."),
        (
            {"member_user_ids": object, "client_ids": 3},
            "member_user_ids must be one value or a list, not type.",
        ),
        (  # a repr of 40 characters is shown whole, one of 41 is cut to 37 and "..."
            {"client_ids": ["a" * 38]},
            f"client_ids must be an integer id such as 10002, not '{'a' * 38}'.",
        ),
        (
            {"client_ids": ["a" * 39]},
            f"client_ids must be an integer id such as 10002, not '{'a' * 36}....",
        ),
        (
            {"api_key_id": "key", "client_ids": 3},
            "api_key_id must be an integer id such as 10002, not 'key'.",
        ),
        (
            {"client_ids": []},
            "client_ids is empty; pass None for the whole organisation, or at least one id.",
        ),
        ({"client_ids": ["x"]}, "client_ids must be an integer id such as 10002, not 'x'."),
        ({"client_ids": [1.5]}, "client_ids must be an integer id, not 1.5."),
        ({"client_ids": [True]}, "client_ids must be an integer id, not True."),
        ({"client_ids": [0]}, f"client_ids must be {ID_RANGE}, not 0."),
        (
            {"client_ids": ["9" * 50]},
            f"client_ids must be {ID_RANGE}, not '{'9' * 36}....",
        ),
        (
            {"api_key_id": 5, "client_ids": [1, 2]},
            "api_key_id needs exactly one department: pass client_ids=<the key's department id> "
            "as well.",
        ),
        (
            {"member_user_ids": [1]},
            "member_user_ids filters the members of one department: pass exactly one client id "
            "with it.",
        ),
        (
            {"member_user_ids": [True], "client_ids": 3},
            "member_user_ids must be a list of ids such as [1001, 1002], got True; pass [] for "
            "the department alone.",
        ),
        (
            {"member_user_ids": ["0"], "client_ids": 3},
            f"member_user_ids must be {ID_RANGE}, not '0'.",
        ),
        (
            {"by": ["model_type", "x", 3]},
            "by must name 'model_type', 'client_id' or both, not 'x', 3.",
        ),
        ({"max_results": True}, "max_results must be an integer from 1 to 1000, not True."),
        ({"settle": "soon"}, "settle must be a duration such as '2h', not 'soon'."),
        ({"settle": "-1h"}, "settle must be a non-negative duration such as '2h', not '-1h'."),
        ({"settle": pd.NaT}, "settle must be a non-negative duration such as '2h', not NaT."),
    ],
)
def test_each_bad_input_gets_its_whole_message(kwargs, message):
    with pytest.raises(QueryError) as err:
        _query(**kwargs)
    assert str(err.value) == message


def test_a_misspelt_time_zone_is_answered_with_the_three_closest_names():
    with pytest.raises(QueryError) as err:
        _query(tz="Asia/Shangai")
    # which names follow the closest depends on the tz database's version (six come close)
    head, names = str(err.value).split(" Did you mean ")
    assert head == "unknown time zone 'Asia/Shangai'."
    assert names.startswith("'Asia/Shanghai', 'Asia/") and names.endswith("'?")
    assert names.count(", ") == 2 and names.count("'") == 6


@pytest.mark.parametrize(
    ("departments", "message"),
    [
        (
            None,
            "by='client_id' needs department ids: pass client_ids=[...], or fetch through a "
            "client, which enumerates them with departments().",
        ),
        ([], "by='client_id' found no departments to split by."),
        (["x"], "departments must be an integer id such as 10002, not 'x'."),
    ],
)
def test_splitting_by_department_without_departments_says_what_to_pass(departments, message):
    with pytest.raises(QueryError) as err:
        _query(by="client_id").plan(departments)
    assert str(err.value) == message


def test_the_warning_for_a_widened_range_names_both_ranges_and_the_caller():
    with pytest.warns(RangeWidenedWarning) as record:
        TrendQuery("2026-05-03 13:30", "2026-05-03 18:00")
    [warning] = record
    assert str(warning.message) == (
        "[2026-05-03T13:30:00+08:00, 2026-05-03T18:00:00+08:00) is off the hourly bucket grid: "
        "fetching the whole buckets [2026-05-03T13:00:00+08:00, 2026-05-03T18:00:00+08:00) "
        "instead. Adjacent ranges must meet on the grid, or the bucket they share is counted "
        "in both."
    )
    # points at the caller, not at query.py (which line exactly: test_query.py, which mutmut's
    # trampolines cannot run)
    assert Path(warning.filename).name != "query.py"


def test_the_bounds_themselves_are_accepted():
    """The earliest start, a whole 732 days of hourly data, one point per page and a zero
    settle are all allowed; one step further is refused."""
    assert _query(start="2015-01-01", end="2015-01-02", tz="UTC").start == EARLIEST
    longest = _query(start="2024-01-01", end=pd.Timestamp("2024-01-01") + MAX_SPAN["hourly"])
    assert longest.end - longest.start == pd.Timedelta(days=732)
    with pytest.raises(QueryError, match="spans 733 days"):
        _query(start="2024-01-01", end="2026-01-03")
    assert _query(max_results=1).max_results == 1
    assert _query(settle=0).settle == pd.Timedelta(0)


def test_ids_may_come_as_one_comma_separated_string():
    q = _query(client_ids="3, 1,3,")
    assert q.client_ids == (3, 1)
    assert q.to_params()["clientIds"] == "3,1"


def test_members_are_sent_comma_separated():
    q = _query(client_ids=7, member_user_ids=[1002, "1001", 1002])
    assert q.to_params()["memberUserIds"] == "1002,1001"


def test_members_are_integers_or_digit_strings_only():
    """Something else that prints as digits (a Decimal) is refused, not read as an id."""
    with pytest.raises(QueryError) as err:
        _query(client_ids=7, member_user_ids=[Decimal("5")])
    assert str(err.value) == (
        "member_user_ids must be a list of ids such as [1001, 1002], got Decimal('5'); pass [] "
        "for the department alone."
    )


def test_an_unsplit_plan_is_one_series_labelled_all():
    plan = _query().plan()
    assert [w.series for w in plan] == [SeriesKey("all", None)]
    assert plan[0].series.label == "all"
    split = _query(by="client_id", client_ids=[5]).plan()
    assert [w.series for w in split] == [SeriesKey("all", 5)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # the repeated hour after a DST end reads as its first (summer time) occurrence
        ("2026-11-01 01:30", "2026-11-01T01:30:00-04:00"),
        # an hour skipped by a DST start moves forward to the first that exists
        ("2026-03-08 02:30", "2026-03-08T03:00:00-04:00"),
    ],
)
def test_naive_times_that_dst_repeats_or_skips_are_read_without_error(value, expected):
    assert to_timestamp(value, "America/New_York").isoformat() == expected


def test_to_timestamp_names_the_value_time_when_not_told_its_name():
    with pytest.raises(QueryError) as err:
        to_timestamp(None, "UTC")
    assert str(err.value) == "time must be a date or time, not None."


def test_the_repr_shows_every_field_and_marks_those_a_refused_query_never_set():
    """A traceback that shows locals shows a query refused half-way: its repr must not raise,
    and must say which fields were never set."""
    q = _query(start="2026-11-01", end="2026-11-02")
    fields = (
        "start=Timestamp('2026-11-01 00:00:00+0800', tz='Asia/Shanghai'), "
        "end=Timestamp('2026-11-02 00:00:00+0800', tz='Asia/Shanghai'), "
        "requested_start=Timestamp('2026-11-01 00:00:00+0800', tz='Asia/Shanghai'), "
        "requested_end=Timestamp('2026-11-02 00:00:00+0800', tz='Asia/Shanghai'), "
        "granularity='hourly', model_types=None, client_ids=None, api_key_id={key}, "
        "member_user_ids=None, by=(), tz='Asia/Shanghai', max_results=100, "
        "settle=Timedelta('0 days 02:00:00'), rebucket={rebucket}"
    )
    assert repr(q) == "TrendQuery(" + fields.format(key="None", rebucket="False") + ")"
    with pytest.raises(QueryError) as err:  # refused after its fields, before rebucket
        _query(start="2026-11-01", end="2026-11-02", api_key_id=5)
    assert repr(_refused_query(err.value)) == (
        "TrendQuery(" + fields.format(key="5", rebucket="'<unset>'") + ")"
    )
    with pytest.raises(QueryError) as err:  # refused before any field was set
        _query(start=None)
    names = [f.name for f in dataclasses.fields(TrendQuery)]
    assert repr(_refused_query(err.value)) == (
        "TrendQuery(" + ", ".join(f"{n}='<unset>'" for n in names) + ")"
    )


def _refused_query(err: BaseException) -> TrendQuery:
    """The half-built query in the frames of the error that refused it."""
    tb = err.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("self")
        if isinstance(candidate, TrendQuery):
            return candidate
        tb = tb.tb_next
    raise AssertionError("no TrendQuery in the traceback")
