"""Plots of the tidy frame and of the analysis, in matplotlib.

Every function is ``f(data, *, ..., ax=None, **kwargs) -> Axes``: it draws on ``ax`` when given
(else on a new figure), returns the ``Axes``, and never calls ``plt.show()``. Buckets that are
still running or settling are drawn hatched or dashed, so nobody mistakes an unfinished hour or
day for a drop. An empty selection draws a "No data" message instead of failing.

One module per plot family (``trend``, ``periods``, ``breakdown``, ``drivers``, ``forecast``,
``anomalies``, ``showback``), what they share in ``_common``; every public name is re-exported here.

Example:
    >>> from costtrend_nb import CostTrendClient
    >>> df = CostTrendClient.demo().fetch("2026-11-01", "2026-11-21", granularity="daily",
    ...                                   by="model_type")
    >>> ax = plot_trend(df, by="model_type", kind="area")
    >>> ax.get_title()
    'Cost by model type'
"""

from __future__ import annotations

from ._common import INCOMPLETE, PARTIAL_GID, Names, notes_missing_series
from .anomalies import plot_anomalies
from .breakdown import plot_breakdown
from .drivers import plot_drivers
from .forecast import plot_forecast
from .periods import plot_period_overlay
from .showback import plot_allocation, plot_rollup, plot_unit_costs
from .trend import plot_trend

__all__ = [
    "INCOMPLETE",
    "PARTIAL_GID",
    "Names",
    "notes_missing_series",
    "plot_allocation",
    "plot_anomalies",
    "plot_breakdown",
    "plot_drivers",
    "plot_forecast",
    "plot_period_overlay",
    "plot_rollup",
    "plot_trend",
    "plot_unit_costs",
]
