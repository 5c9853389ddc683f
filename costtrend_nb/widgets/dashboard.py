"""The three dashboards in tabs under one filter bar (:class:`Dashboard`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..lang import check_lang, t
from ._board import Board, load_frame, resolve_names
from ._controls import ERROR_CLASS, Busy, FilterBar, HasFilters
from ._source import DataSource, Loader
from .boards import ForecastOverlay, ModelTypeBreakdown, PeriodComparison

__all__ = ["Dashboard"]


class Dashboard(HasFilters):
    """The three dashboards in tabs, under one filter bar that every tab shares.

    A change of dates, granularity, model types or departments fetches once (split by model
    type, which serves every tab) and redraws the tab on show; a hidden tab is redrawn when
    it is shown. Each tab keeps its own view controls (metric, period, horizon, budget...).

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> dash = Dashboard(CostTrendClient.demo().fetch, start="2026-10-01", end="2026-11-21")
        >>> dash.tabs.titles, dash.source.requests
        (('Periods', 'Breakdown', 'Forecast'), 1)
        >>> [board.render_count for board in dash.boards]   # hidden tabs are drawn when shown
        [1, 0, 0]
        >>> dash.model_types.value = ("Chat", "TTS")        # fetched once, for every tab
        >>> dash.tabs.selected_index = 2
        >>> [board.render_count for board in dash.boards], dash.source.requests
        ([2, 0, 1], 2)
    """

    by = ("model_type",)

    def __init__(
        self,
        data: pd.DataFrame | Loader | DataSource,
        *,
        start: Any = None,
        end: Any = None,
        granularity: str = "daily",
        model_types: Sequence[str] = (),
        client_ids: Sequence[int] = (),
        metric: str = "total_amount",
        names: Mapping[int, str] | pd.DataFrame | None = None,
        lang: str = "en",
        budget: float | None = None,
    ) -> None:
        import ipywidgets as w

        self.lang = check_lang(lang)
        self.source = data if isinstance(data, DataSource) else DataSource(data)
        self.names = resolve_names(names, self.source)
        self.filters = FilterBar(
            self.source,
            self.names,
            start=start,
            end=end,
            granularity=granularity,
            model_types=model_types,
            client_ids=client_ids,
            lang=self.lang,
        )
        shared: dict[str, Any] = {
            "metric": metric,
            "names": self.names,
            "lang": self.lang,
            "filters": self.filters,
        }
        self.period_comparison = PeriodComparison(self.source, **shared)
        self.breakdown = ModelTypeBreakdown(self.source, **shared)
        self.forecast = ForecastOverlay(self.source, budget=budget, **shared)
        self.boards: list[Board] = [self.period_comparison, self.breakdown, self.forecast]
        self._busy = Busy(self.lang)
        self.busy = self._busy.widget
        self.status = w.HTML()
        self.status.add_class(ERROR_CLASS)
        self.last_frame: pd.DataFrame | None = None
        self.tabs = w.Tab(
            children=[b.widget for b in self.boards],
            titles=[t(b.tab_title, self.lang) for b in self.boards],
        )
        self.controls = self.filters.widget
        self.widget = w.VBox([self.filters.widget, self.busy, self.status, self.tabs])
        self.filters.observe(lambda change: self.refresh())
        self.tabs.observe(lambda change: self.visible.render_if_stale(), names="selected_index")
        self.refresh()

    @property
    def visible(self) -> Board:
        """The board of the tab shown."""
        return self.boards[self.tabs.selected_index or 0]

    @property
    def is_busy(self) -> bool:
        """True while the dashboard loads, or a tab draws."""
        return self._busy.active or any(board.is_busy for board in self.boards)

    def refresh(self) -> None:
        """Load the data for the filter bar's choices once, and redraw the tab shown (the
        others when they are shown)."""
        controls = [c for board in self.boards for c in board.view_controls]
        with self._busy.during([*self.filters.controls, *controls]):
            frame, error = load_frame(self.source, self.filters.choices(), self.by, self.lang)
            self.last_frame = frame
            for board in self.boards:
                board.use(frame, error)
            self.visible.render_if_stale()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
