"""Golden values for period edges: every number here is counted by hand (one unit per bucket)."""

import numpy as np
import pandas as pd
import pytest

from costtrend_nb.analysis import align_periods, compare_periods
from costtrend_nb.errors import QueryError

from .frames import make_frame

SH = "Asia/Shanghai"
NY = "America/New_York"
ONES = {("Chat", None, "total_amount"): 1.0}


def daily(start="2025-11-01", end="2026-04-15", tz=SH, series=ONES):
    return make_frame(start, end, series, freq="D", tz=tz)


def row(df, period, as_of, **kw):
    out = compare_periods(df, "total_amount", period, as_of=as_of, **kw)
    assert len(out) == 1
    return out.iloc[0]


def ts(text, tz=SH):
    return pd.Timestamp(text, tz=tz)


def test_month_to_date_on_the_31st_of_march_meets_all_of_february():
    r = row(daily(), "month", "2026-03-31")
    assert r["running"] and r["period"] == "2026-03"
    assert (r["current_start"], r["current_end"]) == (ts("2026-03-01"), ts("2026-03-31"))
    assert (r["previous_start"], r["previous_end"]) == (ts("2026-02-01"), ts("2026-03-01"))
    assert (r["current"], r["previous"]) == (30.0, 28.0)


def test_month_to_date_on_the_28th_of_february_meets_the_same_days_of_january():
    r = row(daily(), "month", "2026-02-28")
    assert (r["previous_start"], r["previous_end"]) == (ts("2026-01-01"), ts("2026-01-28"))
    assert (r["current"], r["previous"]) == (27.0, 27.0)


def test_on_the_first_of_a_month_the_latest_period_is_the_whole_month_before():
    r = row(daily(), "month", "2026-03-01")
    assert not r["running"] and r["period"] == "2026-02"
    assert (r["current"], r["previous"]) == (28.0, 31.0)
    assert (r["previous_start"], r["previous_end"]) == (ts("2026-01-01"), ts("2026-02-01"))


def test_leap_year_february_has_29_days():
    df = daily("2023-11-01", "2024-04-15")
    assert (row(df, "month", "2024-03-31")["previous"]) == 29.0
    assert (row(df, "month", "2024-03-01")["current"]) == 29.0
    year = daily("2022-12-01", "2024-03-10")
    r = row(year, "year", "2024-03-01")
    assert r["current"] == 60.0 and r["previous"] == 60.0  # the same elapsed 60 days
    assert r["previous_end"] == ts("2023-03-02")


def test_a_running_week_meets_the_same_hours_of_last_week():
    df = make_frame("2026-11-02", "2026-11-19", ONES, freq="h")
    r = row(df, "week", "2026-11-18 12:00")  # a Wednesday noon
    assert r["period"] == "2026-W47" and r["running"]
    assert (r["current_start"], r["current_end"]) == (ts("2026-11-16"), ts("2026-11-18 12:00"))
    assert (r["previous_start"], r["previous_end"]) == (ts("2026-11-09"), ts("2026-11-11 12:00"))
    assert (r["current"], r["previous"]) == (60.0, 60.0)


@pytest.mark.parametrize(
    ("as_of", "day", "hours"),
    [("2026-03-09", "2026-03-08", 23.0), ("2026-11-02", "2026-11-01", 25.0)],
)
def test_23_and_25_hour_days_in_a_dst_zone(as_of, day, hours):
    df = make_frame("2026-02-20", "2026-11-10", ONES, freq="h", tz=NY)
    r = row(df, "day", as_of)
    assert r["period"] == day
    assert (r["current"], r["previous"]) == (hours, 24.0)
    assert r["current_start"] == ts(day, NY)


def test_daily_buckets_in_a_dst_zone_are_local_days():
    df = daily("2026-03-01", "2026-03-20", tz=NY)
    r = row(df, "week", "2026-03-16")
    assert r["current_start"] == ts("2026-03-09", NY) and r["current"] == 7.0


def test_weekday_alignment_shifts_by_whole_weeks():
    df = daily("2025-01-01", "2026-04-01")
    r = row(df, "year", "2026-03-01", align="weekday")
    assert r["previous_start"] == ts("2025-01-02")  # 364 days: a Thursday meets a Thursday
    assert r["previous_start"].day_of_week == r["current_start"].day_of_week
    m = row(df, "month", "2026-03-20", align="weekday")
    assert m["previous_start"] == ts("2026-02-01") and m["previous_end"] == ts("2026-02-20")
    d = row(df, "day", "2026-03-20", align="weekday")
    assert d["previous_start"] == ts("2026-03-12")


def test_history_gives_each_period_its_own_row_oldest_first():
    out = compare_periods(daily(), "total_amount", "month", as_of="2026-03-15", history=3)
    assert out["period"].tolist() == ["2026-01", "2026-02", "2026-03"]
    assert out["running"].tolist() == [False, False, True]
    assert out["current"].tolist() == [31.0, 28.0, 14.0]
    assert out["previous"].tolist() == [31.0, 31.0, 14.0]


