"""ipywidgets dashboards over the analysis and the plots.

Each dashboard takes a tidy frame, or a loader with the signature of
:meth:`CostTrendClient.fetch` (a client's bound ``fetch`` is one), and shows controls for the
date range, granularity, model types, departments and metric, plus its own (period, horizon,
budget); ``lang="zh"`` draws the figures in Chinese (:mod:`costtrend_nb.lang`; the controls
stay English). Controls that change the data (dates, granularity, model types, departments) fetch
again; the others (metric, period, horizon...) only redraw from the data already loaded. A
fetch error is shown in the dashboard, never raised into the void.

Every dashboard keeps ``last_frame``, ``last_figure`` and ``render_count``, so tests drive it by
setting a control's ``.value``, without a kernel.

Example (in Jupyter, ``board`` as a cell's last line shows the dashboard; outside a kernel
each drawing would print the figure's repr, so the doctests capture it):
    >>> from IPython.utils.capture import capture_output
    >>> from costtrend_nb import CostTrendClient
    >>> with capture_output():
    ...     board = PeriodComparison(CostTrendClient.demo().fetch, start="2026-10-01",
    ...                              end="2026-11-21")
    ...     board.period.value = "week"   # a view control: redrawn, not fetched again
    >>> board.render_count, board.source.requests
    (2, 1)
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from .analysis._frame import bucket_freq
from .catalogue import METRICS, metric_info, sort_metrics
from .errors import CostTrendError
from .lang import check_lang
from .plot import (
    plot_breakdown,
    plot_drivers,
    plot_forecast,
    plot_period_overlay,
)
from .query import DEFAULT_TZ, MODEL_TYPES
from .style import group_label
from .tidy import to_daily

__all__ = ["Dashboard", "DataSource", "ForecastOverlay", "ModelTypeBreakdown", "PeriodComparison"]

Loader = Callable[..., pd.DataFrame]
PERIOD_OPTIONS = [
    ("Day", "day"),
    ("Week", "week"),
    ("Month", "month"),
    ("Quarter", "quarter"),
    ("Year", "year"),
]


class DataSource:
    """A tidy frame, or a loader with ``fetch``'s signature, and the frames already loaded.

    ``requests`` counts calls to the loader; the same arguments are served from a small cache,
    so dashboards sharing a source do not fetch twice.
    """

    def __init__(self, data: pd.DataFrame | Loader, *, cache_size: int = 8) -> None:
        if isinstance(data, pd.DataFrame):
            self.frame: pd.DataFrame | None = data
            self.loader: Loader | None = None
        elif callable(data):
            self.frame, self.loader = None, data
        else:
            raise TypeError("data must be a tidy DataFrame or a loader such as client.fetch")
        self.requests = 0
        self._cache: OrderedDict[tuple[Any, ...], pd.DataFrame] = OrderedDict()
        self._cache_size = cache_size
        self._names: dict[int, str] | None = None

    def names(self) -> dict[int, str]:
        """Department names, asked once of the client behind a bound ``fetch`` (else none)."""
        if self._names is None:
            self._names = {}
            client = getattr(self.loader, "__self__", None)
            if client is not None and hasattr(client, "departments"):
                try:
                    found = client.departments()
                except CostTrendError:
                    found = None
                if found is not None:
                    pairs = zip(found["id"], found["name"], strict=True)
                    self._names = {int(i): str(n) for i, n in pairs}
        return self._names

    @property
    def tz(self) -> str:
        """The time zone of the frame (``Asia/Shanghai`` for a loader, as ``fetch`` defaults)."""
        return str(self.frame["timestamp"].dt.tz) if self.frame is not None else DEFAULT_TZ

    def span(self) -> tuple[dt.date, dt.date]:
        """The default date range: the frame's, or the last 90 days for a loader."""
        if self.frame is not None and len(self.frame):
            first = self.frame["timestamp"].min().date()
            return first, self.frame["timestamp"].max().date() + dt.timedelta(days=1)
        today = pd.Timestamp.now(tz=self.tz).date()
        return today - dt.timedelta(days=90), today + dt.timedelta(days=1)

    def granularities(self) -> list[str]:
        """What the source can give: daily always; hourly from a loader or an hourly frame."""
        if self.frame is not None and len(self.frame) and bucket_freq(self.frame) == "D":
            return ["daily"]
        return ["hourly", "daily"]

    def model_types(self) -> list[str]:
        """The model types one may select."""
        if self.frame is not None:
            return [str(t) for t in self.frame["model_type"].cat.categories if t != "all"]
        return list(MODEL_TYPES)

    def departments(self) -> list[int]:
        """The department ids one may select (a frame's, when it is split by department)."""
        if self.frame is not None:
            return sorted(int(i) for i in self.frame["client_id"].dropna().unique())
        return []

    def load(
        self,
        start: dt.date,
        end: dt.date,
        *,
        granularity: str,
        model_types: Sequence[str] | None,
        client_ids: Sequence[int] | None,
        by: Sequence[str] = (),
    ) -> pd.DataFrame:
        """The data for these choices: fetched (once) from the loader, or cut from the frame."""
        if self.loader is not None:
            key = (
                start,
                end,
                granularity,
                tuple(model_types or ()),
                tuple(client_ids or ()),
                tuple(by),
            )
            if key not in self._cache:
                self.requests += 1
                self._cache[key] = self.loader(
                    start,
                    end,
                    granularity=granularity,
                    model_types=model_types or None,
                    client_ids=list(client_ids) if client_ids else None,
                    by=list(by),
                )
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            self._cache.move_to_end(key)
            return self._cache[key]
        assert self.frame is not None
        df = self.frame
        tz = self.tz
        lo, hi = pd.Timestamp(start, tz=tz), pd.Timestamp(end, tz=tz)
        df = df[(df["timestamp"] >= lo) & (df["timestamp"] < hi)]
        if model_types:
            df = df[df["model_type"].astype(str).isin(model_types)]
        if client_ids:
            df = df[df["client_id"].isin(list(client_ids))]
        if granularity == "daily" and len(df) and bucket_freq(df) == "h":
            df = to_daily(df)
        if model_types or client_ids:  # the figures name the filters from the query
            query = dict(df.attrs.get("query") or {})
            query["model_types"] = list(model_types) if model_types else query.get("model_types")
            query["client_ids"] = list(client_ids) if client_ids else query.get("client_ids")
            df.attrs = {**df.attrs, "query": query}
        return df


