"""ipywidgets dashboards over the analysis and the plots.

Each dashboard takes a tidy frame, or a loader with the signature of
:meth:`CostTrendClient.fetch` (a client's bound ``fetch`` is one). A filter bar chooses the data
(dates, granularity, model types, departments): a change fetches again. The view controls
(metric, period, alignment, top, horizon, budget) only redraw from the data already loaded.
:class:`Dashboard` puts the three dashboards in tabs under one filter bar that they share.
``lang="zh"`` labels the controls and draws the figures in Chinese (:mod:`costtrend_nb.lang`).

While a change loads or draws, the board says "Updating…" (a widget with the CSS class
``costtrend-busy``, empty when idle; ``is_busy`` in Python) and disables the controls it
concerns; the figure is a PNG in an ``ipywidgets.Image`` (class ``costtrend-figure``) that
follows the notebook's width, and errors are shown in red (class ``costtrend-error``), never
raised into the void.

Every dashboard keeps ``last_frame``, ``last_figure`` and ``render_count``, so tests drive it by
setting a control's ``.value``, without a kernel.

Modules: :mod:`._source` (the data source), :mod:`._controls` (filter bar, multi-select, busy
indicator), :mod:`._memo` (results and fitted models kept between redraws), :mod:`._board`
(loading, busy state, drawing), :mod:`.boards` (the three dashboards), :mod:`.dashboard`.

Example (in Jupyter, ``board`` as a cell's last line shows the dashboard):
    >>> from costtrend_nb import CostTrendClient
    >>> board = PeriodComparison(CostTrendClient.demo().fetch, start="2026-10-01",
    ...                          end="2026-11-21")
    >>> board.period.value = "week"   # a view control: redrawn, not fetched again
    >>> board.render_count, board.source.requests, board.is_busy, board.busy.value
    (2, 1, False, '')
"""

from ._source import DataSource
from .boards import ForecastOverlay, ModelTypeBreakdown, PeriodComparison
from .dashboard import Dashboard

__all__ = ["Dashboard", "DataSource", "ForecastOverlay", "ModelTypeBreakdown", "PeriodComparison"]
