"""Behaviours of the forecasts and their engines that mutation testing found unpinned (issue 16).

Small synthetic histories keep these fast (the figures of ``tests/test_forecast.py`` fit the
demo's 15 months). ``Fan`` is an engine whose paths are known exactly, so that the interval
arithmetic and the calibration of :mod:`costtrend_nb.analysis.forecast` can be checked to the
last digit: each bucket's paths are the last value plus an even fan of ``width``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

# imported here, not at the first fit: mutation runs fork from a process that collected the
# tests, so each mutant's run need not import statsmodels again
import statsmodels.tsa.exponential_smoothing.ets
import statsmodels.tsa.seasonal  # noqa: F401

from costtrend_nb.analysis import (
    ETSForecaster,
    MSTLForecaster,
    SeasonalNaiveForecaster,
    backtest,
    choose_engine,
    forecast,
    month_end_landing,
)
from costtrend_nb.analysis.engines import (
    FITS_KEPT,
    Fit,
    Forecaster,
    Transform,
    _robust_clip,
    fit_once,
)
from costtrend_nb.errors import QueryError

from .frames import make_frame, weekly

TZ = "Asia/Shanghai"


@dataclass
class Fan(Forecaster):
    """Each future bucket: the last value (plus ``slope`` a bucket) and ``width`` times an even
    fan of paths from -0.5 to 0.5."""

    season: int = 7
    min_history: int = 7
    width: float = 2.0
    slope: float = 0.0  # added to the centre each bucket ahead

    def fit(self, y: np.ndarray) -> Fit:
        last = float(y[-1])

        def simulate(horizon: int, paths: int, rng: np.random.Generator) -> np.ndarray:
            centre = last + self.slope * np.arange(1, horizon + 1)[:, None]
            return centre + self.width * np.tile(np.linspace(-0.5, 0.5, paths), (horizon, 1))

        return Fit(simulate, Transform(False), "fan")


def daily(values, start="2026-01-01", tz=TZ, complete_until=None):
    values = np.asarray(values, dtype=float)
    end = (pd.Timestamp(start) + pd.Timedelta(days=len(values))).strftime("%Y-%m-%d")
    return make_frame(
        start,
        end,
        {("Chat", None, "total_amount"): lambda ix: values[: len(ix)]},
        tz=tz,
        complete_until=complete_until,
    )


# --- choosing an engine -------------------------------------------------------------------------


def test_the_engine_follows_the_history_length_at_its_bounds():
    assert choose_engine("D", 28) == ETSForecaster()
    assert choose_engine("D", 27) == SeasonalNaiveForecaster(
        season=7, reason="27 days of history; ETS needs 28"
    )
    assert choose_engine("h", 72) == MSTLForecaster()
    assert choose_engine("h", 71) == SeasonalNaiveForecaster(
        season=24, reason="71 hours of history; MSTL needs 72"
    )


# --- arguments ----------------------------------------------------------------------------------

FLAT = daily([10.0] * 56)
HOURS = make_frame("2026-01-01", "2026-01-11", {("Chat", None, "total_amount"): 5.0}, freq="h")


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (FLAT, {"horizon": True}, "horizon must be a number of buckets or a duration, not True."),
        (
            FLAT,
            {"horizon": "soon"},
            "horizon must be a number of buckets or a duration such as '14D', not 'soon'.",
        ),
        (
            FLAT,
            {"horizon": [3]},
            "horizon must be a number of buckets or a duration such as '14D', not [3].",
        ),
        (FLAT, {"horizon": "36h"}, "horizon '36h' is not a whole number of days."),
        (HOURS, {"horizon": "90min"}, "horizon '90min' is not a whole number of hours."),
        (FLAT, {"horizon": 0}, "horizon must be at least one bucket, not 0."),
        (FLAT, {"horizon": "-1D"}, "horizon must be at least one bucket, not '-1D'."),
        (
            FLAT,
            {"level": True},
            "level must be percentages between 0 and 100, not True.",
        ),
        (FLAT, {"level": (80, 100)}, "level must be percentages between 0 and 100, not (80, 100)."),
        (FLAT, {"level": 0}, "level must be percentages between 0 and 100, not 0."),
        (FLAT, {"level": "80"}, "level must be percentages between 0 and 100, not '80'."),
    ],
)
def test_bad_horizons_and_levels_get_the_whole_message(frame, kwargs, message):
    with pytest.raises(QueryError) as err:
        forecast(frame, engine=Fan(), **{"horizon": 3, **kwargs})
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("frame", "horizon", "steps"),
    [
        (FLAT, np.int64(3), 3),
        (FLAT, 1, 1),
        (FLAT, "2D", 2),
        (FLAT, dt.timedelta(days=4), 4),
        (HOURS, "2D", 48),
        (HOURS, pd.Timedelta(hours=5), 5),
    ],
)
def test_horizons_count_buckets_of_the_frame(frame, horizon, steps):
    assert len(forecast(frame, "total_amount", horizon, engine=Fan())) == steps


def test_levels_are_sorted_whole_percentages():
    fc = forecast(FLAT, "total_amount", 2, level=[95, 50.0], engine=Fan())
    assert list(fc.columns[1:6]) == ["yhat", "lo_50", "hi_50", "lo_95", "hi_95"]
    assert list(forecast(FLAT, "total_amount", 2, level=99, engine=Fan()).columns[2:4]) == [
        "lo_99",
        "hi_99",
    ]


# --- intervals and their calibration ------------------------------------------------------------


def test_intervals_are_the_central_share_of_the_paths():
    """Paths 10 +- 1 (an even fan over 1000 paths): each interval is exactly its quantiles."""
    fc = forecast(FLAT, "total_amount", 3, level=(50, 80, 95), engine=Fan(), paths=1000)
    row = fc.iloc[0]
    assert row["yhat"] == pytest.approx(10.0, abs=1e-12)
    expected = {"50": 0.25, "80": 0.4, "95": 0.475}
    for lv, half in expected.items():
        assert (row[f"lo_{lv}"], row[f"hi_{lv}"]) == pytest.approx((10 - 2 * half, 10 + 2 * half))
    assert row["model"] == "fan; intervals calibrated on 6 backtests (x1.00)"
    assert row["coverage"] == 1.0


def test_calibration_widens_by_what_the_backtests_missed():
    """Days alternate 10 and 11.6, so each backtest's actuals sit 0 or 1.6 from the value it
    started from. The fan's 80 % interval reaches 0.8 either side: to cover 80 % of those
    actuals it must reach 1.6, twice as far, and every path is spread twice as wide."""
    y = np.where(np.arange(56) % 2, 11.6, 10.0)
    fc = forecast(daily(y), "total_amount", 3, engine=Fan(), paths=1000)
    row = fc.iloc[0]
    assert row["model"] == "fan; intervals calibrated on 6 backtests (x2.00)"
    assert (row["lo_80"], row["hi_80"]) == pytest.approx((11.6 - 1.6, 11.6 + 1.6))
    assert (row["lo_95"], row["hi_95"]) == pytest.approx((11.6 - 1.9, 11.6 + 1.9))
    # backtests that miss by less than the interval never narrow it
    small = forecast(
        daily(np.where(np.arange(56) % 2, 10.4, 10.0)), "total_amount", 3, engine=Fan(), paths=1000
    )
    assert small["model"].iloc[0].endswith("(x1.00)")
    assert small["hi_80"].iloc[0] == pytest.approx(10.4 + 0.8)


def test_the_backtests_fit_only_origins_with_enough_history():
    """Origins step back a season from ``horizon`` (in whole seasons) before the end, down to
    the engine's ``min_history`` and two seasons: 56 days, 7 ahead: 49, 42, ..., 14 (6)."""
    assert forecast(daily([10.0] * 55), "total_amount", 7, engine=Fan())["model"].iloc[0] == (
        "fan; intervals calibrated on 5 backtests (x1.00)"
    )
    assert forecast(daily([10.0] * 56), "total_amount", 7, engine=Fan())["model"].iloc[0] == (
        "fan; intervals calibrated on 6 backtests (x1.00)"
    )
    assert (
        forecast(daily([10.0] * 56), "total_amount", 7, engine=Fan(min_history=35))["model"].iloc[0]
        == "fan; intervals calibrated on 3 backtests (x1.00)"
    )
    assert (
        forecast(daily([10.0] * 20), "total_amount", 7, engine=Fan(season=1))["model"].iloc[0]
        == "fan; intervals calibrated on 6 backtests (x1.00)"
    )  # one day apart: 13, 12, ..., 8
    assert forecast(daily([10.0] * 20), "total_amount", 7, engine=Fan())["model"].iloc[0] == "fan"
    # hourly data calibrates on three origins
    hourly = forecast(HOURS, "total_amount", 4, engine=Fan(season=24, min_history=24))
    assert hourly["model"].iloc[0] == "fan; intervals calibrated on 3 backtests (x1.00)"


