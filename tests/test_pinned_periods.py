"""Behaviours of compare_periods, align_periods and period_pairs (analysis/periods.py) that
mutation testing found unpinned (issue 16): the whole text of each error, rolling periods on
daily buckets, weekday alignment in overlays, groups a window does not hold, and the windows'
labels.
"""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from costtrend_nb.analysis import align_periods, compare_periods, explain_change, period_pairs
from costtrend_nb.analysis._frame import shift_local
from costtrend_nb.analysis.periods import data_end, require_coverage
from costtrend_nb.errors import QueryError
from costtrend_nb.plot import plot_period_overlay

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


def _overlay(df: pd.DataFrame, metric: str, period: str, as_of: str) -> object:
    return plot_period_overlay(df, metric=metric, period=period, as_of=as_of)


@pytest.mark.parametrize(
    ("analysis", "warnings_given"),
    [(compare_periods, 1), (align_periods, 1), (_overlay, 2)],
    ids=["compare_periods", "align_periods", "plot_period_overlay"],
)
def test_a_hole_warning_names_the_callers_line(analysis, warnings_given):
    """The warning points at the line that called the analysis (this file), not at the
    package, whatever the path: the overlay plot warns through align_periods and
    compare_periods (they named the plot's file)."""
    hours = make_frame("2026-03-01", "2026-03-16", ONES, freq="h")
    holed = hours[hours["timestamp"] != ts("2026-03-10 05:00")]
    with pytest.warns(UserWarning) as caught:
        analysis(holed, "total_amount", "week", as_of="2026-03-15")
    plt.close("all")
    assert [w.filename for w in caught] == [__file__] * warnings_given


# Added in the second pass (issue 16): compare_periods and align_periods themselves are now
# mutated (tools/mutation.py undecorates them in the snapshot), and these pin what their bodies
# do.


@pytest.mark.parametrize("analysis", [compare_periods, align_periods])
def test_the_defaults_are_the_cost_by_calendar_week(analysis):
    """The frame holds characters too: the default metric is total_amount, the period a week."""
    series = {**ONES, ("TTS", None, "characters"): 7.0}
    df = _days(series=series)
    expected = analysis(df, "total_amount", "week", as_of="2026-03-20")
    pd.testing.assert_frame_equal(analysis(df, as_of="2026-03-20"), expected)


@pytest.mark.parametrize("analysis", [compare_periods, align_periods])
def test_a_metric_not_in_the_frame_gets_its_whole_message(analysis):
    with pytest.raises(QueryError) as err:
        analysis(_days(), "characters", "week")
    assert str(err.value) == "metric 'characters' is not in the frame; it holds: total_amount."


@pytest.mark.parametrize("analysis", [compare_periods, align_periods])
def test_as_of_past_the_last_complete_day_counts_the_settling_days(analysis):
    """Days from the 15th are marked still settling (the 20th, the frame's last, is running).
    as_of the 18th counts the 16th and 17th: the current week holds them, whole, not NaN."""
    df = _days("2026-03-01", "2026-03-21", {("Chat", 1, "total_amount"): 1.0})
    df["complete"] = df["timestamp"] < ts("2026-03-15")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = analysis(df, "total_amount", "week", as_of="2026-03-18")
    if analysis is compare_periods:
        assert (out["current"].iloc[0], out["previous"].iloc[0]) == (2.0, 2.0)
    else:
        assert out["current"].iloc[:2].tolist() == [1.0, 1.0]
        assert out["current"].notna().sum() == 2 and out["previous"].tolist() == [1.0] * 7
    assert out["current_coverage"].iloc[0] == 1.0


