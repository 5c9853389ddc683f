"""Behaviours of breakdown and share_over_time (analysis/breakdown.py) that mutation testing
found unpinned (issue 16): cost without a department, groups a filtered frame no longer
holds, and the whole text of their warnings; and (second pass) the bodies of both functions:
default top, metric errors, row order, hole rows, change on the period before.
"""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from costtrend_nb.analysis import breakdown, share_over_time
from costtrend_nb.errors import QueryError
from costtrend_nb.plot import plot_breakdown

from .frames import make_frame

SH = "Asia/Shanghai"


def _mixed() -> pd.DataFrame:
    """February and March 2026, daily: ¥1 a day with no department, ¥2 and ¥3 a day for
    departments 1 and 2, ¥0.50 for department 3."""
    series = {
        ("Chat", None, "total_amount"): 1.0,
        ("TTS", 1, "total_amount"): 2.0,
        ("TTS", 2, "total_amount"): 3.0,
        ("Chat", 3, "total_amount"): 0.5,
    }
    return make_frame("2026-02-01", "2026-04-01", series)


@pytest.mark.parametrize(("period", "days"), [("month", 31), (None, 59)])
def test_cost_without_a_department_keeps_its_row_and_its_share(period, days):
    """Regression: the rows whose department is missing were dropped, so the shares of the
    others added up to 1 without them (and a frame fetched without departments gave an empty
    table). March: ¥31 of ¥201.50 has no department."""
    table = breakdown(_mixed(), "client_id", period=period, as_of="2026-04-01", top=3)
    assert table["client_id"].iloc[:2].tolist() == [2, 1] and table["client_id"].iloc[3] == "Other"
    assert pd.isna(table["client_id"].iloc[2])
    assert table["current"].tolist() == [3.0 * days, 2.0 * days, 1.0 * days, 0.5 * days]
    assert table["share"].tolist() == pytest.approx([3 / 6.5, 2 / 6.5, 1 / 6.5, 0.5 / 6.5])
    no_departments = _mixed().assign(client_id=pd.array([None] * 4 * 59, dtype="Int64"))
    whole = breakdown(no_departments, "client_id", period=period, as_of="2026-04-01")
    assert len(whole) == 1 and whole["current"].iloc[0] == 6.5 * days


def test_a_frame_filtered_to_one_model_type_has_no_rows_for_the_others():
    """The filtered frame keeps every model type among its categories; no zero rows appear."""
    chat = _mixed()[lambda d: d["model_type"] == "Chat"]
    for period in ("month", None):
        table = breakdown(chat, "model_type", period=period, as_of="2026-04-01")
        assert table["model_type"].tolist() == ["Chat"] and table["share"].tolist() == [1.0]


FRAME = "the frame (2026-03-01T00:00:00+08:00 to 2026-03-16T00:00:00+08:00) does not cover "
FETCH = "NaN, never a zero. Fetch the whole range to compare."


def _holed_hours() -> pd.DataFrame:
    series = {("Chat", None, "total_amount"): 1.0, ("TTS", None, "total_amount"): 2.0}
    hours = make_frame("2026-03-01", "2026-03-16", series, freq="h")
    return hours[hours["timestamp"] != pd.Timestamp("2026-03-10 05:00", tz=SH)]


@pytest.mark.parametrize(
    ("period", "message"),
    [
        (
            "week",
            f"{FRAME}2026-03-09T00:00:00+08:00 to 2026-03-15T00:00:00+08:00 (coverage 99.3 % of "
            f"its buckets, holes or whole buckets outside the frame): its total is {FETCH}",
        ),
        (
            None,
            f"{FRAME}2026-03-01T00:00:00+08:00 to 2026-03-15T00:00:00+08:00 (coverage 99.7 % of "
            f"its buckets, holes or whole buckets outside the frame): every total is {FETCH}",
        ),
    ],
)
def test_a_breakdown_with_a_hole_says_which_window_and_what_became_nan(period, message):
    with pytest.warns(UserWarning) as caught:
        breakdown(_holed_hours(), "model_type", period=period, as_of="2026-03-15")
    assert [str(w.message) for w in caught] == [message]