FITTED: list[int] = []


@dataclass
class Counted(Fan):
    """A fan that notes the length of each history it is fitted on."""

    def fit(self, y: np.ndarray) -> Fit:
        FITTED.append(len(y))
        return super().fit(y)


def test_each_backtest_forecasts_the_same_weekdays_as_the_forecast():
    """9 days ahead of 100: the folds end two whole weeks (not 9 days) before the data, then a
    week apart, so each backtest starts on the weekday the forecast starts on."""
    FITTED.clear()
    forecast(daily(np.arange(100.0) + 10), "total_amount", 9, engine=Counted())
    assert FITTED == [100, 86, 79, 72, 65, 58, 51]


def test_a_forecast_and_the_months_landing_share_their_refits():
    """Data to 21 November: the landing forecasts 9 days, the forecast 14; both calibrate on
    folds two weeks before the data, so the pair fits 7 histories, not 13."""
    FITTED.clear()
    df = daily(np.arange(100.0) + 20, start="2026-08-14")
    forecast(df, "total_amount", "14D", engine=Counted())
    land = month_end_landing(df, engine=Counted()).iloc[0]
    assert land["forecast_start"] == pd.Timestamp("2026-11-22", tz=TZ)
    assert FITTED == [100, 86, 79, 72, 65, 58, 51]


def test_a_backtest_with_no_spread_leaves_the_paths_as_they_are():
    with warnings.catch_warnings():  # and numpy says nothing of the 0 / 0 it leaves out
        warnings.simplefilter("error")
        fc = forecast(FLAT, "total_amount", 2, engine=Fan(width=0.0))
    assert fc["model"].iloc[0] == "fan; intervals calibrated on 6 backtests (x1.00)"
    assert (fc[["yhat", "lo_80", "hi_95"]] == 10.0).all().all()