class _Board:
    """The controls, loading, error display and rendering shared by the dashboards."""

    title = ""
    by: tuple[str, ...] = ()
    figsize = (11.0, 4.2)

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
    ) -> None:
        import ipywidgets as w

        self.lang = check_lang(lang)  # of the figures (English where no font draws Chinese)
        self.source = data if isinstance(data, DataSource) else DataSource(data)
        self.names = _names(names, self.source)
        first, last = self.source.span()
        granularities = self.source.granularities()
        if granularity not in granularities:
            granularity = granularities[0]
        self.start = w.DatePicker(description="From", value=_date(start) or first)
        self.end = w.DatePicker(description="To (excl.)", value=_date(end) or last)
        self.granularity = w.ToggleButtons(
            options=[(g.title(), g) for g in granularities],
            value=granularity,
            description="Buckets",
        )
        self.model_types = w.SelectMultiple(
            options=self.source.model_types(),
            value=tuple(model_types),
            rows=5,
            description="Model types",
        )
        departments = self.source.departments() or sorted(self.names)
        self.departments = w.SelectMultiple(
            options=[(group_label(i, self.names), i) for i in departments],
            value=tuple(client_ids),
            rows=5,
            description="Departments",
        )
        self.metric = w.Dropdown(options=self._metric_options(), value=metric, description="Metric")
        self.output = w.Output()
        self.status = w.HTML()
        self.last_frame: pd.DataFrame | None = None
        self.last_figure: Any = None
        self.render_count = 0
        self.error: str | None = None
        data_controls = [self.start, self.end, self.granularity, self.model_types, self.departments]
        view_controls = [self.metric, *self._extra_controls()]
        self.controls = w.VBox(
            [
                w.HBox([self.start, self.end, self.granularity]),
                w.HBox([self.model_types, self.departments]),
                w.HBox(view_controls),
            ]
        )
        self.widget = w.VBox(
            [w.HTML(f"<b>{self.title}</b>"), self.controls, self.status, self.output]
        )
        for control in data_controls:
            control.observe(self._on_data, names="value")
        for control in view_controls:
            control.observe(self._on_view, names="value")
        self.refresh()

    # -- what subclasses add ------------------------------------------------------------------

    def _extra_controls(self) -> list[Any]:
        return []

    def _draw(self, frame: pd.DataFrame, fig: Any) -> None:
        raise NotImplementedError

    # -- behaviour ---------------------------------------------------------------------------

    def _metric_options(self) -> list[tuple[str, str]]:
        keys = (
            METRICS
            if self.source.frame is None
            else sort_metrics(map(str, self.source.frame["metric"].unique()))
        )
        return [(metric_info(k).label, k) for k in keys if metric_info(k).additive]

    def _on_data(self, change: Any) -> None:
        self.refresh()

    def _on_view(self, change: Any) -> None:
        self.render()

    def refresh(self) -> None:
        """Load the data for the current controls (fetching if needed), then draw."""
        self.error = None
        if self.start.value is None or self.end.value is None or self.start.value >= self.end.value:
            self._show_error("Choose a start date before the end date.")
            return
        try:
            self.last_frame = self.source.load(
                self.start.value,
                self.end.value,
                granularity=self.granularity.value,
                model_types=list(self.model_types.value),
                client_ids=list(self.departments.value),
                by=self.by,
            )
        except CostTrendError as err:
            self._show_error(f"Could not load the data: {type(err).__name__}: {err}")
            return
        self.render()

    def render(self) -> None:
        """Draw from the data already loaded (no request)."""
        import matplotlib.pyplot as plt
        from IPython.display import display

        if self.last_frame is None:
            return
        fig = plt.figure(figsize=self.figsize, layout="constrained")
        try:
            self._draw(self.last_frame, fig)
        except (CostTrendError, ValueError) as err:
            plt.close(fig)
            self._show_error(f"Cannot draw this selection: {err}")
            return
        self.error = None  # a successful draw clears the last one's error
        self.status.value = ""
        with self.output:
            self.output.clear_output(wait=True)
            display(fig)
        plt.close(fig)
        self.last_figure = fig
        self.render_count += 1

    def _show_error(self, message: str) -> None:
        from html import escape

        self.error = message
        self.status.value = f'<span style="color:#B00020">{escape(message)}</span>'
        self.output.clear_output()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def _date(value: Any) -> dt.date | None:
    return None if value is None else pd.Timestamp(value).date()