@pytest.mark.parametrize(
    ("freq", "where"),
    [
        (None, "1 bucket(s) from 2026-03-10T05:00:00+08:00"),
        ("D", "1 bin(s) from 2026-03-10T00:00:00+08:00"),
    ],
)
def test_shares_over_time_with_a_hole_say_where_it_starts(freq, where):
    with pytest.warns(UserWarning) as caught:
        share_over_time(_holed_hours(), freq=freq)
    assert [str(w.message) for w in caught] == [
        f"the frame has holes (buckets missing inside its span) in {where}: their values and "
        "shares are NaN, never a zero. Fetch the whole range."
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": "team"}, "by must be 'model_type' or 'client_id', not 'team'."),
        ({"top": True}, "top must be a whole number >= 1, not True."),
        ({"top": 2.0}, "top must be a whole number >= 1, not 2.0."),
        ({"top": 0}, "top must be a whole number >= 1, not 0."),
    ],
)
def test_bad_by_or_top_gets_its_whole_message(kwargs, message):
    for analysis in (breakdown, share_over_time):
        with pytest.raises(QueryError) as err:
            analysis(_mixed(), **kwargs)
        assert str(err.value) == message


def test_top_one_keeps_the_largest_group_and_folds_the_rest():
    table = breakdown(_mixed(), "model_type", top=1, as_of="2026-04-01")
    assert table["model_type"].tolist() == ["TTS", "Other"]
    assert (table["current"].tolist(), table["groups"].tolist()) == ([155.0, 46.5], [1, 1])


def test_a_hole_on_a_monday_empties_the_week_it_opens():
    """Weekly bins close on the left for the held share as for the values: the Monday 9 March
    belongs to the week of the 9th, not to the week before."""
    days = make_frame("2026-03-02", "2026-03-16", {("Chat", None, "total_amount"): 1.0})
    holed = days[days["timestamp"] != pd.Timestamp("2026-03-09", tz=SH)]
    with pytest.warns(UserWarning, match="in 1 bin"):
        out = share_over_time(holed, freq="W-MON")
    assert out["value"].iloc[0] == 7.0 and pd.isna(out["value"].iloc[1])
    assert out["coverage"].tolist() == pytest.approx([1.0, 6 / 7])


def test_ties_at_the_cut_keep_the_groups_listed_first():
    """40 departments alternate ¥5 and ¥4 a day: the three kept are the first three at ¥5
    (departments 1, 3 and 5), whatever the sort, so the same frame always gives the same table."""
    series = {
        ("Chat", client, "total_amount"): 5.0 if client % 2 else 4.0 for client in range(1, 41)
    }
    days = make_frame("2026-03-01", "2026-03-08", series)
    table = breakdown(days, "client_id", period=None, as_of="2026-03-08", top=3)
    assert table["client_id"].tolist() == [1, 3, 5, "Other"]
    assert table["groups"].tolist() == [1, 1, 1, 37]


# Added in the second pass (issue 16): breakdown and share_over_time themselves are now mutated
# (tools/mutation.py undecorates them in the snapshot), and these pin what their bodies do.


def test_share_over_time_keeps_eight_groups_by_default():
    series = {("Chat", d, "total_amount"): float(d) for d in range(1, 11)}
    df = make_frame("2026-02-01", "2026-02-03", series)
    shares = share_over_time(df, "client_id")
    assert shares["client_id"].unique().tolist() == [3, 4, 5, 6, 7, 8, 9, 10, "Other"]


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (
            "model_count",
            "model_count is a distinct count per bucket: it cannot be summed across buckets or "
            "groups. Compare it bucket by bucket, or pick an additive metric such as "
            "total_amount.",
        ),
        ("characters", "metric 'characters' is not in the frame; it holds: total_amount."),
    ],
)
@pytest.mark.parametrize("function", [breakdown, share_over_time])
def test_a_metric_that_cannot_be_summed_or_is_not_there_gets_its_whole_message(
    function, metric, message
):
    df = _mixed()
    if metric == "model_count":
        df = pd.concat([df, df.assign(metric="model_count", unit="count")], ignore_index=True)
    with pytest.raises(QueryError) as err:
        function(df, "client_id", metric)
    assert str(err.value) == message


def test_shares_over_time_are_listed_bucket_by_bucket_with_cost_without_a_department():
    """Rows come by timestamp, then group; the cost with no department (the largest here) is a
    group of its own that can win a place in the top, and keeps its rows."""
    series = {
        ("Chat", None, "total_amount"): 5.0,
        ("TTS", 1, "total_amount"): 2.0,
        ("TTS", 2, "total_amount"): 1.0,
    }
    df = make_frame("2026-02-01", "2026-02-03", series)
    for freq in (None, "D"):
        shares = share_over_time(df, "client_id", freq=freq, top=1)
        assert shares["timestamp"].dt.day.tolist() == [1, 1, 2, 2]
        assert shares["client_id"].tolist()[::2] == ["Other", "Other"]
        assert shares["client_id"].iloc[1::2].isna().all()  # a missing id sorts last
        assert shares["value"].tolist() == [3.0, 5.0, 3.0, 5.0]
        assert shares["share"].tolist() == [0.375, 0.625, 0.375, 0.625]


