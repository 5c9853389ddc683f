"""Behaviours of tidy.to_daily, the analysis and daily ranges in DST zones that mutation
testing found unpinned (issue 16).

Each test fails when one plausible wrong change is made to the code it names; the docstring
says which.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from costtrend_nb.analysis import breakdown, compare_periods, explain_change, share_over_time
from costtrend_nb.analysis.drivers import _log_mean, volume_of
from costtrend_nb.errors import QueryError
from costtrend_nb.query import RangeWidenedWarning, TrendQuery, local_midnight, local_midnights
from costtrend_nb.tidy import to_daily

from .frames import Values, make_frame


def _daily(df: pd.DataFrame, metric: str) -> pd.Series:
    rows = df[df["metric"] == metric]
    return pd.Series(rows["value"].to_numpy(), index=pd.DatetimeIndex(rows["timestamp"]))


def test_to_daily_cuts_days_at_local_midnight_not_utc():
    """Hour h of each local day is worth h: a day cut at UTC midnight (08:00 in Shanghai) mixes
    two local days and no longer sums 0 + 1 + ... + 23 = 276."""
    hours = make_frame(
        "2026-03-02",
        "2026-03-05",
        {("Chat", None, "total_amount"): lambda ix: ix.hour.to_numpy(dtype=float)},
        freq="h",
    )
    days = _daily(to_daily(hours), "total_amount")
    assert list(days.index) == list(pd.date_range("2026-03-02", periods=3, tz="Asia/Shanghai"))
    assert days.tolist() == [276.0, 276.0, 276.0]


def test_to_daily_keeps_23_and_25_hour_days_whole_in_a_dst_zone():
    """Each hour is worth 1, so a local day's value is its length in hours: Berlin's spring day
    has 23, its autumn day 25."""
    frame = {("Chat", None, "total_calls"): 1.0}
    spring = _daily(
        to_daily(make_frame("2026-03-28", "2026-03-31", frame, freq="h", tz="Europe/Berlin")),
        "total_calls",
    )
    autumn = _daily(
        to_daily(make_frame("2026-10-24", "2026-10-27", frame, freq="h", tz="Europe/Berlin")),
        "total_calls",
    )
    assert spring.tolist() == [24.0, 23.0, 24.0]
    assert autumn.tolist() == [24.0, 25.0, 24.0]
    assert [t.hour for t in spring.index] == [0, 0, 0]


def test_to_daily_a_day_starting_at_one_where_midnight_does_not_exist():
    """Santiago skips from 24:00 to 01:00 on 2026-09-06: that day starts at 01:00 (shifted
    forward), has 23 hours, and the day before keeps its own 24."""
    hours = make_frame(
        "2026-09-05",
        "2026-09-08",
        {("Chat", None, "total_calls"): 1.0},
        freq="h",
        tz="America/Santiago",
    )
    days = _daily(to_daily(hours), "total_calls")
    assert days.tolist() == [24.0, 23.0, 24.0]
    assert days.index[1] == pd.Timestamp("2026-09-06 01:00", tz="America/Santiago")


def test_to_daily_never_sums_model_count_and_a_day_is_complete_only_when_all_its_hours_are():
    """model_count is a distinct count (DESIGN, the tidy contract): a day's is unknown (NaN),
    not the sum of 24 hourly counts. One incomplete hour leaves its whole day incomplete."""
    hours = make_frame(
        "2026-03-02",
        "2026-03-04",
        {("Chat", None, "model_count"): 3.0, ("Chat", None, "total_amount"): 1.0},
        freq="h",
        complete_until="2026-03-03 23:00",
    )
    days = to_daily(hours)
    counts = days[days["metric"] == "model_count"]
    assert len(counts) == 2 and counts["value"].isna().all()
    cost = days[days["metric"] == "total_amount"]
    assert cost["value"].tolist() == [24.0, 24.0]
    assert cost["complete"].tolist() == [True, False]
    assert np.isnan(days["value"]).sum() == 2


# drivers (analysis/drivers.py)


def _two_months(cells: dict[tuple[str, int], tuple[float, float, float, float]]) -> pd.DataFrame:
    """January and February 2026, daily; each (model type, department) cell's cost and volume
    spread evenly over the month: cells map to (cost0, cost1, volume0, volume1)."""

    def two(a: float, b: float):
        return lambda i: np.where(i.month == 1, a / 31, b / 28)

    series: dict[tuple[str, int | None, str], Values] = {}
    for (model_type, client), (c0, c1, v0, v1) in cells.items():
        series[(model_type, client, "total_amount")] = two(c0, c1)
        series[(model_type, client, "input_tokens")] = two(v0, v1)
        series[(model_type, client, "output_tokens")] = 0.0
        series[(model_type, client, "reasoning_tokens")] = 0.0
    return make_frame("2026-01-01", "2026-03-01", series)


def test_lmdi_with_the_same_cost_in_both_windows_uses_the_log_means_limit():
    """L(a, a) = a: with ¥100 in both months and twice the volume, the volume effect is
    100 * ln 2 and the unit cost effect its opposite; the plain formula would give 0 / 0 = NaN."""
    row = explain_change(
        _two_months({("Chat", 1): (100.0, 100.0, 1000.0, 2000.0)}),
        "month",
        as_of="2026-03-01",
        detail=True,
    ).iloc[0]
    assert row["volume_effect"] == pytest.approx(100 * np.log(2), rel=1e-9)
    assert row["unit_cost_effect"] == pytest.approx(-100 * np.log(2), rel=1e-9)


def test_lmdi_log_mean_of_nearly_equal_costs_is_finite_and_continuous():
    """Costs a hair apart take the formula's branch and stay close to the equal-cost value."""
    row = explain_change(
        _two_months({("Chat", 1): (100.0, 100.0 + 1e-9, 1000.0, 2000.0)}),
        "month",
        as_of="2026-03-01",
        detail=True,
    ).iloc[0]
    assert row["volume_effect"] == pytest.approx(100 * np.log(2), rel=1e-6)


