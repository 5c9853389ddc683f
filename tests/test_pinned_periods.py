"""Behaviours of compare_periods, align_periods and period_pairs (analysis/periods.py) that
mutation testing found unpinned (issue 16): the whole text of each error, rolling periods on
daily buckets, weekday alignment in overlays, groups a window does not hold, and the windows'
labels.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from costtrend_nb.analysis import align_periods, compare_periods, explain_change, period_pairs
from costtrend_nb.analysis._frame import shift_local
from costtrend_nb.analysis.periods import data_end, require_coverage
from costtrend_nb.errors import QueryError

from .frames import make_frame

SH = "Asia/Shanghai"
ONES = {("Chat", None, "total_amount"): 1.0}
ONE_OF = "period must be one of day, week, month, quarter, year"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=SH)


def _days(start: str = "2026-02-01", end: str = "2026-04-01", series=ONES) -> pd.DataFrame:
    return make_frame(start, end, series)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period": "0D"}, f"{ONE_OF}, a pd.DateOffset or a duration such as '14D', not '0D'."),
        ({"period": "-2D"}, f"{ONE_OF}, a pd.DateOffset or a duration such as '14D', not '-2D'."),
        ({"period": "weekly"}, f"{ONE_OF}, not 'weekly'."),
        ({"period": "Monthly"}, f"{ONE_OF}, not 'Monthly'."),
        ({"period": "daily"}, f"{ONE_OF}, not 'daily'."),
        ({"history": True}, "history must be a whole number of periods >= 1, not True."),
        ({"history": 2.0}, "history must be a whole number of periods >= 1, not 2.0."),
        (
            {"period": "36h"},
            "with daily buckets the period must be whole days; a window would start or end at "
            "2026-03-18T12:00:00+08:00.",
        ),
    ],
)
def test_each_bad_period_or_history_gets_its_whole_message(kwargs, message):
    args = {"period": "month", **kwargs}
    with pytest.raises(QueryError) as err:
        compare_periods(_days(), "total_amount", args.pop("period"), as_of="2026-03-20", **args)
    assert str(err.value) == message


def test_a_hole_refused_by_explain_change_says_what_to_do():
    series = {("TTS", 1, "total_amount"): 1.0, ("TTS", 1, "characters"): 5.0}
    df = make_frame("2026-01-01", "2026-03-01", series)
    holed = df[df["timestamp"] != ts("2026-02-10")]
    with pytest.raises(QueryError) as err:
        explain_change(holed, "month", as_of="2026-03-01")
    assert str(err.value) == (
        "the frame (2026-01-01T00:00:00+08:00 to 2026-03-01T00:00:00+08:00) does not cover "
        "2026-02-01T00:00:00+08:00 to 2026-03-01T00:00:00+08:00 (coverage 96.4 % of its "
        "buckets, holes or whole buckets outside the frame): the result cannot be computed. "
        "Fetch from 2026-02-01 (whole, without holes) or choose a shorter period."
    )


def test_require_coverage_defaults_to_the_frames_own_now():
    """Without ``now``, the last incomplete bucket does not count: a window reaching into it
    is refused, one ending before it is whole."""
    df = make_frame("2026-03-01", "2026-03-11", ONES, complete_until="2026-03-10")
    whole = period_pairs(df, "3D", as_of="2026-03-10")[0].current
    assert require_coverage(df, whole) == [1.0]
    running = period_pairs(df, "3D", as_of="2026-03-11")[0].current
    with pytest.raises(QueryError, match="the result cannot be computed"):
        require_coverage(df, running)


def test_rolling_whole_days_on_daily_buckets():
    """A 7-day rolling window on daily buckets (in a zone east of UTC, whose midnights are not
    UTC's) is whole days: no error, seven buckets on each side."""
    r = compare_periods(_days(), "total_amount", "7D", as_of="2026-03-20").iloc[0]
    assert (r["current_start"], r["current_end"]) == (ts("2026-03-13"), ts("2026-03-20"))
    assert (r["previous_start"], r["previous_end"]) == (ts("2026-03-06"), ts("2026-03-13"))
    assert (r["current"], r["previous"]) == (7.0, 7.0)
    assert r["period"] == "2026-03-13T00:00:00+08:00 to 2026-03-20T00:00:00+08:00"


def test_weekday_overlay_shows_the_whole_shifted_previous_month():
    """April to the 20th against 28 days earlier: the previous side runs 4 March to 2 April
    (its whole shifted period), with no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        overlay = align_periods(
            _days("2026-03-01", "2026-05-01"),
            "total_amount",
            "month",
            as_of="2026-04-20",
            align="weekday",
        )
    previous = overlay["previous_timestamp"].dropna()
    assert (previous.min(), previous.max(), len(previous)) == (
        ts("2026-03-04"),
        ts("2026-04-02"),
        30,
    )
    assert overlay["current"].notna().sum() == 19 and overlay["previous_coverage"].iloc[0] == 1.0


def test_period_pairs_defaults_to_calendar_weeks_and_labels_both_windows():
    pair = period_pairs(_days(), as_of="2026-03-20")[0]  # Friday 20 March
    assert (pair.current.label, pair.previous.label) == ("2026-W12", "2026-W11")
    assert (pair.current.start, pair.current.end) == (ts("2026-03-16"), ts("2026-03-20"))
    assert (pair.previous.start, pair.previous.end) == (ts("2026-03-09"), ts("2026-03-13"))
    months = period_pairs(_days(), "month", as_of="2026-04-01", history=2)
    assert [(p.current.label, p.previous.label) for p in months] == [
        ("2026-02", "2026-01"),
        ("2026-03", "2026-02"),
    ]


def test_groups_hold_only_what_the_frame_holds_and_keep_missing_departments():
    """A frame filtered to Chat keeps TTS among its categories: no TTS row of zeros. A frame
    fetched without departments compares by department as one row whose id is missing."""
    two = {("Chat", None, "total_amount"): 1.0, ("TTS", None, "total_amount"): 2.0}
    df = _days(series=two)
    chat = df[df["model_type"] == "Chat"]
    out = compare_periods(chat, "total_amount", "month", as_of="2026-04-01", by="model_type")
    assert out["model_type"].tolist() == ["Chat"] and out.columns[0] == "model_type"
    assert list(out["model_type"].cat.categories) == ["Chat", "TTS"]  # the frame's, in order
    assert len(out.columns) == 13
    by_department = compare_periods(df, "total_amount", "month", as_of="2026-04-01", by="client_id")
    assert len(by_department) == 1 and by_department["client_id"].isna().all()
    assert (by_department["current"].iloc[0], by_department["previous"].iloc[0]) == (93.0, 84.0)


FRAME_15 = "the frame (2026-03-01T00:00:00+08:00 to 2026-03-16T00:00:00+08:00) does not cover "
WEEK_10 = "2026-03-09T00:00:00+08:00 to 2026-03-15T00:00:00+08:00 (coverage 99.3 % of its buckets"


@pytest.mark.parametrize(
    ("analysis", "outcome"),
    [
        (compare_periods, "its total is NaN, never a zero. Fetch the whole range to compare."),
        (
            align_periods,
            "each missing bucket is NaN, never a zero. Fetch the whole range to compare.",
        ),
    ],
)
def test_an_hour_missing_from_the_current_week_is_named_in_the_warning(analysis, outcome):
    """Hourly buckets: the frame's end is its last hour's end (not a day later)."""
    hours = make_frame("2026-03-01", "2026-03-16", ONES, freq="h")
    holed = hours[hours["timestamp"] != ts("2026-03-10 05:00")]
    with pytest.warns(UserWarning) as caught:
        analysis(holed, "total_amount", "week", as_of="2026-03-15")
    assert [str(w.message) for w in caught] == [
        f"{FRAME_15}{WEEK_10}, holes or whole buckets outside the frame): {outcome}"
    ]


def test_rolling_history_steps_back_one_period_at_a_time_oldest_first():
    days = _days(series={("Chat", None, "total_amount"): lambda i: i.day.to_numpy(dtype=float)})
    out = compare_periods(days, "total_amount", "7D", as_of="2026-03-22", history=3)
    assert out["current_start"].tolist() == [ts("2026-03-01"), ts("2026-03-08"), ts("2026-03-15")]
    assert out["current_end"].tolist() == [ts("2026-03-08"), ts("2026-03-15"), ts("2026-03-22")]
    assert out["previous_start"].tolist() == [ts("2026-02-22"), ts("2026-03-01"), ts("2026-03-08")]
    assert out["current"].tolist() == [28.0, 77.0, 126.0]  # 1+...+7, 8+...+14, 15+...+21
    assert out["previous"].tolist() == [22 + 23 + 24 + 25 + 26 + 27 + 28, 28.0, 77.0]


def test_a_rolling_pair_is_whole_labelled_and_overlays_a_week_on_a_week():
    days = _days(series={("Chat", None, "total_amount"): lambda i: i.day.to_numpy(dtype=float)})
    (pair,) = period_pairs(days, "7D", as_of="2026-03-20")
    assert pair.previous.label == "2026-03-06T00:00:00+08:00 to 2026-03-13T00:00:00+08:00"
    assert (pair.running, pair.full_current_end, pair.full_previous_end) == (
        False,
        ts("2026-03-20"),
        ts("2026-03-13"),
    )
    assert compare_periods(days, "total_amount", "7D", as_of="2026-03-20")["running"].tolist() == [
        False
    ]
    overlay = align_periods(days, "total_amount", "7D", as_of="2026-03-20")
    assert overlay["current"].tolist() == [13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0]
    assert overlay["previous"].tolist() == [6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
    assert overlay["offset"].iloc[-1] == pd.Timedelta(days=6)


def test_data_end_is_the_end_of_the_last_bucket():
    """An hour after the last hourly bucket; the next local midnight after the last day (25
    hours after the start of New York's fall-back day); NaT for an empty frame."""
    assert data_end(make_frame("2026-03-01", "2026-03-03", ONES, freq="h")) == ts("2026-03-03")
    midday = make_frame("2026-03-01", "2026-03-02 12:00", ONES, freq="h")
    assert data_end(midday) == ts("2026-03-02 12:00")
    days = make_frame("2026-10-30", "2026-11-02", ONES, tz="America/New_York")
    assert data_end(days) == pd.Timestamp("2026-11-02", tz="America/New_York")
    assert data_end(days.iloc[:0]) is pd.NaT


def test_as_of_in_a_repeated_hour_before_midnight_is_still_the_day_before():
    """Juba went from +03:00 back to +02:00 at midnight on 1 February 2021, so 23:00-24:00 on
    the 31st came twice and that day lasted 25 hours. At 21:30 UTC (the second 23:30) the 31st
    is still running: the latest whole day is the 30th."""
    df = make_frame("2021-01-20", "2021-02-05", ONES, tz="Africa/Juba")
    as_of = pd.Timestamp("2021-01-31 21:30", tz="UTC")
    r = compare_periods(df, "total_amount", "day", as_of=as_of).iloc[0]
    assert r["period"] == "2021-01-30" and r["current"] == 1.0
    assert r["current_end"] == pd.Timestamp("2021-01-31", tz="Africa/Juba")


def test_as_of_between_hours_before_the_frame_starts_moves_back_to_the_hour():
    hours = make_frame("2026-03-01", "2026-03-05", ONES, freq="h")
    with pytest.warns(UserWarning, match="coverage 0.0 %"):
        r = compare_periods(hours, "total_amount", "day", as_of="2026-02-28 22:30").iloc[0]
    assert r["current_end"] == ts("2026-02-28 22:00") and r["previous_end"] == ts(
        "2026-02-27 22:00"
    )


def test_by_both_groups_gives_a_row_per_cell_with_the_frames_dtypes():
    """by accepts a list (in either order): one row per (model type, department), the
    department an Int64 id, the model type categorical, and no other columns."""
    cells = {("Chat", 1, "total_amount"): 1.0, ("TTS", 2, "total_amount"): 2.0}
    for by in (["model_type", "client_id"], ("client_id", "model_type")):
        out = compare_periods(
            _days(series=cells), "total_amount", "month", as_of="2026-04-01", by=by
        )
        assert list(out.columns[:3]) == ["model_type", "client_id", "period"]
        assert len(out.columns) == 14
        assert out["client_id"].dtype == "Int64" and out["client_id"].tolist() == [1, 2]
        assert isinstance(out["model_type"].dtype, pd.CategoricalDtype)
        assert out["current"].tolist() == [31.0, 62.0]


def test_explain_change_checks_coverage_at_its_own_as_of():
    """Days from the 10th are marked still settling; as_of the 14th counts them (all but the
    frame's last day), so the 11th to the 13th are whole and the split is computed."""
    series = {("TTS", 1, "total_amount"): 1.0, ("TTS", 1, "characters"): 5.0}
    df = make_frame("2026-03-01", "2026-03-15", series, complete_until="2026-03-10")
    r = explain_change(df, "3D", as_of="2026-03-14").iloc[0]
    assert (r["current_start"], r["current_end"]) == (ts("2026-03-11"), ts("2026-03-14"))
    assert (r["current_cost"], r["previous_cost"], r["current_coverage"]) == (3.0, 3.0, 1.0)


def test_quarters_and_years_are_calendar_periods_with_their_names():
    df = make_frame("2024-01-01", "2026-12-01", ONES)
    quarters = compare_periods(df, "total_amount", "quarter", as_of="2026-11-15", history=4)
    assert quarters["period"].tolist() == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert quarters["current_start"].tolist() == [
        ts("2026-01-01"),
        ts("2026-04-01"),
        ts("2026-07-01"),
        ts("2026-10-01"),
    ]
    assert quarters["current"].tolist() == [90.0, 91.0, 92.0, 45.0]  # Q4 to the 14th of November
    assert quarters["previous"].tolist() == [92.0, 90.0, 91.0, 45.0]  # to the 14th of August
    assert quarters["running"].tolist() == [False, False, False, True]
    year = compare_periods(df, "total_amount", "year", as_of="2026-01-01").iloc[0]
    assert (year["period"], year["current"], year["previous"]) == ("2025", 365.0, 366.0)


def test_shift_local_moves_in_wall_clock_time():
    """A month back from 31 March is 28 February; a day on from noon before New York springs
    forward is noon again (23 hours later); any sign but a positive one moves back."""
    end_of_march = ts("2026-03-31 12:00")
    month = pd.DateOffset(months=1)
    assert shift_local(end_of_march, month, SH, -1) == ts("2026-02-28 12:00")
    assert shift_local(end_of_march, month, SH) == ts("2026-04-30 12:00")
    ny = "America/New_York"
    noon = pd.Timestamp("2026-03-07 12:00", tz=ny)
    assert shift_local(noon, pd.Timedelta(days=1), ny) == pd.Timestamp("2026-03-08 12:00", tz=ny)
    utc = pd.Timestamp("2026-03-08 17:00", tz="UTC")  # 13:00 in New York, after the change
    assert shift_local(utc, pd.Timedelta(days=1), ny, sign=0) == pd.Timestamp(
        "2026-03-07 13:00", tz=ny
    )


def test_a_distinct_count_is_refused_with_what_to_do_instead():
    series = {("Chat", None, "total_amount"): 1.0, ("Chat", None, "model_count"): 2.0}
    with pytest.raises(QueryError) as err:
        compare_periods(_days(series=series), "model_count", "month")
    assert str(err.value) == (
        "model_count is a distinct count per bucket: it cannot be summed across buckets or "
        "groups. Compare it bucket by bucket, or pick an additive metric such as total_amount."
    )


@pytest.mark.parametrize("freq", ["h", "D"])
@pytest.mark.parametrize(
    ("tz", "as_of", "start", "previous_start", "hours"),
    [
        (
            "America/Havana",
            "2026-11-02",
            "2026-11-01T00:00:00-04:00",
            "2026-10-31T00:00:00-04:00",
            25,
        ),
        (
            "America/Santiago",
            "2026-09-07",
            "2026-09-06T01:00:00-03:00",
            "2026-09-05T00:00:00-04:00",
            23,
        ),
    ],
)
def test_days_whose_midnight_is_repeated_or_skipped(freq, tz, as_of, start, previous_start, hours):
    """Regression: on hourly frames in Havana (midnight comes twice on 1 November 2026) or
    Santiago (it is skipped on 6 September 2026) every analysis raised pandas' "Cannot infer
    dst time"; daily frames in Santiago counted the day starting at 01:00 as ending at 01:00
    the next day (so not in its own window) and started the day before at 01:00."""
    df = make_frame("2026-08-25", "2026-11-10", ONES, freq=freq, tz=tz)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = compare_periods(df, "total_amount", "day", as_of=as_of).iloc[0]
    assert (r["current_start"].isoformat(), r["previous_start"].isoformat()) == (
        start,
        previous_start,
    )
    assert (r["current"], r["previous"]) == ((hours, 24.0) if freq == "h" else (1.0, 1.0))


def test_an_unreadable_as_of_is_named_in_the_error():
    with pytest.raises(QueryError) as err:
        compare_periods(_days(), "total_amount", "month", as_of="soon")
    assert str(err.value) == (
        "as_of='soon' is not a date or time pandas can read; use ISO 8601 such as '2026-11-01' "
        "or '2026-11-01T08:00+08:00'."
    )


def _naive_stamps(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(timestamp=df["timestamp"].dt.tz_localize(None))


@pytest.mark.parametrize(
    ("frame", "metric", "message"),
    [
        (
            lambda d: [1, 2],
            "total_amount",
            "expected the tidy DataFrame fetch() returns, not list.",
        ),
        (
            lambda d: d.drop(columns=["complete", "value"]),
            "total_amount",
            "not a tidy frame: the column(s) value, complete are missing. Pass the long frame "
            "fetch() returns (not tidy.wide(...)).",
        ),
        (
            _naive_stamps,
            "total_amount",
            "the timestamp column must be timezone-aware, as fetch() returns it.",
        ),
        (
            lambda d: d,
            "input_tokens",
            "metric 'input_tokens' is not in the frame; it holds: total_amount.",
        ),
    ],
)
def test_a_frame_that_is_not_tidy_gets_its_whole_message(frame, metric, message):
    with pytest.raises(QueryError) as err:
        compare_periods(frame(_days()), metric, "month")
    assert str(err.value) == message


def test_a_quarter_running_in_its_first_month_starts_on_its_first_day():
    r = compare_periods(
        _days("2026-01-01", "2026-05-01"), "total_amount", "quarter", as_of="2026-04-15"
    )
    assert (r["period"].iloc[0], r["current_start"].iloc[0]) == ("2026Q2", ts("2026-04-01"))
    assert r["previous_start"].iloc[0] == ts("2026-01-01")