def test_a_hole_gets_rows_only_for_the_groups_that_hold_the_metric():
    """TTS holds characters but no cost: a hole's bucket gets no row for it."""
    series = {
        ("Chat", 1, "total_amount"): 1.0,
        ("TTS", 1, "characters"): 10.0,
    }
    df = make_frame("2026-02-01", "2026-02-04", series)
    df = df[df["timestamp"].dt.day != 2]
    with pytest.warns(UserWarning, match="holes"):
        shares = share_over_time(df)
    assert shares.index.tolist() == [0, 1, 2]
    assert shares["timestamp"].dt.day.tolist() == [1, 2, 3]
    assert shares["timestamp"].dtype == df["timestamp"].dtype
    assert shares["model_type"].tolist() == ["Chat", "Chat", "Chat"]
    assert shares["complete"].tolist() == [True, False, True]  # the hole's row was never fetched
    assert shares["coverage"].tolist() == [1.0, 0.0, 1.0]
    assert shares[["value", "share"]].isna().sum().tolist() == [1, 1]


def test_shares_of_a_total_of_one_are_kept_and_of_a_total_of_zero_are_nan():
    """Day 1: ¥0.25 and ¥0.75, a total of exactly ¥1. Day 2: a charge of ¥1 and a refund of
    ¥1, a total of ¥0: no share (NaN), never an infinite one."""
    series = {
        ("Chat", 1, "total_amount"): lambda i: np.where(i.day == 1, 0.25, 1.0),
        ("TTS", 2, "total_amount"): lambda i: np.where(i.day == 1, 0.75, -1.0),
    }
    shares = share_over_time(make_frame("2026-02-01", "2026-02-03", series))
    assert shares["share"].iloc[:2].tolist() == [0.25, 0.75]
    assert shares["share"].iloc[2:].isna().all()


def test_breakdown_keeps_eight_groups_by_default_with_its_columns():
    series = {("Chat", d, "total_amount"): float(d) for d in range(1, 11)}
    table = breakdown(make_frame("2026-01-01", "2026-03-01", series), "client_id")
    assert table["client_id"].tolist() == [10, 9, 8, 7, 6, 5, 4, 3, "Other"]
    assert table.columns.tolist() == [
        *("client_id", "current", "share", "rank", "previous", "delta", "pct_change", "groups"),
        *("period", "running", "current_start", "current_end", "previous_start", "previous_end"),
        *("current_coverage", "previous_coverage"),
    ]


def test_breakdown_passes_the_alignment_on():
    table = breakdown(_mixed(), "client_id", align="weekday", as_of="2026-04-01")
    assert str(table["previous_end"].iloc[0]) == "2026-03-04 00:00:00+08:00"  # 28 days back
    assert table["previous"].dtype == np.float64
    whole = breakdown(_mixed(), "client_id", period=None, as_of="2026-04-01")
    assert whole["previous"].dtype == np.float64 and whole["previous"].isna().all()


def test_hourly_shares_of_a_frame_ending_before_midnight_have_no_hole():
    """The span ends an hour after the last bucket, not at the next midnight."""
    df = make_frame("2026-03-01", "2026-03-02 12:00", {("Chat", 1, "total_amount"): 1.0}, freq="h")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shares = share_over_time(df, freq="D")
    assert shares["coverage"].tolist() == [1.0, 1.0]


def test_breakdown_gives_each_groups_change_on_the_period_before():
    """March (31 days) on February (28): ¥2 a day to ¥3 a day, ¥1 a day throughout, and ¥0 to
    ¥0.50 a day (no percentage change on ¥0)."""
    series = {
        ("Chat", 1, "total_amount"): lambda i: np.where(i.month == 2, 2.0, 3.0),
        ("Chat", 2, "total_amount"): 1.0,
        ("Chat", 3, "total_amount"): lambda i: np.where(i.month == 2, 0.0, 0.5),
    }
    table = breakdown(make_frame("2026-02-01", "2026-04-01", series), "model_type", top=1)
    assert str(table["model_type"].dtype) == "str"  # text, not the object dtype
    table = breakdown(make_frame("2026-02-01", "2026-04-01", series), "client_id")
    assert table["client_id"].tolist() == [1, 2, 3]
    assert table["previous"].tolist() == [56.0, 28.0, 0.0]
    assert table["delta"].tolist() == [37.0, 3.0, 15.5]
    assert table["pct_change"].iloc[:2].tolist() == [37 / 56, 3 / 28]
    assert pd.isna(table["pct_change"].iloc[2])


