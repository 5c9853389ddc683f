"""Forecasting engines behind one small interface.

A :class:`Forecaster` fits a history (equally spaced buckets, oldest first) and returns a
:class:`Fit` that simulates future paths. Engines work on a log scale when the series is
positive (spend grows and swings in proportion), and first replace outliers in the history
(an outage day, a launch spike) by their fitted value, so one bad day does not bend the
forecast; the intervals are then calibrated on backtests (see :mod:`.forecast`).

* :class:`ETSForecaster`: statsmodels ``ETSModel`` (additive errors, damped additive trend,
  additive season on the log scale) with weekly seasonality, for daily data;
* :class:`MSTLForecaster`: ``MSTL`` with 24 h and 168 h seasons, then ETS (damped trend) on
  the seasonally adjusted series, for hourly data;
* :class:`SeasonalNaiveForecaster`: the last season repeated, for histories too short for the
  others (its ``reason`` says why it was chosen).

Another engine (say, a gradient-boosting one behind an optional extra) only needs ``fit``.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import astuple, dataclass, field, is_dataclass
from typing import Any

import numpy as np

__all__ = [
    "ETSForecaster",
    "Fit",
    "Forecaster",
    "MSTLForecaster",
    "SeasonalNaiveForecaster",
    "Transform",
    "fit_once",
]

OUTLIER_Z = 5.0  # robust z-score beyond which a history point is treated as an outlier


@dataclass(frozen=True)
class Transform:
    """The scale a model works on: ``log(y + shift)`` for positive series, else ``y`` itself."""

    log: bool
    shift: float = 0.0

    @classmethod
    def for_series(cls, y: np.ndarray) -> Transform:
        """Log scale when no value is negative and some are positive."""
        if len(y) and y.min() >= 0 and (y > 0).any():
            shift = 0.0 if y.min() > 0 else 0.01 * float(np.median(y[y > 0]))
            return cls(True, shift)
        return cls(False)

    def forward(self, y: np.ndarray) -> np.ndarray:
        return np.log(y + self.shift) if self.log else np.asarray(y, dtype=float)

    def back(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z) - self.shift if self.log else z


@dataclass
class Fit:
    """A fitted model: simulate future paths on the model's scale, and describe the model."""

    simulate: Callable[[int, int, np.random.Generator], np.ndarray]  # -> (horizon, paths)
    transform: Transform
    description: str