def test_log_mean_a_few_units_in_the_last_place_apart():
    """Regression: ln a - ln b of costs 8-20 ulps apart came out up to 60 % off (L = 160 for
    a = b = 100); ln(a / b) by log1p keeps L within rounding of the values themselves."""
    a = np.full(6, 100.0)
    b = a.copy()
    for ulps in range(1, 25):
        b = np.nextafter(b, 200.0)
        assert _log_mean(b, a)[0] == pytest.approx(100.0, rel=1e-12), ulps
    assert _log_mean(np.array([np.e]), np.array([1.0]))[0] == pytest.approx(np.e - 1, rel=1e-15)
    assert _log_mean(np.array([100.0]), np.array([100.0]))[0] == 100.0  # the limit, not 0 / 0


def test_reasoning_tokens_count_in_chats_volume():
    """Chat's volume is input + output + reasoning tokens (cached ones are input tokens)."""
    series = {
        ("Chat", 1, "total_amount"): 1.0,
        ("Chat", 1, "input_tokens"): 10.0,
        ("Chat", 1, "output_tokens"): 20.0,
        ("Chat", 1, "reasoning_tokens"): 70.0,
        ("Chat", 1, "cached_tokens"): 5.0,
    }
    df = make_frame("2026-01-01", "2026-03-01", series)
    row = explain_change(df, "month", as_of="2026-03-01", detail=True).iloc[0]
    assert (row["previous_volume"], row["current_volume"]) == (3100.0, 2800.0)
    assert volume_of("Chat") == (("input_tokens", "output_tokens", "reasoning_tokens"), "tokens")


def test_when_the_total_falls_rows_go_by_size_of_change_and_shares_keep_their_sign():
    """Total change -60: department 2 fell by 80 (share 80/60 = 4/3), 1 rose by 20 (share -1/3).
    The largest change in size comes first, whatever its sign."""
    df = _two_months(
        {
            ("Chat", 1): (100.0, 120.0, 1000.0, 1000.0),
            ("Chat", 2): (100.0, 20.0, 1000.0, 1000.0),
            ("Chat", 3): (50.0, 50.0, 1000.0, 1000.0),
        }
    )
    out = explain_change(df, "month", as_of="2026-03-01", by="client_id")
    assert out["client_id"].tolist() == [2, 1, 3]
    assert out["change"].tolist() == pytest.approx([-80.0, 20.0, 0.0])
    assert out["share_of_change"].tolist() == pytest.approx([4 / 3, -1 / 3, 0.0])
    assert out["share_of_change"].sum() == pytest.approx(1.0)