@pytest.mark.parametrize(
    "analysis",
    [
        lambda df: breakdown(df, "model_type", period="week", as_of="2026-03-15"),
        lambda df: breakdown(df, "model_type", period=None, as_of="2026-03-15"),
        lambda df: share_over_time(df, freq="D"),
        lambda df: plot_breakdown(df, kind="bar", period="week"),
        lambda df: plot_breakdown(df, kind="share", freq="D"),
    ],
    ids=[
        "breakdown by week",
        "breakdown of the whole frame",
        "share_over_time",
        "plot_breakdown by week",
        "plot_breakdown of shares",
    ],
)
def test_a_hole_warning_names_the_callers_line(analysis):
    """The warning points at the line that called the analysis (this file), not at the
    package, whatever the path: a breakdown by period warns through compare_periods (it named
    breakdown.py), and the plots through breakdown and share_over_time (the plot's file)."""
    with pytest.warns(UserWarning) as caught:
        analysis(_holed_hours())
    plt.close("all")
    assert [w.filename for w in caught] == [__file__]


def test_shares_of_a_total_cancelled_by_a_credit_are_nan_not_infinite():
    """March: ¥5 a day of charges and a ¥5 a day credit, a total of ¥0. A share of ¥0 is
    undefined: NaN, as share_over_time gives for the same buckets, never ±inf."""
    series = {
        ("Chat", 1, "total_amount"): 5.0,
        ("TTS", 2, "total_amount"): -5.0,
    }
    df = make_frame("2026-02-01", "2026-04-01", series)
    for period in ("month", None):
        table = breakdown(df, "client_id", period=period, as_of="2026-04-01")
        assert table["current"].tolist() == ([155.0, -155.0] if period else [295.0, -295.0])
        assert table["share"].isna().all() and table["share"].dtype == np.float64
    assert share_over_time(df, "client_id")["share"].isna().all()


def test_a_midnight_hour_counts_once_it_has_ended_whatever_the_metrics_rows():
    """Hourly buckets; characters held only in each day's first hour. As of 12:00 on the 4th,
    that day's 00:00 bucket ended at 01:00: it counts, though the metric's own rows look daily."""
    series = {("Chat", 1, "total_amount"): 1.0, ("TTS", 2, "characters"): 10.0}
    df = make_frame("2026-03-01", "2026-03-05", series, freq="h")
    df = df[(df["metric"] == "total_amount") | (df["timestamp"].dt.hour == 0)]
    as_of = "2026-03-04 12:00"
    shares = share_over_time(df, "model_type", "characters", as_of=as_of)
    assert shares["timestamp"].dt.day.tolist() == [1, 2, 3, 4]
    table = breakdown(df, "model_type", "characters", period=None, as_of=as_of)
    assert table["current"].tolist() == [40.0]


def test_breakdown_rows_are_numbered_from_zero_in_rank_order():
    """Department 10 is the largest: it comes first, with the index 0, not its place in the
    frame's order."""
    series = {("Chat", d, "total_amount"): float(d) for d in range(1, 11)}
    table = breakdown(make_frame("2026-01-01", "2026-03-01", series), "client_id", top=3)
    assert table.index.tolist() == [0, 1, 2, 3]
    assert table["rank"].tolist() == [1, 2, 3, 4]


def test_a_whole_frame_breakdown_with_a_hole_has_nan_totals():
    with pytest.warns(UserWarning, match="every total is NaN"):
        table = breakdown(_holed_hours(), "model_type", period=None, as_of="2026-03-15")
    assert table["model_type"].tolist() == ["Chat", "TTS"]  # NaN totals keep the frame order
    assert table["current"].dtype == np.float64 and table["current"].isna().all()
    assert table["share"].isna().all() and table["current_coverage"].iloc[0] < 1


def test_cost_without_a_department_folds_into_other_when_it_is_not_in_the_top():
    series = {
        ("Chat", None, "total_amount"): 1.0,
        ("TTS", 1, "total_amount"): 5.0,
        ("TTS", 2, "total_amount"): 3.0,
    }
    shares = share_over_time(make_frame("2026-02-01", "2026-02-02", series), "client_id", top=1)
    assert shares["client_id"].tolist() == [1, "Other"]
    assert shares["value"].tolist() == [5.0, 4.0]