def test_a_backtest_with_no_spread_that_misses_its_actuals_leaves_the_paths_as_they_are():
    """Days alternate 10 and 11.6: a fan of no width misses every other actual, an error
    infinitely many spreads wide. Such errors are left out of the calibration, quietly (numpy
    says nothing of the division by zero)."""
    y = np.where(np.arange(56) % 2, 11.6, 10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fc = forecast(daily(y), "total_amount", 3, engine=Fan(width=0.0))
    assert fc["model"].iloc[0] == "fan; intervals calibrated on 6 backtests (x1.00)"
    assert (fc[["yhat", "lo_80", "hi_95"]] == 11.6).all().all()


def test_paths_of_a_history_never_negative_stop_at_zero():
    near_zero = forecast(daily([0.5] * 56), "total_amount", 2, engine=Fan(width=4.0))
    assert near_zero["lo_95"].iloc[0] == 0.0 and near_zero["hi_95"].iloc[0] == pytest.approx(2.4)
    signed = daily([0.5] * 55 + [-0.5])  # a refund day: the series may go below zero
    assert forecast(signed, "total_amount", 2, engine=Fan(width=4.0))["lo_95"].iloc[0] == (
        pytest.approx(-0.5 - 1.9)
    )


# --- timestamps ---------------------------------------------------------------------------------


def test_future_days_are_local_midnights_across_a_dst_change():
    df = daily(np.full(56, 10.0), start="2026-02-01", tz="Europe/Berlin")  # to 28 March
    fc = forecast(df, "total_amount", 3, engine=Fan())
    assert fc["timestamp"].tolist() == [
        pd.Timestamp(d, tz="Europe/Berlin") for d in ("2026-03-29", "2026-03-30", "2026-03-31")
    ]
    assert str(fc["timestamp"].dtype) == "datetime64[ns, Europe/Berlin]"
    # autumn: the 25-hour day
    autumn = daily(np.full(56, 10.0), start="2026-08-30", tz="Europe/Berlin")  # to 24 October
    stamps = forecast(autumn, "total_amount", 3, engine=Fan())["timestamp"]
    assert [t.strftime("%m-%d %H:%M") for t in stamps] == [
        "10-25 00:00",
        "10-26 00:00",
        "10-27 00:00",
    ]


def test_future_hours_follow_the_last_complete_hour_in_the_frames_zone():
    df = make_frame(
        "2026-03-20",
        "2026-03-29 12:00",
        {("Chat", None, "total_amount"): 5.0},
        freq="h",
        tz="Europe/Berlin",
        complete_until="2026-03-29 10:00",
    )
    fc = forecast(df, "total_amount", 3, engine=Fan(season=24, min_history=24))
    assert [t.isoformat() for t in fc["timestamp"]] == [
        "2026-03-29T10:00:00+02:00",
        "2026-03-29T11:00:00+02:00",
        "2026-03-29T12:00:00+02:00",
    ]


def test_as_of_decides_the_last_bucket_fitted():
    y = np.arange(1.0, 57.0)
    fc = forecast(daily(y), "total_amount", 1, as_of="2026-02-10", engine=Fan(width=0.0))
    assert fc["timestamp"].iloc[0] == pd.Timestamp("2026-02-10", tz=TZ)
    assert fc["yhat"].iloc[0] == 40.0  # 9 February's value, the 40th day


# --- groups and holes ---------------------------------------------------------------------------


def test_each_group_is_forecast_from_its_own_history():
    df = make_frame(
        "2026-01-01",
        "2026-02-26",
        {
            ("Chat", None, "total_amount"): 10.0,
            ("TTS", None, "total_amount"): 3.0,
            ("Chat", 7, "total_amount"): 1.0,
        },
    )
    fc = forecast(df, "total_amount", 2, by="model_type", engine=Fan(width=0.0))
    assert fc[["model_type", "yhat"]].astype(str).values.tolist() == [
        ["Chat", "11.0"],
        ["Chat", "11.0"],
        ["TTS", "3.0"],
        ["TTS", "3.0"],
    ]
    assert fc.index.tolist() == [0, 1, 2, 3]
    assert list(fc.columns) == [
        "timestamp",
        "model_type",
        "yhat",
        "lo_80",
        "hi_80",
        "lo_95",
        "hi_95",
        "model",
        "coverage",
    ]
    both = forecast(df, "total_amount", 1, by=["model_type", "client_id"], engine=Fan(width=0.0))
    rows = {
        (str(r.model_type), None if pd.isna(r.client_id) else int(r.client_id), r.yhat)
        for r in both.itertuples()
    }
    assert rows == {("Chat", None, 10.0), ("Chat", 7, 1.0), ("TTS", None, 3.0)}
    assert str(both["client_id"].dtype) == "Int64"


def test_a_history_with_a_hole_is_nan_and_says_its_coverage():
    df = FLAT[
        ~FLAT["timestamp"].between(
            pd.Timestamp("2026-01-10", tz=TZ), pd.Timestamp("2026-01-16", tz=TZ)
        )
    ]
    with pytest.warns(UserWarning) as caught:
        fc = forecast(df, "total_amount", 2, engine=Fan())
    assert [str(w.message) for w in caught] == [
        "the frame (2026-01-01T00:00:00+08:00 to 2026-02-26T00:00:00+08:00) does not cover "
        "2026-01-01T00:00:00+08:00 to 2026-02-26T00:00:00+08:00 (coverage 87.5 % of its "
        "buckets, holes or whole buckets outside the frame): the forecast is NaN, never a zero. "
        "Fetch the whole range to compare."
    ]
    assert fc["coverage"].tolist() == [0.875, 0.875] and fc["yhat"].isna().all()
    with pytest.warns(UserWarning, match="every score of the backtest is NaN"):
        scores = backtest(df, "total_amount", 2, folds=2, engine=Fan())
    assert scores["coverage"].item() == 0.875 and np.isnan(scores["mase"].item())
    with pytest.warns(UserWarning, match="the landing is NaN"):
        land = month_end_landing(df, as_of="2026-02-20", engine=Fan())
    assert land["coverage"].item() == 0.86 and np.isnan(land["landing"].item())


def test_nothing_complete_to_fit_is_an_error():
    df = daily([10.0] * 10, complete_until="2026-01-01")
    with pytest.raises(QueryError) as err:
        forecast(df, "total_amount", 2, engine=Fan())
    assert str(err.value) == (
        "no complete buckets of total_amount before 2026-01-01T00:00:00+08:00 to fit."
    )


# --- month-end landing --------------------------------------------------------------------------


def test_the_landing_adds_the_forecast_of_the_rest_of_the_month():
    """January to 20 February at 10 a day: 19 whole days of February so far, 9 to come."""
    df = daily([10.0] * 51, complete_until="2026-02-20")
    land = month_end_landing(df, engine=Fan(width=0.0), budget=200).iloc[0]
    assert land["month"] == "2026-02" and land["actual_to_date"] == 190.0
    assert land["forecast_start"] == pd.Timestamp("2026-02-20", tz=TZ)
    assert land["month_end"] == pd.Timestamp("2026-03-01", tz=TZ)
    assert (land["forecast_remaining"], land["landing"]) == (90.0, 280.0)
    assert land["model"] == "fan; intervals calibrated on 4 backtests (x1.00)"
    assert land["p_exceed_budget"] == 1.0 and land["budget"] == 200.0


def test_the_landing_of_hours_counts_the_hours_left_in_the_month():
    df = make_frame(
        "2026-01-01",
        "2026-01-31 08:00",
        {("Chat", None, "total_amount"): 1.0},
        freq="h",
        tz="UTC",
        complete_until="2026-01-31 06:00",
    )
    land = month_end_landing(df, engine=Fan(season=24, min_history=24, width=0.0)).iloc[0]
    assert land["forecast_start"] == pd.Timestamp("2026-01-31 06:00", tz="UTC")
    assert (land["actual_to_date"], land["forecast_remaining"]) == (30 * 24 + 6, 18.0)


# --- engines ------------------------------------------------------------------------------------


def test_a_scale_for_each_kind_of_series():
    assert Transform.for_series(np.array([1.0, 2.0])) == Transform(True, 0.0)
    assert Transform.for_series(np.array([0.5, 0.2])) == Transform(True, 0.0)
    assert Transform.for_series(np.array([0.0, 1.0, 3.0, 2.0])) == Transform(True, 0.02)
    assert Transform.for_series(np.array([-1.0, 2.0])) == Transform(False)
    assert Transform.for_series(np.array([0.0, 0.0])) == Transform(False)
    assert Transform.for_series(np.array([])) == Transform(False)
    shifted = Transform(True, 0.5)
    np.testing.assert_allclose(shifted.forward(np.array([0.5, 2.0])), np.log([1.0, 2.5]))
    np.testing.assert_allclose(shifted.back(np.log([1.0, 2.5])), [0.5, 2.0])
    assert Transform(False).forward(np.array([-1, 2])).dtype == float


def test_remembered_fits_are_kept_per_engine_settings_and_latest_used():
    calls: list[int] = []

    @dataclass
    class Counted(SeasonalNaiveForecaster):
        def fit(self, y):
            calls.append(len(y))
            return super().fit(y)

    @dataclass
    class Other(SeasonalNaiveForecaster):
        pass

    y = np.arange(1.0, 30.0)
    first = fit_once(Counted(), y)
    assert fit_once(Counted(season=24), y) is not first  # other settings
    assert fit_once(Other(), y) is not fit_once(SeasonalNaiveForecaster(), y)  # another type
    assert fit_once(Counted(), y.astype(int)) is first  # the same values
    calls.clear()
    for n in range(FITS_KEPT - 1):  # fill the memo, using the first fit now and then
        fit_once(Counted(), np.arange(n + 100.0))
        assert fit_once(Counted(), y) is first
    fit_once(Counted(), np.arange(5.0))  # one too many: the least recently used goes
    assert fit_once(Counted(), y) is first
    fit_once(Counted(), np.arange(101.0))  # still remembered
    fit_once(Counted(), np.arange(100.0))  # forgotten: fitted again
    assert calls == [*range(100, 100 + FITS_KEPT - 1), 5, 100]


class Plain(Forecaster):
    season, min_history = 7, 1

    def fit(self, y):
        return SeasonalNaiveForecaster().fit(y)


def test_engines_that_are_not_dataclasses_fit_every_time():
    y = np.arange(1.0, 20.0)
    assert fit_once(Plain(), y) is not fit_once(Plain(), y)
    assert repr(Plain()) == "Plain(season=7)"


def test_seasonal_naive_repeats_the_last_season():
    week = np.array([5.0, 6, 7, 8, 9, 2, 1])
    rng = np.random.default_rng(0)
    fit = SeasonalNaiveForecaster().fit(np.tile(week, 3))
    assert fit.description == "seasonal naive (season 7)"
    paths = fit.transform.back(fit.simulate(9, 4, rng))
    np.testing.assert_allclose(paths, np.tile(np.r_[week, week[:2]], (4, 1)).T)
    # a history shorter than a season: the last value, and a steady trend is no noise
    short = SeasonalNaiveForecaster(reason="why").fit(np.array([2.0, 4.0, 8.0]))
    assert short.description == "seasonal naive (season 1): why"
    np.testing.assert_allclose(short.transform.back(short.simulate(2, 3, rng)), 8.0)
    exact = SeasonalNaiveForecaster().fit(week)
    np.testing.assert_allclose(exact.transform.back(exact.simulate(7, 2, rng)).T, [week, week])


def test_seasonal_naive_noise_grows_with_the_seasons_ahead():
    y = weekly(100.0, 0.1, seed=3)(pd.date_range("2026-01-01", periods=70, freq="D"))
    fit = SeasonalNaiveForecaster().fit(y)
    sims = fit.simulate(14, 20000, np.random.default_rng(1))
    first, second = sims[:7].std(axis=1).mean(), sims[7:].std(axis=1).mean()
    assert second / first == pytest.approx(np.sqrt(2), rel=0.03)
    logs = np.log(y)
    seasonal = logs[7:] - logs[:-7]
    assert first == pytest.approx(seasonal.std(), rel=0.03)
    assert sims.mean(axis=1) == pytest.approx(np.tile(logs[-7:], 2), abs=0.01)


def _weekly_days(n, noise=0.05, seed=0):
    return weekly(100.0, noise, seed=seed)(pd.date_range("2026-01-01", periods=n, freq="D"))


def test_ets_fits_the_recent_history_on_a_log_scale():
    y = _weekly_days(120)
    fit = ETSForecaster(history=60).fit(y)
    assert fit.description == "ETS(A,Ad,A) on log scale, season 7"
    same = ETSForecaster(history=120).fit(y[-60:])
    a = fit.simulate(14, 50, np.random.default_rng(2))
    b = same.simulate(14, 50, np.random.default_rng(2))
    assert a.shape == (14, 50)
    np.testing.assert_allclose(a, b)
    future = pd.date_range("2026-01-01", periods=134, freq="D")[120:]
    pattern = np.where(future.day_of_week >= 5, 40.0, 100.0)  # weekly()'s shape
    np.testing.assert_allclose(np.exp(np.median(a, axis=1)), pattern, rtol=0.1)
    # the 80 % band of one step ahead is about +-1.28 times the 5 % noise
    spread = np.quantile(fit.simulate(1, 4000, np.random.default_rng(3)), [0.1, 0.9])
    assert spread[1] - spread[0] == pytest.approx(2 * 1.2816 * 0.05, rel=0.3)
    signed = ETSForecaster().fit(y - 50.0)
    assert signed.description == "ETS(A,Ad,A) on linear scale, season 7"


def test_an_outlier_day_does_not_bend_the_forecast():
    y = _weekly_days(63)
    bent = y.copy()
    bent[-10] *= 8  # an outage or a launch spike, ten days ago
    rng = np.random.default_rng
    engine = ETSForecaster()
    clean = np.median(engine.fit(y).simulate(7, 200, rng(0)), axis=1)
    spiked = np.median(engine.fit(bent).simulate(7, 200, rng(0)), axis=1)
    # fitted as it is, the spike lifts the week ahead by 3 to 30 %
    np.testing.assert_allclose(np.exp(spiked), np.exp(clean), rtol=0.05)


def test_outliers_are_points_beyond_five_robust_z_scores():
    """The engines' rule: median 0 and MAD 1 below, so the bar is 5 / 0.6745 = 7.41."""
    base = [-1.0] * 10 + [1.0] * 10 + [0.0]
    np.testing.assert_array_equal(_robust_clip(np.array([*base, 7.4, -7.4])), [*base, 7.4, -7.4])
    np.testing.assert_array_equal(_robust_clip(np.array([*base, 7.42, -7.42])), [*base, 0, 0])
    shifted = np.array([*base, 7.42, -7.42]) + 3.0  # the centre replaces them
    np.testing.assert_allclose(_robust_clip(shifted), [*(np.array(base) + 3), 3.0, 3.0])
    flat = np.array([0.0, 0.0, 0.0, 5.0])  # no spread: nothing to judge by
    np.testing.assert_array_equal(_robust_clip(flat), flat)


def _hours(n, seed=0):
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    shape = 1 + 0.5 * np.sin(2 * np.pi * i / 24) + 0.2 * (i % 168 >= 120)
    return 100 * shape * np.exp(rng.normal(0, 0.03, n))


def test_mstl_uses_the_seasons_the_history_holds_twice():
    short = MSTLForecaster().fit(_hours(200))
    assert short.description == "MSTL (24 h) + ETS(A,Ad,N) on log scale"
    long = MSTLForecaster().fit(_hours(400))
    assert long.description == "MSTL (24 h and 168 h) + ETS(A,Ad,N) on log scale"
    y = _hours(400)
    recent = MSTLForecaster(history=300).fit(y)
    same = MSTLForecaster(history=1000).fit(y[-300:])
    a = recent.simulate(30, 20, np.random.default_rng(4))
    np.testing.assert_allclose(a, same.simulate(30, 20, np.random.default_rng(4)))
    # the daily shape carries on: tomorrow's hours follow today's
    median = np.exp(np.median(long.simulate(48, 400, np.random.default_rng(5)), axis=1))
    np.testing.assert_allclose(median, y[-168:-120], rtol=0.1)
    signed = MSTLForecaster().fit(y - 100.0)
    assert signed.description.endswith("on linear scale")


def test_future_days_where_a_midnight_is_skipped_or_repeated():
    """Santiago skips 6 September 2026's midnight (the day starts at 01:00); the days after it
    start at midnight again. Havana repeats 1 November's midnight: the first one counts.
    Regression: the days after a skipped midnight were forecast at 01:00."""
    santiago = daily(np.full(56, 10.0), start="2026-07-12", tz="America/Santiago")
    fc = forecast(santiago, "total_amount", 3, engine=Fan())
    assert [t.isoformat() for t in fc["timestamp"]] == [
        "2026-09-06T01:00:00-03:00",
        "2026-09-07T00:00:00-03:00",
        "2026-09-08T00:00:00-03:00",
    ]
    havana = daily(np.full(56, 10.0), start="2026-09-06", tz="America/Havana")
    fc = forecast(havana, "total_amount", 2, engine=Fan())
    assert [t.isoformat() for t in fc["timestamp"]] == [
        "2026-11-01T00:00:00-04:00",
        "2026-11-02T00:00:00-05:00",
    ]
    # the month-end landing counts the same days: all of November, all of September from the 6th
    land = month_end_landing(havana, as_of="2026-11-03", engine=Fan(width=0.0)).iloc[0]
    assert (land["month"], land["forecast_remaining"]) == ("2026-11", 300.0)
    assert land["forecast_start"].isoformat() == "2026-11-01T00:00:00-04:00"
    land = month_end_landing(santiago, as_of="2026-09-08", engine=Fan(width=0.0)).iloc[0]
    assert (land["actual_to_date"], land["forecast_remaining"]) == (50.0, 250.0)
    before = santiago[santiago["timestamp"] < pd.Timestamp("2026-09-05", tz="America/Santiago")]
    land = month_end_landing(before, as_of="2026-09-08", engine=Fan(width=0.0)).iloc[0]
    assert (land["actual_to_date"], land["forecast_remaining"]) == (40.0, 260.0)


def test_paths_are_centred_and_widened_bucket_by_bucket():
    """A fan that climbs 1 a day from a flat 10: its backtests miss by 1, 2 and 3, so the 80 %
    interval (0.8 either side) is widened 3 / 0.8 = 3.75 times about each day's own centre."""
    fc = forecast(FLAT, "total_amount", 3, engine=Fan(slope=1.0), paths=1000)
    assert fc["model"].iloc[0] == "fan; intervals calibrated on 6 backtests (x3.75)"
    np.testing.assert_allclose(fc["yhat"], [11.0, 12.0, 13.0])
    np.testing.assert_allclose(fc["lo_80"], [8.0, 9.0, 10.0])
    np.testing.assert_allclose(fc["hi_95"], [11 + 0.95 * 3.75, 12 + 0.95 * 3.75, 13 + 0.95 * 3.75])


def test_a_metric_not_in_the_frame_is_named():
    with pytest.raises(QueryError) as err:
        forecast(FLAT, "output_tokens", 2, engine=Fan())
    assert str(err.value) == "metric 'output_tokens' is not in the frame; it holds: total_amount."


@dataclass
class Skewed(Forecaster):
    """Paths above the last value only, bunched near it: last + u**2 for u evenly in [0, 1]."""

    season: int = 7
    min_history: int = 7

    def fit(self, y: np.ndarray) -> Fit:
        last = float(y[-1])

        def simulate(horizon: int, paths: int, rng: np.random.Generator) -> np.ndarray:
            return last + np.tile(np.linspace(0.0, 1.0, paths) ** 2, (horizon, 1))

        return Fit(simulate, Transform(False), "skewed")


def test_a_skewed_spread_keeps_its_shape():
    row = forecast(FLAT, "total_amount", 1, engine=Skewed(), paths=1001).iloc[0]
    assert row["model"] == "skewed; intervals calibrated on 6 backtests (x1.00)"
    assert (row["lo_80"], row["yhat"], row["hi_80"]) == pytest.approx(
        (10.01, 10.25, 10.81), abs=1e-6
    )


def test_the_smallest_and_a_zero_day_are_allowed():
    one = forecast(FLAT, "total_amount", 1, level=1, engine=Fan(), paths=1000)
    assert list(one.columns[2:4]) == ["lo_1", "hi_1"]
    # a history with a day at zero (none below) still never forecasts below zero
    zero = forecast(daily([0.5] * 55 + [0.0]), "total_amount", 1, engine=Fan(width=4.0))
    assert zero["lo_95"].iloc[0] == 0.0


def test_groups_the_frame_no_longer_holds_are_not_forecast():
    df = make_frame(
        "2026-01-01",
        "2026-02-26",
        {("Chat", None, "total_amount"): 10.0, ("TTS", None, "total_amount"): 3.0},
    )
    chat = df[df["model_type"] == "Chat"]  # TTS stays a category of the column
    fc = forecast(chat, "total_amount", 2, by="model_type", engine=Fan(width=0.0))
    assert fc["model_type"].astype(str).tolist() == ["Chat", "Chat"]


def test_engines_fit_quietly_and_take_the_weekly_season_past_two_weeks(capsys):
    """MSTL fits a season only in more than two of it. Regression: exactly two weeks of hours
    (a history, or any backtest origin, of 336 hours) raised a ValueError."""
    assert MSTLForecaster().fit(_hours(336)).description == "MSTL (24 h) + ETS(A,Ad,N) on log scale"
    assert MSTLForecaster().fit(_hours(337)).description == (
        "MSTL (24 h and 168 h) + ETS(A,Ad,N) on log scale"
    )
    hours = _hours(408)  # 17 days: the backtests of 2 days ahead start at 360, 336 and 312 h
    df = make_frame(
        "2026-03-01", "2026-03-18", {("Chat", None, "total_amount"): lambda ix: hours}, freq="h"
    )
    assert len(forecast(df, "total_amount", "2D")) == 48
    ETSForecaster().fit(_weekly_days(60))
    assert capsys.readouterr().out == ""  # no optimiser's chatter in a notebook


def test_seasonal_naive_noise_keeps_the_skew_of_the_history():
    """Weeks that mostly slip a little and now and then jump: the paths do the same, so the
    upper tail is the long one."""
    rng = np.random.default_rng(5)
    steps = np.where(rng.random(70) < 0.1, 0.5, -0.05)
    y = 100 * np.exp(np.cumsum(steps))
    sims = SeasonalNaiveForecaster(season=1).fit(y).simulate(1, 20000, np.random.default_rng(6))
    low, mid, high = np.quantile(sims[0], [0.05, 0.5, 0.95])
    assert high - mid > 3 * (mid - low)


# --- backtests ----------------------------------------------------------------------------------

# 28 days at 10 but for day 3 (17: the in-sample seasonal-naive error of the first origin, 7 in
# 12 pairs a week apart), day 19 (12) and day 27 (5). Two folds of 2 days, a week apart: origins
# 19 and 26. A fan of no width forecasts the day before each origin, 10.
MISSES = np.full(28, 10.0)
MISSES[[3, 19, 27]] = (17.0, 12.0, 5.0)
COUNTS = make_frame("2026-01-01", "2026-01-29", {("Chat", None, "model_count"): 3.0})
NOT_ADDITIVE = (
    "model_count is a distinct count per bucket: it cannot be summed across buckets or groups. "
    "Compare it bucket by bucket, or pick an additive metric such as total_amount."
)


def test_backtest_scores_are_the_errors_of_each_fold():
    """Actuals 12, 10 | 10, 5 against 10: errors 2, 0 | 0, -5; seasonal naive (the week
    before) says 10, 10 | 12, 10: errors 2, 0 | 2, 5."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = backtest(daily(MISSES), "total_amount", 2, folds=2, engine=Fan(width=0.0))
    row = scores.iloc[0]
    assert list(scores.columns) == [
        "model",
        "folds",
        "horizon",
        "mape",
        "smape",
        "mase",
        "naive_mase",
        "coverage_80",
        "coverage_95",
        "coverage",
    ]
    # the last fold's: 21 days of history, calibrated on folds that end whole weeks before it
    assert row["model"] == "fan; intervals calibrated on 1 backtest (x1.00)"
    assert (row["folds"], row["horizon"]) == (2, 2)
    assert row["mape"] == pytest.approx((2 / 12 + 0 + 0 + 5 / 5) / 4)
    assert row["smape"] == pytest.approx((4 / 22 + 0 + 0 + 10 / 15) / 4)
    assert row["mase"] == pytest.approx((2 + 0 + 0 + 5) / 4 / (7 / 12))
    assert row["naive_mase"] == pytest.approx((2 + 0 + 2 + 5) / 4 / (7 / 12))
    # an actual on the interval's edge is inside it: the two that equal 10
    assert (row["coverage_80"], row["coverage_95"], row["coverage"]) == (0.5, 0.5, 1.0)


def test_backtest_detail_has_a_row_per_fold_and_step():
    detail = backtest(daily(MISSES), "total_amount", 2, folds=2, engine=Fan(width=0.0), detail=True)
    assert list(detail.columns) == [
        "fold",
        "step",
        "timestamp",
        "actual",
        "yhat",
        "naive",
        "lo_80",
        "hi_80",
        "lo_95",
        "hi_95",
    ]
    assert detail[["fold", "step", "actual", "yhat", "naive"]].values.tolist() == [
        [0, 1, 12.0, 10.0, 10.0],
        [0, 2, 10.0, 10.0, 10.0],
        [1, 1, 10.0, 10.0, 12.0],
        [1, 2, 5.0, 10.0, 10.0],
    ]
    assert detail["timestamp"].dt.strftime("%m-%d").tolist() == ["01-20", "01-21", "01-27", "01-28"]
    assert detail.index.tolist() == [0, 1, 2, 3]
    # each step's own median: a fan climbing 1 a day from 10
    climbing = backtest(
        daily(np.full(28, 10.0)),
        "total_amount",
        2,
        folds=1,
        engine=Fan(width=0.0, slope=1.0),
        detail=True,
    )
    assert climbing["yhat"].tolist() == [11.0, 12.0]
    # origins ``step`` buckets apart instead of a season
    moved = backtest(
        daily(MISSES), "total_amount", 2, folds=2, step=3, engine=Fan(width=0.0), detail=True
    )
    assert moved["timestamp"].dt.strftime("%m-%d").tolist() == ["01-24", "01-25", "01-27", "01-28"]
    # by default a season apart: the engine's own
    short_season = backtest(
        daily(MISSES), "total_amount", 2, folds=2, engine=Fan(season=3, width=0.0), detail=True
    )
    assert short_season["timestamp"].dt.strftime("%m-%d").tolist() == [
        "01-24",
        "01-25",
        "01-27",
        "01-28",
    ]


def test_backtest_scores_each_group_and_chooses_the_engine_for_the_first_origin():
    df = make_frame(
        "2026-01-01",
        "2026-01-29",
        {
            ("Chat", None, "total_amount"): lambda ix: MISSES[: len(ix)],
            ("TTS", None, "total_amount"): 3.0,
        },
    )
    scores = backtest(df, "total_amount", 2, folds=2, by="model_type", engine=Fan(width=0.0))
    assert list(scores.columns[:3]) == ["model_type", "model", "folds"]
    assert scores["model_type"].astype(str).tolist() == ["Chat", "TTS"]
    assert scores["mase"].iloc[0] == pytest.approx(3.0) and np.isnan(scores["mase"].iloc[1])
    assert np.isnan(scores["naive_mase"].iloc[1])  # a flat history: no seasonal error to scale by
    assert scores["mape"].tolist()[1] == 0.0 and scores["coverage_80"].tolist()[1] == 1.0
    detail = backtest(
        df, "total_amount", 2, folds=1, by="model_type", engine=Fan(width=0.0), detail=True
    )
    assert list(detail.columns[:3]) == ["fold", "step", "timestamp"]
    assert detail["model_type"].astype(str).tolist() == ["Chat", "Chat", "TTS", "TTS"]
    assert detail["yhat"].tolist() == [10.0, 10.0, 3.0, 3.0]


def test_backtest_scores_the_engine_for_the_history_at_its_first_origin():
    """Regression: the engine was chosen for ``len - horizon * folds`` buckets, as if the
    origins were a horizon apart; they are ``step`` apart (a season by default). 28 days, 2
    ahead, 2 folds a week apart: the first origin has 19 days (the message said 24). 50 days,
    14 ahead: 29 days at the first origin, enough for ETS (seasonal naive was scored, on "22")."""
    chosen = backtest(daily(MISSES), "total_amount", 2, folds=2)["model"].item()
    assert chosen.startswith("seasonal naive (season 7): 19 days of history; ETS needs 28;")
    df = make_frame("2026-01-01", "2026-02-20", {("Chat", None, "total_amount"): weekly(200)})
    assert backtest(df, "total_amount", "14D", folds=2)["model"].item().startswith("ETS(A,Ad,A)")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: backtest(daily(MISSES), "total_amount", 2, folds=0, engine=Fan()),
            "folds must be a whole number >= 1, not 0.",
        ),
        (
            lambda: backtest(daily(MISSES), "total_amount", 2, folds=True, engine=Fan()),
            "folds must be a whole number >= 1, not True.",
        ),
        (
            lambda: backtest(daily(MISSES), "total_amount", 2, folds=2.0, engine=Fan()),
            "folds must be a whole number >= 1, not 2.0.",
        ),
        (
            lambda: backtest(daily(MISSES), "total_amount", 2, folds=3, engine=Fan()),
            "3 folds of 2 buckets need more history than the 28 complete buckets in the frame; "
            "fetch a longer range or use fewer folds.",
        ),
        (
            lambda: month_end_landing(daily(MISSES), budget="lots", engine=Fan()),
            "budget must be a number, not 'lots'.",
        ),
        (
            lambda: month_end_landing(daily(MISSES), budget=True, engine=Fan()),
            "budget must be a number, not True.",
        ),
        (
            lambda: month_end_landing(daily(MISSES[:20], start="2026-01-05"), engine=Fan()),
            "the frame starts at 2026-01-05T00:00:00+08:00, after the month's start "
            "(2026-01-01T00:00:00+08:00); fetch from 2026-01-01 to know the month to date.",
        ),
        (
            lambda: backtest(daily(MISSES), "output_tokens", 2, engine=Fan()),
            "metric 'output_tokens' is not in the frame; it holds: total_amount.",
        ),
        (
            lambda: month_end_landing(daily(MISSES), metric="output_tokens", engine=Fan()),
            "metric 'output_tokens' is not in the frame; it holds: total_amount.",
        ),
        (
            lambda: backtest(COUNTS, "model_count", 2, engine=Fan()),
            NOT_ADDITIVE,
        ),
        (
            lambda: month_end_landing(COUNTS, metric="model_count", engine=Fan()),
            NOT_ADDITIVE,
        ),
    ],
)
def test_bad_backtests_and_landings_get_the_whole_message(call, message):
    with pytest.raises(QueryError) as err:
        call()
    assert str(err.value) == message


def test_a_landing_at_the_months_end_forecasts_nothing():
    """As of 1 February, January is over: its landing is what it spent, with no spread."""
    land = month_end_landing(daily([10.0] * 31), budget=310, engine=Fan()).iloc[0]
    assert land["month"] == "2026-01" and land["model"] == "the month is over: nothing to forecast"
    assert (land["actual_to_date"], land["forecast_remaining"], land["landing"]) == (310.0, 0, 310)
    assert (land["lo_95"], land["hi_95"]) == (310.0, 310.0)
    assert land["p_exceed_budget"] == 0.0  # landing exactly on the budget does not exceed it
    assert land["month_start"] == pd.Timestamp("2026-01-01", tz=TZ)
    assert land["as_of"] == land["forecast_start"] == pd.Timestamp("2026-02-01", tz=TZ)
    assert np.isnan(month_end_landing(daily([10.0] * 31), engine=Fan()).iloc[0]["budget"])


def test_backtest_errors_on_a_zero_day_are_left_out_of_the_percentages_quietly():
    """Actuals 10, 0 | 0, 10 against 10 | 0: the percentage error of a zero day is infinite (or
    0 / 0) and left out, without a numpy warning: mape (0 + 1) / 2, smape (0 + 2 + 2) / 3."""
    y = np.full(28, 10.0)
    y[[20, 25, 26]] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = backtest(daily(y), "total_amount", 2, folds=2, engine=Fan(width=0.0)).iloc[0]
    assert (row["mape"], row["smape"]) == pytest.approx((0.5, 4 / 3))


def test_backtest_folds_from_one_to_the_history_it_needs():
    """Origins need the engine's ``min_history`` and two seasons: 14 days for the fan, so 7
    ahead in 2 folds a week apart (origins 14 and 21) just fit in 28 days."""
    one = backtest(daily(MISSES), "total_amount", 2, folds=1, engine=Fan(width=0.0))
    assert one["folds"].item() == 1 and one["mape"].item() == pytest.approx(0.5)  # 10 vs 5
    assert backtest(daily(MISSES), "total_amount", 7, folds=2, engine=Fan())["folds"].item() == 2
    # as_of: the last fold ends where "now" is
    early = backtest(
        daily(MISSES), "total_amount", 2, folds=1, as_of="2026-01-21", engine=Fan(), detail=True
    )
    assert early["timestamp"].dt.strftime("%m-%d").tolist() == ["01-19", "01-20"]


def test_the_defaults_are_those_documented():
    """14 days ahead, 80 % and 95 % intervals, total_amount, 8 folds a week apart, and the
    paths of seed 0 (1000 of them for a forecast, 500 for a backtest, 2000 for a landing)."""
    df = daily(weekly(200)(pd.date_range("2026-01-01", periods=84, freq="D")))
    naive = SeasonalNaiveForecaster()
    fc = forecast(df, engine=naive)
    assert len(fc) == 14 and list(fc.columns[2:6]) == ["lo_80", "hi_80", "lo_95", "hi_95"]
    pd.testing.assert_frame_equal(
        fc, forecast(df, "total_amount", "14D", level=(80, 95), engine=naive, paths=1000, seed=0)
    )
    scores = backtest(df, engine=naive)
    assert (scores["folds"].item(), scores["horizon"].item()) == (8, 14)
    pd.testing.assert_frame_equal(
        scores,
        backtest(df, "total_amount", "14D", folds=8, step=7, engine=naive, paths=500, seed=0),
    )
    land = month_end_landing(df, engine=naive, budget=5000)
    pd.testing.assert_frame_equal(
        land,
        month_end_landing(
            df, metric="total_amount", level=(80, 95), engine=naive, budget=5000, paths=2000, seed=0
        ),
    )