def test_a_department_absent_from_one_window_compares_with_zero():
    """Department 2 starts in March and department 3 stops at the end of February: each
    gets 0.0 (not NaN) for the month it has no rows in."""
    series = {("Chat", d, "total_amount"): 1.0 for d in (1, 2, 3)}
    df = _days(series=series)
    march = df["timestamp"] >= ts("2026-03-01")
    df = df[~((df["client_id"] == 2) & ~march) & ~((df["client_id"] == 3) & march)]
    out = compare_periods(df, "total_amount", "month", as_of="2026-04-01", by="client_id")
    assert out["client_id"].tolist() == [1, 2, 3]
    assert out["current"].tolist() == [31.0, 31.0, 0.0]
    assert out["previous"].tolist() == [28.0, 0.0, 28.0]


def test_an_overlay_by_group_has_the_frames_groups_and_dtypes():
    """by="model_type" on a frame filtered to Chat: only Chat's rows, the frame's categories;
    by="client_id": cost with no department keeps its rows."""
    two = {("Chat", None, "total_amount"): 1.0, ("TTS", 1, "total_amount"): 2.0}
    df = _days(series=two)
    chat = df[df["model_type"] == "Chat"]
    out = align_periods(chat, "total_amount", "week", as_of="2026-03-18", by="model_type")
    assert out.columns[0] == "model_type" and set(out["model_type"]) == {"Chat"}
    assert list(out["model_type"].cat.categories) == ["Chat", "TTS"]
    assert len(out) == 7 and out["current"].notna().sum() == 2
    out = align_periods(df, "total_amount", "week", as_of="2026-03-18", by="client_id")
    assert out.columns[0] == "client_id" and out["client_id"].dtype == "Int64"
    assert out["client_id"].iloc[:7].tolist() == [1] * 7 and out["client_id"].iloc[7:].isna().all()
    assert out["previous"].tolist() == [2.0] * 7 + [1.0] * 7


def test_an_hourly_overlay_holds_every_hour_up_to_now():
    """Hourly buckets, as_of 12:00: the current day holds its first 12 hours, then NaN; both
    coverages are whole."""
    hours = make_frame("2026-03-01", "2026-03-05", ONES, freq="h")
    out = align_periods(hours, "total_amount", "day", as_of="2026-03-04 12:00")
    assert len(out) == 24 and out["current"].notna().sum() == 12
    assert out["current"].iloc[:12].tolist() == [1.0] * 12
    assert out["previous"].tolist() == [1.0] * 24
    assert out["current_coverage"].tolist() == [1.0] * 24
    assert out["current_coverage"].dtype == float


def test_an_overlay_with_a_hole_in_the_previous_week_names_that_week():
    hours = make_frame("2026-03-01", "2026-03-16", ONES, freq="h")
    holed = hours[hours["timestamp"] != ts("2026-03-05 05:00")]
    with pytest.warns(UserWarning) as caught:
        align_periods(holed, "total_amount", "week", as_of="2026-03-15")
    assert [str(w.message) for w in caught] == [
        f"{FRAME_15}2026-03-02T00:00:00+08:00 to 2026-03-09T00:00:00+08:00 (coverage 99.4 % of "
        "its buckets, holes or whole buckets outside the frame): each missing bucket is NaN, "
        "never a zero. Fetch the whole range to compare."
    ]


def test_a_hole_warning_on_hours_names_the_frames_end_an_hour_after_its_last_bucket():
    """An hourly frame ending at 12:00 (its last bucket 11:00) ends at 12:00, not midnight."""
    hours = make_frame("2026-03-01", "2026-03-15 12:00", ONES, freq="h")
    holed = hours[hours["timestamp"] != ts("2026-03-10 05:00")]
    with pytest.warns(UserWarning) as caught:
        compare_periods(holed, "total_amount", "week", as_of="2026-03-15 12:00")
    assert [str(w.message) for w in caught] == [
        "the frame (2026-03-01T00:00:00+08:00 to 2026-03-15T12:00:00+08:00) does not cover "
        "2026-03-09T00:00:00+08:00 to 2026-03-15T12:00:00+08:00 (coverage 99.4 % of its "
        "buckets, holes or whole buckets outside the frame): its total is NaN, never a zero. "
        "Fetch the whole range to compare."
    ]