def test_a_hole_in_the_previous_window_alone_is_refused():
    """The previous window is checked as well as the current one; with both whole, both
    coverages are reported as 1."""
    df = _two_months({("Chat", 1): (100.0, 120.0, 1000.0, 1000.0)})
    out = explain_change(df, "month", as_of="2026-03-01")
    assert (out["current_coverage"].tolist(), out["previous_coverage"].tolist()) == ([1.0], [1.0])
    holed = df[df["timestamp"] != pd.Timestamp("2026-01-15", tz="Asia/Shanghai")]
    with pytest.raises(QueryError, match="does not cover"):
        explain_change(holed, "month", as_of="2026-03-01")


# periods and breakdowns (analysis/periods.py, analysis/breakdown.py)

ONES: dict[tuple[str, int | None, str], Values] = {
    ("Chat", None, "total_amount"): 1.0,
    ("TTS", None, "total_amount"): 2.0,
}


def _holed(day: str) -> pd.DataFrame:
    """February and March 2026, daily, with ``day`` missing (no rows: a hole)."""
    df = make_frame("2026-02-01", "2026-04-01", ONES)
    return df[df["timestamp"] != pd.Timestamp(day, tz="Asia/Shanghai")].reset_index(drop=True)


def test_a_current_window_covered_in_part_is_nan_with_a_warning():
    with pytest.warns(UserWarning, match="NaN"):
        r = compare_periods(_holed("2026-03-10"), "total_amount", "month", as_of="2026-04-01")
    r = r.iloc[0]
    assert np.isnan(r["current"]) and np.isnan(r["delta"]) and r["previous"] == 84.0
    assert r["current_coverage"] == pytest.approx(30 / 31) and r["previous_coverage"] == 1.0


def test_a_breakdown_whose_current_window_has_a_hole_is_nan_never_smaller():
    with pytest.warns(UserWarning, match="NaN"):
        table = breakdown(_holed("2026-03-10"), "model_type", period="month", as_of="2026-04-01")
    assert table["current"].isna().all() and (table["previous"] > 0).all()
    with pytest.warns(UserWarning, match="NaN"):
        whole = breakdown(_holed("2026-03-10"), "model_type", period=None, as_of="2026-04-01")
    assert whole["current"].isna().all()
    assert whole["current_coverage"].iloc[0] == pytest.approx(58 / 59)


def test_weekly_bins_close_on_the_left_and_are_labelled_by_their_first_day():
    """W-MON bins run Monday 00:00 to the next Monday, labelled with that first Monday; pandas'
    default for weeks (closed and labelled on the right) would put each Monday in the week before."""
    df = make_frame(
        "2026-03-02",
        "2026-03-16",
        {("Chat", None, "total_amount"): lambda i: i.day.to_numpy(dtype=float)},
    )  # Monday 2 March to Sunday 15 March
    out = share_over_time(df, freq="W-MON")
    assert out["timestamp"].tolist() == [
        pd.Timestamp("2026-03-02", tz="Asia/Shanghai"),
        pd.Timestamp("2026-03-09", tz="Asia/Shanghai"),
    ]
    assert out["value"].tolist() == [sum(range(2, 9)), sum(range(9, 16))]
    assert (out["coverage"] == 1.0).all()


def test_a_weekly_bin_with_a_hole_is_nan():
    df = make_frame("2026-03-02", "2026-03-16", {("Chat", None, "total_amount"): 1.0})
    holed = df[df["timestamp"] != pd.Timestamp("2026-03-04", tz="Asia/Shanghai")]
    with pytest.warns(UserWarning, match="holes"):
        out = share_over_time(holed, freq="W-MON")
    assert np.isnan(out["value"].iloc[0]) and out["value"].iloc[1] == 7.0
    assert out["coverage"].tolist() == pytest.approx([6 / 7, 1.0])


# query (query.py): daily ranges in DST zones


@pytest.mark.parametrize(
    ("tz", "start", "end", "hours"),
    [
        ("America/New_York", "2026-03-07", "2026-03-09", 47),  # ends the day after spring forward
        ("America/New_York", "2026-11-01", "2026-11-02", 25),  # the fall-back day alone
        ("Europe/Berlin", "2026-03-29", "2026-03-30", 23),
        ("Europe/Berlin", "2026-10-24", "2026-10-26", 49),
    ],
)
def test_a_daily_range_ending_at_local_midnight_is_not_widened(tz, start, end, hours):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = TrendQuery(start, end, granularity="daily", tz=tz)
    assert (q.start, q.end) == (pd.Timestamp(start, tz=tz), pd.Timestamp(end, tz=tz))
    assert not q.widened and q.end - q.start == pd.Timedelta(hours=hours)