def _names(names: Any, source: DataSource) -> dict[int, str]:
    if isinstance(names, pd.DataFrame):
        return {int(i): str(n) for i, n in zip(names["id"], names["name"], strict=True)}
    if names is not None:
        return {int(k): str(v) for k, v in names.items()}
    return source.names()


class PeriodComparison(_Board):
    """This period against the last, like for like, and what drove the change.

    Example:
        >>> from IPython.utils.capture import capture_output
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-10-01", "2026-11-21", granularity="daily",
        ...                                   by="model_type")
        >>> with capture_output():
        ...     board = PeriodComparison(df)
        >>> " ".join(board.last_figure.axes[1].get_title().split())
        'What drove the change in cost (+¥3,428)'
        >>> with capture_output():
        ...     board.period.value = "week"
        >>> board.last_figure.axes[0].get_title()
        'Cost: 2026-W47 against the period before'
    """

    title = "Period over period"
    by = ("model_type",)

    def _extra_controls(self) -> list[Any]:
        import ipywidgets as w

        self.period = w.Dropdown(options=PERIOD_OPTIONS, value="month", description="Period")
        self.align = w.ToggleButtons(
            options=[("Calendar", "calendar"), ("Weekday", "weekday")],
            value="calendar",
            description="Align",
        )
        return [self.period, self.align]

    def _draw(self, frame: pd.DataFrame, fig: Any) -> None:
        left, right = fig.subplots(1, 2, width_ratios=[3, 2])
        plot_period_overlay(
            frame,
            metric=self.metric.value,
            period=self.period.value,
            align=self.align.value,
            lang=self.lang,
            ax=left,
        )
        if self.metric.value == "total_amount" and (frame["metric"] == "total_amount").any():
            plot_drivers(
                frame,
                by="model_type",
                period=self.period.value,
                ax=right,
                names=self.names,
                lang=self.lang,
            )
        else:
            plot_breakdown(
                frame,
                by="model_type",
                metric=self.metric.value,
                period=self.period.value,
                lang=self.lang,
                ax=right,
            )


