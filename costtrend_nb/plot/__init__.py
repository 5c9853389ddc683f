"""Plots of the tidy frame and of the analysis, in matplotlib.

Every function is ``f(data, *, ..., ax=None, **kwargs) -> Axes``: it draws on ``ax`` when given
(else on a new figure), returns the ``Axes``, and never calls ``plt.show()``. Buckets that are
still running or settling are drawn hatched or dashed, so nobody mistakes an unfinished hour or
day for a drop. An empty or all-zero selection draws "No spend in this selection" instead of an
axis of ¥0 ticks. Each title says the finding, and of what when the frame is filtered; the grey
subtitle under it the unit and the scope (:func:`scope_text`); :func:`figure_alt_text` turns
both into a figure's alt text. ``lang="zh"`` draws titles, labels, legends and dates in Chinese
with a CJK font found on the system, or in English, warning once, where there is none
(:mod:`costtrend_nb.lang`).

One module per plot family (``trend``, ``periods``, ``breakdown``, ``drivers``, ``forecast``,
``anomalies``, ``showback``), what they share in ``_common`` (titles and scope in ``_titles``,
measuring text in ``_text``); every public name is re-exported here.

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
from ._titles import figure_alt_text, scope_text
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
    "figure_alt_text",
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
    "scope_text",
]
