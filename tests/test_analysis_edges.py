"""The analysis layer at its edges (issue 12, points 1-4): an ``as_of`` inside a bucket, an
``as_of`` past the data, holes in a window, and zeros in the LMDI split."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from costtrend_nb import CostTrendClient
from costtrend_nb.analysis import (
    breakdown,
    compare_periods,
    explain_change,
    forecast,
    month_end_landing,
    share_over_time,
)
from costtrend_nb.errors import QueryError

from .frames import make_frame

ONES = {("Chat", None, "total_amount"): 1.0}


@pytest.fixture(scope="module")
def demo():
    return CostTrendClient.demo().fetch("2025-09-01", "2026-11-21", granularity="daily")


def _day_total(df, day):
    rows = df[(df.metric == "total_amount") & (df.timestamp.dt.strftime("%Y-%m-%d") == day)]
    return float(rows["value"].sum())


# 1. an as_of inside a bucket never counts that bucket as whole


def test_as_of_inside_a_day_compares_whole_days_on_the_demo(demo):
    r = compare_periods(demo, "total_amount", "month", as_of="2026-11-20 14:30").iloc[0]
    assert r["current"] == pytest.approx(47_701.4566, abs=1e-6)
    assert r["previous"] == pytest.approx(44_273.3706, abs=1e-6)
    assert round(r["pct_change"] * 100, 1) == 7.7
    assert r["current_end"] == pd.Timestamp("2026-11-20", tz="Asia/Shanghai")
    assert r["previous_end"] == pd.Timestamp("2026-10-20", tz="Asia/Shanghai")


def test_as_of_inside_an_hour_leaves_the_hour_out():
    df = make_frame("2026-10-01", "2026-11-21", ONES, freq="h", tz="Europe/Berlin")
    r = compare_periods(df, "total_amount", "month", as_of="2026-11-20 14:30").iloc[0]
    # 1 to 19 November and 00:00-14:00 of the 20th; October the same
    assert r["current"] == 19 * 24 + 14
    assert r["previous"] == 19 * 24 + 14
    assert r["current_end"] == pd.Timestamp("2026-11-20 14:00", tz="Europe/Berlin")


def test_as_of_inside_an_hour_on_a_dst_day():
    df = make_frame("2026-03-01", "2026-03-10", ONES, freq="h", tz="America/New_York")
    r = compare_periods(df, "total_amount", "day", as_of="2026-03-08 14:30").iloc[0]
    assert r["current"] == 13  # 02:00 does not exist on 8 March; 14:00 had not ended
    assert r["previous"] == 14


def test_as_of_inside_a_day_on_a_dst_zone_day():
    df = make_frame("2026-03-01", "2026-03-12", ONES, freq="D", tz="America/New_York")
    r = compare_periods(df, "total_amount", "day", as_of="2026-03-09 14:30").iloc[0]
    assert r["period"] == "2026-03-08" and not r["running"]
    assert (r["current"], r["previous"]) == (1.0, 1.0)


def test_explain_change_breakdown_and_shares_follow_the_same_rule():
    per_day = {
        ("Chat", 1, "total_amount"): lambda i: np.where(i.day == 20, 1000.0, 1.0),
        ("Chat", 1, "input_tokens"): 10.0,
        ("Chat", 1, "output_tokens"): 0.0,
        ("Chat", 1, "reasoning_tokens"): 0.0,
    }
    df = make_frame("2026-10-01", "2026-11-22", per_day, freq="D", tz="Asia/Tokyo")
    drivers = explain_change(df, "month", as_of="2026-11-20 09:00").iloc[0]
    assert (drivers["current_cost"], drivers["previous_cost"]) == (19.0, 19.0)
    table = breakdown(df, "model_type", period=None, as_of="2026-11-20 09:00")
    assert table["current"].iloc[0] == 30 + 19 + 1000 - 1 + 1  # through 19 November only
    shares = share_over_time(df, as_of="2026-11-20 09:00")
    assert shares["timestamp"].max() == pd.Timestamp("2026-11-19", tz="Asia/Tokyo")


def test_forecast_starts_after_the_last_whole_hour():
    df = make_frame("2026-11-01", "2026-11-21", ONES, freq="h")
    fc = forecast(df, "total_amount", 3, as_of="2026-11-20 14:30")
    assert fc["timestamp"].iloc[0] == pd.Timestamp("2026-11-20 14:00", tz="Asia/Shanghai")


# 2. month_end_landing with as_of past the data's end


def test_landing_past_the_data_forecasts_every_missing_day(demo):
    land = month_end_landing(demo, as_of="2026-11-25").iloc[0]
    whole = sum(_day_total(demo, f"2026-11-{d:02d}") for d in range(1, 20))
    assert land["actual_to_date"] == pytest.approx(whole)  # the running 20th is left out
    assert land["forecast_start"] == pd.Timestamp("2026-11-20", tz="Asia/Shanghai")
    assert land["landing"] == pytest.approx(land["actual_to_date"] + land["forecast_remaining"])
    same = month_end_landing(demo).iloc[0]  # 11 days to forecast either way
    assert land["landing"] == pytest.approx(same["landing"])


def test_landing_past_the_data_hourly_in_another_zone():
    df = make_frame(
        "2026-10-01",
        "2026-11-10 06:00",
        ONES,
        freq="h",
        tz="UTC",
        complete_until="2026-11-10 05:00",
    )
    land = month_end_landing(df, as_of="2026-11-12 18:00").iloc[0]
    assert land["actual_to_date"] == 9 * 24 + 5
    assert land["forecast_start"] == pd.Timestamp("2026-11-10 05:00", tz="UTC")
    assert land["landing"] == pytest.approx(30 * 24, rel=0.05)


# 3. holes count as NaN with a warning, never as zero


def test_a_missing_week_is_nan_with_a_warning(demo):
    cut = demo.timestamp.between(
        pd.Timestamp("2026-11-05", tz="Asia/Shanghai"),
        pd.Timestamp("2026-11-11", tz="Asia/Shanghai"),
    )
    with pytest.warns(UserWarning, match="coverage 63.2 %"):
        r = compare_periods(demo[~cut], "total_amount", "month").iloc[0]
    assert math.isnan(r["current"]) and r["previous"] == pytest.approx(44_273.3706)
    assert r["current_coverage"] == pytest.approx(12 / 19) and r["previous_coverage"] == 1.0
    full = compare_periods(demo, "total_amount", "month").iloc[0]
    assert (full["current_coverage"], full["previous_coverage"]) == (1.0, 1.0)


def test_a_hole_in_hourly_data_in_the_previous_window():
    df = make_frame("2026-10-01", "2026-11-21", ONES, freq="h", tz="Australia/Sydney")
    holed = df[df.timestamp != pd.Timestamp("2026-10-04 05:00", tz="Australia/Sydney")]
    with pytest.warns(UserWarning, match="does not cover 2026-10-01"):
        r = compare_periods(holed, "total_amount", "month", by="model_type").iloc[0]
    assert math.isnan(r["previous"]) and r["current"] == 20 * 24
    assert 0.99 < r["previous_coverage"] < 1


def test_holes_in_explain_change_breakdown_shares_and_forecasts():
    df = make_frame("2026-09-01", "2026-11-21", {**ONES, ("TTS", None, "total_amount"): 2.0})
    holed = df[~df.timestamp.dt.strftime("%Y-%m-%d").isin(["2026-11-03", "2026-11-04"])]
    with pytest.raises(QueryError, match="coverage"):
        explain_change(holed, "month", as_of="2026-11-20")
    with pytest.warns(UserWarning, match="NaN"):
        table = breakdown(holed, "model_type", as_of="2026-11-20")
    assert table["current"].isna().all() and table["current_coverage"].iloc[0] == 17 / 19
    with pytest.warns(UserWarning, match="holes"):
        shares = share_over_time(holed)
    gap = shares[shares.timestamp == pd.Timestamp("2026-11-03", tz="Asia/Shanghai")]
    assert len(gap) == 2 and gap["value"].isna().all() and (gap["coverage"] == 0).all()
    with pytest.warns(UserWarning, match="NaN"):
        fc = forecast(holed, "total_amount", 7)
    assert fc["yhat"].isna().all() and fc["coverage"].iloc[0] == pytest.approx(79 / 81)
    with pytest.warns(UserWarning, match="NaN"):
        land = month_end_landing(holed).iloc[0]
    assert math.isnan(land["landing"]) and land["coverage"] < 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (share_over_time(df)["coverage"] == 1).all()
        assert (forecast(df, "total_amount", 7)["coverage"] == 1).all()


# 4. zeros in the LMDI split (Ang & Liu's limits)


def _cell(cost0, cost1, vol0, vol1, model_type="Chat"):
    def two(a, b):
        return lambda i: np.where(i.month == 1, a / 31, b / 28)

    df = make_frame(
        "2026-01-01",
        "2026-03-01",
        {
            (model_type, 3, "total_amount"): two(cost0, cost1),
            (model_type, 3, "input_tokens"): two(vol0, vol1),
            (model_type, 3, "output_tokens"): 0.0,
            (model_type, 3, "reasoning_tokens"): 0.0,
        },
    )
    return explain_change(df, "month", as_of="2026-03-01", detail=True).iloc[0]


def test_free_to_paid_is_all_unit_cost():
    row = _cell(0.0, 10.0, 1_000_000, 1_000_000)
    assert row["change"] == pytest.approx(10.0)
    assert row["volume_effect"] == pytest.approx(0.0, abs=1e-9)
    assert row["unit_cost_effect"] == pytest.approx(10.0)


def test_free_to_paid_with_more_volume_and_paid_to_free():
    row = _cell(0.0, 7.5, 2_000, 3_000)  # the limit C0 -> 0: L(C1, C0) -> 0, no volume effect
    assert (row["volume_effect"], row["unit_cost_effect"]) == pytest.approx((0.0, 7.5))
    row = _cell(4.0, 0.0, 3_000, 3_000)
    assert (row["volume_effect"], row["unit_cost_effect"]) == pytest.approx((0.0, -4.0))


def test_a_new_cell_is_still_all_volume():
    row = _cell(0.0, 12.0, 0.0, 5_000)
    assert (row["volume_effect"], row["unit_cost_effect"]) == pytest.approx((12.0, 0.0))


def test_cost_without_volume_is_never_infinite():
    row = _cell(5.0, 10.0, 0.0, 0.0)  # a fee, no volume: only the price moved
    assert (row["volume_effect"], row["unit_cost_effect"]) == pytest.approx((0.0, 5.0))
    assert math.isnan(row["previous_unit_cost"])
    row = _cell(5.0, 20.0, 0.0, 1_000)  # volume appeared: volume effect, finite
    assert (row["volume_effect"], row["unit_cost_effect"]) == pytest.approx((15.0, 0.0))
    row = _cell(20.0, 5.0, 1_000, 0.0)  # volume vanished, a fee stayed
    assert (row["volume_effect"], row["unit_cost_effect"]) == pytest.approx((-15.0, 0.0))


TZ = "Asia/Shanghai"


def test_bucket_facts_follow_the_frames_content_not_its_identity():
    """An analysis asks a frame its bucket size, its "now" and which rows count many times; the
    answers are remembered by content, so a frame changed in place is measured again."""
    from costtrend_nb.analysis._frame import bucket_freq, counted, resolve_as_of

    df = make_frame("2026-11-01", "2026-11-08", {("Chat", None, "total_amount"): 1.0})
    assert (bucket_freq(df), resolve_as_of(df)) == ("D", pd.Timestamp("2026-11-08", tz=TZ))
    rows = counted(df, pd.Timestamp("2026-11-08", tz=TZ))
    rows[:] = False  # the caller's copy: what is remembered stays as it was
    assert counted(df, pd.Timestamp("2026-11-08", tz=TZ)).all()
    df.loc[df.index[-1], "complete"] = False
    assert resolve_as_of(df) == pd.Timestamp("2026-11-07", tz=TZ)
    assert not counted(df, pd.Timestamp("2026-11-08", tz=TZ))[-1]
    df["timestamp"] = df["timestamp"] + pd.Timedelta(hours=1)  # the same dtype, other stamps
    assert bucket_freq(df) == "h"
    utc = df.assign(timestamp=df["timestamp"].dt.tz_convert("UTC") - pd.Timedelta(hours=1))
    assert bucket_freq(utc) == "h"  # the same instants as the Shanghai midnights, not at midnight


def test_remembered_bucket_facts_are_bounded_in_bytes(monkeypatch):
    """The oldest go first while their arrays hold more than the bound, but the newest is kept
    even alone over it; facts without an array (a bucket size) count no bytes."""
    from costtrend_nb.analysis import _frame

    monkeypatch.setattr(_frame, "DERIVED_BYTES", 230)
    monkeypatch.setattr(_frame, "_derived", type(_frame._derived)())
    now = pd.Timestamp("2026-12-31", tz=TZ)

    def frame(days):
        end = str((pd.Timestamp("2026-01-01") + pd.Timedelta(days=days)).date())
        return make_frame("2026-01-01", end, {("Chat", None, "total_amount"): 1.0})

    def kept():
        return [len(v) if hasattr(v, "nbytes") else v for v in _frame._derived.values()]

    assert _frame.bucket_freq(frame(5)) == "D"
    for days in (100, 110):  # a bool a row: 210 bytes, under the bound
        _frame.counted(frame(days), now, "D")
    assert kept() == ["D", 100, 110]
    _frame.counted(frame(120), now, "D")  # 330: the oldest go until 230, the bound itself
    assert kept() == [110, 120]
    _frame.counted(frame(240), now, "D")  # alone over the bound: kept
    assert kept() == [240]


def test_the_bucket_size_of_stamps_alone_needs_no_complete_column():
    """Remembering bucket facts reads the complete flags too; a frame of stamps alone (a
    table made from a tidy frame) still gets its bucket size, computed afresh."""
    from costtrend_nb.analysis._frame import bucket_freq

    stamps = pd.DataFrame({"timestamp": pd.date_range("2026-01-01", periods=3, freq="D", tz=TZ)})
    assert bucket_freq(stamps) == "D"
    assert bucket_freq(stamps.assign(timestamp=stamps["timestamp"] + pd.Timedelta(hours=1))) == "h"