class Forecaster(ABC):
    """Fit an equally spaced history; simulate its future.

    Attributes:
        season: the main season length in buckets (7 for days, 24 for hours).
        min_history: the fewest buckets the engine can fit.
    """

    season: int
    min_history: int

    @abstractmethod
    def fit(self, y: np.ndarray) -> Fit:
        """Fit the history ``y`` (oldest first)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(season={self.season})"


FITS_KEPT = 64  # fitted models remembered per process (a backtest of 8 folds needs 15)
_fits: OrderedDict[Hashable, Fit] = OrderedDict()
_fits_lock = threading.Lock()


def fit_once(engine: Forecaster, y: np.ndarray) -> Fit:
    """``engine.fit(y)``, remembered for the same engine settings and the same history.

    A fit is a pure function of both, and backtests refit the same histories again and again:
    each fold's calibration refits origins that the next folds use too (8 folds of 14 days
    need 15 distinct fits, not 56), and a forecast, its backtest and the month-end landing of
    one notebook share most of theirs. Engines that are not dataclasses are not remembered.

    Example:
        >>> y = np.arange(1.0, 40.0)
        >>> fit_once(SeasonalNaiveForecaster(), y) is fit_once(SeasonalNaiveForecaster(), y)
        True
    """
    if not is_dataclass(engine):
        return engine.fit(y)
    values = np.ascontiguousarray(y, dtype=float)
    digest = hashlib.blake2b(values.tobytes(), digest_size=16).digest()
    key = (type(engine), astuple(engine), len(values), digest)
    try:
        hash(key)
    except TypeError:  # settings a user's engine keeps in a list, say
        return engine.fit(values)
    with _fits_lock:
        if key in _fits:
            _fits.move_to_end(key)
            return _fits[key]
    fit = engine.fit(values)
    with _fits_lock:
        _fits[key] = fit
        while len(_fits) > FITS_KEPT:
            _fits.popitem(last=False)
    return fit


def _robust_clip(residual: np.ndarray) -> np.ndarray:
    """The residual with points beyond ``OUTLIER_Z`` robust z-scores pulled back to 0."""
    centre = np.median(residual)
    mad = np.median(np.abs(residual - centre)) / 0.6745
    if mad == 0:
        return residual
    return np.where(np.abs(residual - centre) > OUTLIER_Z * mad, centre, residual)


@dataclass
class ETSForecaster(Forecaster):
    """ETS(A,Ad,A) on the log scale with a weekly season, after replacing outliers."""

    season: int = 7
    min_history: int = 28
    history: int = 730  # the most recent buckets used

    def fit(self, y: np.ndarray) -> Fit:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel
        from statsmodels.tsa.seasonal import STL

        y = np.asarray(y[-self.history :], dtype=float)
        transform = Transform.for_series(y)
        z = transform.forward(y)
        with warnings.catch_warnings():  # statsmodels warns on many fits; backtests judge them
            warnings.simplefilter("ignore")
            parts = STL(z, period=self.season, robust=True).fit()
            fitted = parts.trend + parts.seasonal
            z = fitted + _robust_clip(z - fitted)
            model = ETSModel(
                z,
                error="add",
                trend="add",
                damped_trend=True,
                seasonal="add",
                seasonal_periods=self.season,
            ).fit(disp=False)

        def simulate(horizon: int, paths: int, rng: np.random.Generator) -> np.ndarray:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sims = model.simulate(
                    horizon,
                    repetitions=paths,
                    anchor="end",
                    random_errors=_errors(model, horizon, paths, rng),
                )
            return np.asarray(sims, dtype=float).reshape(horizon, paths)

        scale = "log" if transform.log else "linear"
        return Fit(simulate, transform, f"ETS(A,Ad,A) on {scale} scale, season {self.season}")


def _errors(model: Any, horizon: int, paths: int, rng: np.random.Generator) -> np.ndarray:
    """The normal errors ``simulate`` would draw itself, drawn here: statsmodels 0.14 names the
    generator argument ``random_state`` and 0.15 ``rng``, and an array works with both."""
    return rng.standard_normal((horizon, paths)) * np.sqrt(model.scale)


@dataclass
class MSTLForecaster(Forecaster):
    """MSTL (24 h and 168 h seasons) and ETS(A,Ad,N) on the seasonally adjusted series."""

    periods: tuple[int, ...] = (24, 168)
    season: int = 24
    min_history: int = 72
    history: int = 24 * 7 * 10  # ten weeks of hours
    windows: tuple[int, ...] = (101, 51)  # smooth seasonal shapes: stable week to week

    def fit(self, y: np.ndarray) -> Fit:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel
        from statsmodels.tsa.seasonal import MSTL

        y = np.asarray(y[-self.history :], dtype=float)
        periods = tuple(p for p in self.periods if len(y) > 2 * p)  # as MSTL keeps them
        windows = self.windows[: len(periods)]
        transform = Transform.for_series(y)
        z = transform.forward(y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parts = MSTL(z, periods=periods, windows=windows).fit()
            seasonal = np.asarray(parts.seasonal, dtype=float).reshape(len(z), len(periods))
            trend = np.asarray(parts.trend, dtype=float)
            adjusted = trend + _robust_clip(z - trend - seasonal.sum(axis=1))
            model = ETSModel(adjusted, error="add", trend="add", damped_trend=True).fit(disp=False)

        def simulate(horizon: int, paths: int, rng: np.random.Generator) -> np.ndarray:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sims = model.simulate(
                    horizon,
                    repetitions=paths,
                    anchor="end",
                    random_errors=_errors(model, horizon, paths, rng),
                )
            future = np.zeros(horizon)
            for j, p in enumerate(periods):
                future += np.tile(seasonal[-p:, j], horizon // p + 1)[:horizon]
            return np.asarray(sims, dtype=float).reshape(horizon, paths) + future[:, None]

        scale = "log" if transform.log else "linear"
        seasons = " and ".join(f"{p} h" for p in periods)
        return Fit(simulate, transform, f"MSTL ({seasons}) + ETS(A,Ad,N) on {scale} scale")


@dataclass
class SeasonalNaiveForecaster(Forecaster):
    """The last season repeated; errors bootstrapped from the history's seasonal differences."""

    season: int = 7
    min_history: int = 1
    reason: str = field(default="")

    def fit(self, y: np.ndarray) -> Fit:
        y = np.asarray(y, dtype=float)
        season = self.season if len(y) >= self.season else 1
        transform = Transform.for_series(y)
        z = transform.forward(y)
        last = z[-season:]
        diffs = z[season:] - z[:-season] if len(z) > season else np.zeros(1)

        def simulate(horizon: int, paths: int, rng: np.random.Generator) -> np.ndarray:
            steps = np.arange(horizon)
            base = np.tile(last, horizon // season + 1)[:horizon]
            seasons_ahead = np.sqrt(steps // season + 1)[:, None]
            noise = rng.choice(diffs - diffs.mean(), size=(horizon, paths)) if len(diffs) else 0.0
            return base[:, None] + seasons_ahead * noise

        name = f"seasonal naive (season {season})"
        return Fit(simulate, transform, f"{name}: {self.reason}" if self.reason else name)