def _midnights_only() -> pd.DataFrame:
    """Hourly cost, and characters held only in each day's first hour (the others filtered
    out): the frame's buckets are still hours."""
    series = {("Chat", 1, "total_amount"): 1.0, ("TTS", 2, "characters"): 10.0}
    df = make_frame("2026-03-01", "2026-03-05", series, freq="h")
    return df[(df["metric"] == "total_amount") | (df["timestamp"].dt.hour == 0)]


@pytest.mark.parametrize(
    ("analysis", "coverages"),
    [(compare_periods, (1 / 12, 1 / 12)), (align_periods, (1 / 12, 1 / 24))],
)
def test_a_metric_held_only_at_midnight_on_hourly_buckets_is_measured_in_hours(analysis, coverages):
    """The windows' buckets are the frame's hours, not the days the metric's own rows suggest:
    one hour held of the current 12 (and of the previous 12, or 24 for the overlay)."""
    with pytest.warns(UserWarning, match="coverage"):
        out = analysis(_midnights_only(), "characters", "day", as_of="2026-03-04 12:00")
    assert (out["current_coverage"].iloc[0], out["previous_coverage"].iloc[0]) == pytest.approx(
        coverages
    )
    if analysis is align_periods:  # the hour held, ended by 12:00, is shown
        assert out["current"].iloc[0] == 10.0 and out["current"].notna().sum() == 1