def test_a_daily_range_ending_inside_a_dst_day_widens_to_the_next_local_midnight():
    """10:00 on the 23-hour day: the range ends at the following midnight, 14 hours on, not
    24 hours after the day's start (01:00 the day after)."""
    with pytest.warns(RangeWidenedWarning):
        q = TrendQuery("2026-03-07", "2026-03-08 10:00", granularity="daily", tz="America/New_York")
    assert q.end == pd.Timestamp("2026-03-09", tz="America/New_York")
    with pytest.warns(RangeWidenedWarning):
        q = TrendQuery("2026-10-24", "2026-10-25 10:00", granularity="daily", tz="Europe/Berlin")
    assert q.end == pd.Timestamp("2026-10-26", tz="Europe/Berlin")


def test_to_dict_records_the_whole_query_in_plain_values():
    """The provenance in ``attrs`` and reports, and the cache's key: every field, by name."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = TrendQuery(
            "2026-03-07",
            "2026-03-09",
            granularity="daily",
            tz="America/New_York",
            model_types=["Chat", "TTS"],
            client_ids=[7],
            api_key_id=42,
            member_user_ids=[1, 2],
            by="model_type",
            max_results=50,
            settle="3h",
        )
    assert q.to_dict() == {
        "start": "2026-03-07T00:00:00-05:00",
        "end": "2026-03-09T00:00:00-04:00",
        "requested_start": "2026-03-07T00:00:00-05:00",
        "requested_end": "2026-03-09T00:00:00-04:00",
        "granularity": "daily",
        "fetch_granularity": "hourly",
        "model_types": ["Chat", "TTS"],
        "client_ids": [7],
        "api_key_id": 42,
        "member_user_ids": ["1", "2"],
        "by": ["model_type"],
        "tz": "America/New_York",
        "max_results": 50,
        "settle": "0 days 03:00:00",
    }
    plain = TrendQuery("2026-03-07", "2026-03-09").to_dict()
    assert (plain["model_types"], plain["client_ids"], plain["member_user_ids"]) == (
        None,
        None,
        None,
    )
    assert (plain["by"], plain["granularity"], plain["max_results"]) == ([], "hourly", 100)


def test_local_midnights_where_midnight_is_skipped_or_repeated():
    """Santiago skips 00:00-01:00 on 6 September 2026 (the day starts at 01:00); Havana repeats
    it on 1 November 2026 (the day starts at the first 00:00, still on summer time). Both ends
    of the range count."""
    tz = "America/Santiago"
    start, end = pd.Timestamp("2026-09-05", tz=tz), pd.Timestamp("2026-09-07", tz=tz)
    assert list(local_midnights(start, end, tz)) == [
        start,
        pd.Timestamp("2026-09-06 01:00", tz=tz),
        end,
    ]
    assert list(
        local_midnights(start + pd.Timedelta(hours=1), end - pd.Timedelta(hours=1), tz)
    ) == [pd.Timestamp("2026-09-06 01:00", tz=tz)]
    noon = pd.Timestamp("2026-09-06 12:00", tz=tz)
    assert local_midnight(noon, tz) == pd.Timestamp("2026-09-06 01:00", tz=tz)
    east = pd.Timestamp("2026-09-05", tz="Asia/Shanghai")  # its midnights are the day before in UTC
    assert len(local_midnights(east, east + pd.Timedelta(days=2), "Asia/Shanghai")) == 3
    tz = "America/Havana"
    first = local_midnight(pd.Timestamp("2026-11-01 12:00", tz=tz), tz)
    assert first.isoformat() == "2026-11-01T00:00:00-04:00"
    days = local_midnights(first - pd.Timedelta(days=1), first + pd.Timedelta(days=2), tz)
    assert [d.isoformat() for d in days] == [
        "2026-10-31T00:00:00-04:00",
        "2026-11-01T00:00:00-04:00",
        "2026-11-02T00:00:00-05:00",
    ]