def test_rolling_durations():
    r = row(make_frame("2026-11-01", "2026-11-10", ONES, freq="h"), "36h", "2026-11-09 12:00")
    assert (r["current_start"], r["previous_start"]) == (ts("2026-11-08"), ts("2026-11-06 12:00"))
    assert (r["current"], r["previous"]) == (36.0, 36.0)
    with pytest.raises(QueryError, match="whole days"):
        compare_periods(daily(), "total_amount", "36h", as_of="2026-03-01")


def test_sum_over_daily_windows_equals_the_sum_over_the_span():
    rng = np.random.default_rng(7)
    df = make_frame(
        "2026-10-01",
        "2026-11-01",
        {("Chat", None, "total_amount"): lambda i: rng.gamma(2.0, 10.0, len(i))},
        freq="h",
    )
    with pytest.warns(UserWarning, match="does not cover 2026-09-30"):  # the day before the frame
        days = compare_periods(df, "total_amount", "day", as_of="2026-11-01", history=31)
    total = df["value"].sum()
    assert days["current"].sum() == pytest.approx(total, rel=1e-12)
    assert days["current_start"].tolist() == sorted(days["current_start"])


def test_groups_and_zero_previous_give_nan_not_inf():
    series = {
        ("Chat", None, "total_amount"): 2.0,
        ("TTS", None, "total_amount"): lambda i: np.where(i >= ts("2026-03-01"), 1.0, 0.0),
    }
    out = compare_periods(
        daily(series=series), "total_amount", "month", as_of="2026-04-01", by="model_type"
    )
    tts = out[out["model_type"] == "TTS"].iloc[0]
    assert tts["previous"] == 0.0 and np.isnan(tts["pct_change"])
    chat = out[out["model_type"] == "Chat"].iloc[0]
    assert chat["pct_change"] == pytest.approx(62 / 56 - 1)
    assert isinstance(out["model_type"].dtype, pd.CategoricalDtype)


def test_uncovered_windows_are_nan_with_a_warning_never_zero():
    df = daily("2026-03-01", "2026-04-15")
    with pytest.warns(UserWarning, match="does not cover 2026-02-01"):
        r = row(df, "month", "2026-03-20")
    assert r["current"] == 19.0 and np.isnan(r["previous"]) and np.isnan(r["delta"])


def test_default_now_is_the_end_of_the_last_complete_bucket():
    df = make_frame(
        "2026-11-01", "2026-11-20 15:00", ONES, freq="h", complete_until="2026-11-20 12:00"
    )
    r = compare_periods(df, "total_amount", "day").iloc[0]
    assert r["current_end"] == ts("2026-11-20 12:00")  # the incomplete hours are left out
    assert r["current"] == 12.0


def test_model_count_is_refused_and_inputs_are_not_mutated():
    df = daily(series={("Chat", None, "total_amount"): 1.0, ("Chat", None, "model_count"): 2.0})
    before = df.copy()
    with pytest.raises(QueryError, match="model_count is a distinct count"):
        compare_periods(df, "model_count", "month")
    with pytest.raises(QueryError, match="distinct count"):
        align_periods(df, "model_count", "month")
    compare_periods(df, "total_amount", "month", by="model_type")
    align_periods(df, "total_amount", "month")
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "nope"}, "metric 'nope' is not in the frame"),
        ({"period": "fortnight"}, "period must be one of"),
        ({"period": "monthly"}, "period must be one of"),
        ({"align": "iso"}, "align must be"),
        ({"history": 0}, "history must be"),
        ({"by": "team"}, "by must be"),
    ],
)
def test_bad_arguments_are_explained(kwargs, message):
    args = {"metric": "total_amount", "period": "month", **kwargs}
    with pytest.raises(QueryError, match=message):
        compare_periods(daily(), args.pop("metric"), args.pop("period"), **args)


def test_not_a_tidy_frame():
    with pytest.raises(QueryError, match="column"):
        compare_periods(pd.DataFrame({"a": [1]}), "total_amount")


def test_align_periods_overlays_bucket_by_bucket():
    df = daily(series={("Chat", None, "total_amount"): lambda i: i.day.astype(float)})
    overlay = align_periods(df, "total_amount", "month", as_of="2026-02-15")
    assert len(overlay) == 31  # the whole of January, February so far
    assert overlay["offset"].iloc[0] == pd.Timedelta(0)
    first = overlay.iloc[0]
    assert (first["current_timestamp"], first["previous_timestamp"]) == (
        ts("2026-02-01"),
        ts("2026-01-01"),
    )
    assert overlay["current"].notna().sum() == 14 and overlay["previous"].notna().sum() == 31
    assert overlay["current"].iloc[13] == 14.0 and overlay["previous"].iloc[30] == 31.0


def test_align_periods_offsets_are_wall_clock_across_dst():
    df = make_frame("2026-03-01", "2026-03-16", ONES, freq="h", tz=NY)
    overlay = align_periods(df, "total_amount", "week", as_of="2026-03-16")
    # clocks went forward on Sunday 8 March: the week before had 167 hours, this one 168
    assert overlay["current"].sum() == 168.0 and overlay["previous"].sum() == 167.0
    assert overlay["offset"].iloc[-1] == pd.Timedelta(days=6, hours=23)
    skipped = overlay[overlay["offset"] == pd.Timedelta(days=6, hours=2)].iloc[0]
    assert np.isnan(skipped["previous"]) and skipped["current"] == 1.0  # 02:00 never happened