class ModelTypeBreakdown(_Board):
    """Who spends: the latest period by model type, and shares over time.

    Example:
        >>> from IPython.utils.capture import capture_output
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-10-01", "2026-11-21", granularity="daily",
        ...                                   by="model_type")
        >>> with capture_output():
        ...     board = ModelTypeBreakdown(df)
        ...     board.top.value = 4
        >>> [ax.get_title() for ax in board.last_figure.axes][1:], board.render_count
        (['Share of cost by model type'], 2)
    """

    title = "Model-type breakdown"
    by = ("model_type",)

    def _extra_controls(self) -> list[Any]:
        import ipywidgets as w

        self.period = w.Dropdown(options=PERIOD_OPTIONS, value="month", description="Period")
        self.top = w.IntSlider(value=8, min=3, max=13, description="Top", continuous_update=False)
        return [self.period, self.top]

    def _draw(self, frame: pd.DataFrame, fig: Any) -> None:
        left, right = fig.subplots(1, 2)
        plot_breakdown(
            frame,
            by="model_type",
            metric=self.metric.value,
            period=self.period.value,
            top=self.top.value,
            lang=self.lang,
            ax=left,
        )
        freq = "W-MON" if self.period.value in ("month", "quarter", "year") else "D"
        plot_breakdown(
            frame,
            by="model_type",
            metric=self.metric.value,
            kind="share",
            freq=freq,
            top=self.top.value,
            lang=self.lang,
            ax=right,
        )


class ForecastOverlay(_Board):
    """Actuals and forecast with 80 % and 95 % bands, and where the month will land.

    Example:
        >>> from IPython.utils.capture import capture_output
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-11-01", "2026-11-21", granularity="daily")
        >>> with capture_output():
        ...     board = ForecastOverlay(df, budget=80_000)
        >>> [ax.get_title() for ax in board.last_figure.axes]
        ['Cost: forecast, 14 days ahead', 'Cost: where 2026-11 will land']
    """

    title = "Forecast"

    def __init__(self, data: Any, *, budget: float | None = None, **kwargs: Any) -> None:
        self._budget_value = budget
        super().__init__(data, **kwargs)

    def _extra_controls(self) -> list[Any]:
        import ipywidgets as w

        self.horizon = w.IntSlider(
            value=14, min=1, max=60, description="Horizon", continuous_update=False
        )
        self.budget = w.FloatText(
            value=self._budget_value or 0.0, description="Budget ¥", continuous_update=False
        )
        return [self.horizon, self.budget]

    def _draw(self, frame: pd.DataFrame, fig: Any) -> None:
        left, right = fig.subplots(1, 2, width_ratios=[3, 2])
        hourly = bucket_freq(frame) == "h"
        horizon = f"{self.horizon.value}D" if not hourly else self.horizon.value * 24
        metric, lang = self.metric.value, self.lang
        plot_forecast(frame, metric=metric, horizon=horizon, lang=lang, ax=left)
        budget = self.budget.value if self.budget.value and self.budget.value > 0 else None
        plot_forecast(frame, metric=metric, view="month", budget=budget, lang=lang, ax=right)


class Dashboard:
    """The three dashboards in tabs, sharing one data source (so one fetch serves them all).

    Example:
        >>> import warnings
        >>> from IPython.utils.capture import capture_output
        >>> from costtrend_nb import CostTrendClient
        >>> with capture_output(), warnings.catch_warnings(action="ignore"):
        ...     dash = Dashboard(CostTrendClient.demo().fetch, start="2026-11-01",
        ...                      end="2026-11-21")
        >>> dash.tabs.titles, dash.source.requests   # one fetch per split, shared by the tabs
        (('Period over period', 'Model-type breakdown', 'Forecast'), 2)
        >>> [board.render_count for board in dash.boards]   # a month needs October: not drawn
        [0, 1, 1]
        >>> dash.period_comparison.status.value[28:54]
        'Cannot draw this selection'
        >>> with capture_output():
        ...     dash.period_comparison.period.value = "week"
        >>> [board.render_count for board in dash.boards], dash.source.requests
        ([1, 1, 1], 2)
    """

    def __init__(self, data: pd.DataFrame | Loader | DataSource, **kwargs: Any) -> None:
        import ipywidgets as w

        self.source = data if isinstance(data, DataSource) else DataSource(data)
        budget = kwargs.pop("budget", None)
        self.period_comparison = PeriodComparison(self.source, **kwargs)
        self.breakdown = ModelTypeBreakdown(self.source, **kwargs)
        self.forecast = ForecastOverlay(self.source, budget=budget, **kwargs)
        self.boards = [self.period_comparison, self.breakdown, self.forecast]
        self.tabs = w.Tab(children=[b.widget for b in self.boards])
        for i, board in enumerate(self.boards):
            self.tabs.set_title(i, board.title)

    def refresh(self) -> None:
        """Reload and redraw every tab."""
        for board in self.boards:
            board.refresh()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.tabs)