def test_rows_of_several_periods_and_groups_are_numbered_from_zero():
    two = {("Chat", 1, "total_amount"): 1.0, ("TTS", 2, "total_amount"): 2.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = compare_periods(
            _days(series=two), "total_amount", "week", as_of="2026-03-30", by="client_id", history=2
        )
    assert out.index.tolist() == [0, 1, 2, 3]
    assert out["period"].tolist() == ["2026-W12", "2026-W12", "2026-W13", "2026-W13"]
    assert out["current"].tolist() == [7.0, 14.0, 7.0, 14.0]


def test_an_overlay_leaves_out_the_hour_that_straddles_the_end_of_the_previous_day():
    """Asia/Kolkata, hourly buckets at half past: the previous day's last bucket (23:30 to
    00:30) is not wholly inside that day, so it is NaN, as compare_periods leaves it out."""
    kolkata = "Asia/Kolkata"
    hours = make_frame("2026-03-01 00:30", "2026-03-05 00:30", ONES, freq="h", tz=kolkata)
    out = align_periods(hours, "total_amount", "day", as_of="2026-03-04 12:30")
    assert len(out) == 24 and out["current"].notna().sum() == 12
    assert out["previous"].iloc[:23].tolist() == [1.0] * 23 and pd.isna(out["previous"].iloc[23])
    assert out["previous_timestamp"].iloc[23] == pd.Timestamp("2026-03-03 23:30", tz=kolkata)


def test_a_frame_with_nothing_complete_yet_ends_before_its_first_bucket():
    """No bucket is complete: "now" is the frame's first bucket start, so the latest whole day
    is the day before the frame."""
    df = make_frame("2026-03-01", "2026-03-05", ONES, complete_until="2026-03-01")
    pair = period_pairs(df, "day")[0]
    assert (pair.current.start, pair.current.end) == (ts("2026-02-28"), ts("2026-03-01"))


def test_an_empty_frame_gets_its_whole_message():
    with pytest.raises(QueryError) as err:
        period_pairs(_days().iloc[:0], "day")
    assert str(err.value) == "the frame is empty: there is nothing to analyse."


def test_the_last_bucket_marked_running_never_counts_whatever_as_of_says():
    """The 20th, the frame's last day, was still running when fetched: as of the 21st the week
    holds four whole days of five (coverage 0.8, NaN), not five."""
    df = make_frame("2026-03-01", "2026-03-21", ONES, complete_until="2026-03-20")
    with pytest.warns(UserWarning, match="coverage 80.0 %"):
        r = compare_periods(df, "total_amount", "week", as_of="2026-03-21").iloc[0]
    assert r["current_coverage"] == 0.8 and pd.isna(r["current"])


def test_a_hole_in_the_first_bucket_of_a_window_is_seen():
    """Hourly buckets: the week's first hour missing (on the hour), and in Asia/Kolkata, with
    buckets at half past, the previous day's first whole bucket (00:30) missing."""
    hours = make_frame("2026-03-01", "2026-03-16", ONES, freq="h")
    holed = hours[hours["timestamp"] != ts("2026-03-09 00:00")]
    with pytest.warns(UserWarning, match="coverage 99.3 %"):
        compare_periods(holed, "total_amount", "week", as_of="2026-03-15")
    kolkata = "Asia/Kolkata"
    hours = make_frame("2026-03-01 00:30", "2026-03-05 00:30", ONES, freq="h", tz=kolkata)
    holed = hours[hours["timestamp"] != pd.Timestamp("2026-03-03 00:30", tz=kolkata)]
    with pytest.warns(UserWarning, match="coverage 95.7 %"):
        out = align_periods(holed, "total_amount", "day", as_of="2026-03-04 12:30")
    assert out["current_coverage"].iloc[0] == 1.0
    assert out["previous_coverage"].iloc[0] == pytest.approx(22 / 23)
    new_york = "America/New_York"  # west of UTC: its midnights are not UTC days' starts
    days = make_frame("2026-02-01", "2026-02-20", ONES, tz=new_york)
    holed = days[days["timestamp"] != pd.Timestamp("2026-02-09", tz=new_york)]
    with pytest.warns(UserWarning, match="coverage 85.7 %"):
        compare_periods(holed, "total_amount", "week", as_of="2026-02-16")


@pytest.mark.parametrize(
    ("start", "end", "freq", "keep_hour", "now"),
    [
        ("2026-03-04", "2026-03-05", "D", None, "2026-03-05"),  # one day: a day long
        ("2026-03-04 05:00", "2026-03-04 06:00", "h", None, "2026-03-04 06:00"),  # one hour
        ("2026-03-01", "2026-03-05", "h", 12, "2026-03-04 13:00"),  # hours a day apart, at noon
    ],
)
def test_the_bucket_length_is_read_from_the_frames_stamps(start, end, freq, keep_hour, now):
    """A single bucket at midnight is a day; one at 05:00 is an hour; hourly buckets kept only
    at noon, a day apart, are still hours: "now" is the end of the last one."""
    df = make_frame(start, end, ONES, freq=freq)
    if keep_hour is not None:
        df = df[df["timestamp"].dt.hour == keep_hour]
    assert period_pairs(df, "day")[0].current.end == ts(now)
    if freq == "D":  # a day long, so a period must be whole days
        with pytest.raises(QueryError, match="must be whole days"):
            period_pairs(df, "36h")


def test_a_metric_in_an_empty_frame_gets_its_whole_message():
    with pytest.raises(QueryError) as err:
        compare_periods(_days().iloc[:0], "total_amount")
    assert str(err.value) == "metric 'total_amount' is not in the frame; it holds: nothing."


@pytest.mark.parametrize(
    ("period", "edge"),
    [("30min", "2026-11-07T23:30:00+08:00"), ("90min", "2026-11-07T22:30:00+08:00")],
)
def test_a_rolling_period_that_cuts_an_hourly_bucket_is_refused(period, edge):
    """A window edge inside an hour would leave that bucket neither in nor out: a period
    shorter than a bucket summed to 0.0 (an empty window) instead of saying so."""
    df = make_frame("2026-11-01", "2026-11-08", {("Chat", None, "total_amount"): 1.0}, freq="h")
    with pytest.raises(QueryError) as err:
        compare_periods(df, "total_amount", period)
    assert str(err.value) == (
        "with hourly buckets the period must be whole hours; a window would start or end at "
        f"{edge}, inside a bucket."
    )
    row = compare_periods(df, "total_amount", "2h").iloc[0]  # whole hours: two buckets each
    assert (row["current"], row["previous"]) == (2.0, 2.0)
