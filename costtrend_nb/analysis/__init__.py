"""Analysis: tidy frame in, frame out; no I/O, no plotting.

Example:
    >>> from costtrend_nb import CostTrendClient
    >>> from costtrend_nb.analysis import compare_periods
    >>> df = CostTrendClient.demo().fetch("2026-10-01", "2026-11-21", granularity="daily")
    >>> compare_periods(df, "total_amount", "month")["period"].tolist()
    ['2026-11']
"""

from .anomalies import detect_anomalies
from .breakdown import OTHER, breakdown, share_over_time
from .drivers import VOLUME, explain_change, volume_of
from .engines import ETSForecaster, Forecaster, MSTLForecaster, SeasonalNaiveForecaster
from .forecast import backtest, choose_engine, forecast, month_end_landing
from .periods import align_periods, compare_periods, period_pairs
from .showback import (
    NO_DEPARTMENT,
    TOTAL,
    UNIT_COST_SCALE,
    allocation,
    price_changes,
    rollup,
    unit_cost_scale,
    unit_costs,
)

__all__ = [
    "NO_DEPARTMENT",
    "OTHER",
    "TOTAL",
    "UNIT_COST_SCALE",
    "VOLUME",
    "ETSForecaster",
    "Forecaster",
    "MSTLForecaster",
    "SeasonalNaiveForecaster",
    "align_periods",
    "allocation",
    "backtest",
    "breakdown",
    "choose_engine",
    "compare_periods",
    "detect_anomalies",
    "explain_change",
    "forecast",
    "month_end_landing",
    "period_pairs",
    "price_changes",
    "rollup",
    "share_over_time",
    "unit_cost_scale",
    "unit_costs",
    "volume_of",
]
