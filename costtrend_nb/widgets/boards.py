"""The three dashboards: periods compared, the model-type breakdown, and the forecast."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..analysis import forecast, month_end_landing
from ..analysis._frame import bucket_freq
from ..lang import resolve_lang, t
from ..plot import plot_breakdown, plot_drivers, plot_forecast, plot_period_overlay
from ..plot.forecast import BUDGET_HEADROOM, draw_budget
from ..style import style_context
from ._board import Board, Panel, cleared
from ._controls import LABELS, toggle_layout
from ._memo import FrameMemo

__all__ = ["ForecastOverlay", "ModelTypeBreakdown", "PeriodComparison", "parse_budget"]

PERIODS = ["day", "week", "month", "quarter", "year"]


def _periods(lang: str) -> list[tuple[str, str]]:
    return [(t(p.title(), lang), p) for p in PERIODS]


class PeriodComparison(Board):
    """This period against the last, like for like, and what drove the change.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-10-01", "2026-11-21", granularity="daily",
        ...                                   by="model_type")
        >>> board = PeriodComparison(df)
        >>> " ".join(board.last_figure.axes[1].get_title().split())
        'What drove the change in cost (+¥3,428)'
        >>> board.period.value = "week"
        >>> board.last_figure.axes[0].get_title(), board.render_count
        ('Cost: 2026-W47 against the period before', 2)
    """

    title = "Period over period"
    tab_title = "Periods"  # short: a tab cuts titles past about 140 px
    by = ("model_type",)
    width_ratios = (3.0, 2.0)

    def _extra_controls(self) -> list[Any]:
        import ipywidgets as w

        lang = self.lang
        self.period = w.Dropdown(
            options=_periods(lang), value="month", description=t("Period", lang), style=LABELS
        )
        self.align = w.ToggleButtons(
            options=[(t("Calendar", lang), "calendar"), (t("Weekday", lang), "weekday")],
            value="calendar",
            description=t("Align", lang),
            style={**LABELS, "button_width": "auto"},
            layout=toggle_layout(),
        )
        return [self.period, self.align]

    def _panels(self, frame: pd.DataFrame) -> list[Panel]:
        metric, period, align, lang = (
            self.metric.value,
            self.period.value,
            self.align.value,
            self.lang,
        )

        def overlay(ax: Any) -> None:
            plot_period_overlay(frame, metric=metric, period=period, align=align, lang=lang, ax=ax)

        def change(ax: Any) -> None:
            if metric == "total_amount" and (frame["metric"] == "total_amount").any():
                plot_drivers(
                    frame, by="model_type", period=period, ax=ax, names=self.names, lang=lang
                )
            else:
                plot_breakdown(
                    frame, by="model_type", metric=metric, period=period, lang=lang, ax=ax
                )

        return [  # another alignment keeps the overlay's shape: tried in the kept layout
            Panel((metric, period, align), cleared(overlay), shape=(metric, period)),
            Panel((metric, period), cleared(change), shape=(metric, period)),
        ]


class ModelTypeBreakdown(Board):
    """Who spends: the latest period by model type, and shares over time.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-10-01", "2026-11-21", granularity="daily",
        ...                                   by="model_type")
        >>> board = ModelTypeBreakdown(df)
        >>> board.top.value = 4
        >>> [ax.get_title() for ax in board.last_figure.axes][1:], board.render_count
        (['Share of cost by model type'], 2)
    """

    title = "Model-type breakdown"
    tab_title = "Breakdown"
    by = ("model_type",)

    def _extra_controls(self) -> list[Any]:
        import ipywidgets as w

        lang = self.lang
        self.period = w.Dropdown(
            options=_periods(lang), value="month", description=t("Period", lang), style=LABELS
        )
        self.top = w.IntSlider(
            value=8,
            min=3,
            max=13,
            description=t("Top", lang),
            continuous_update=False,
            style=LABELS,
        )
        return [self.period, self.top]

    def _panels(self, frame: pd.DataFrame) -> list[Panel]:
        metric, period, top, lang = self.metric.value, self.period.value, self.top.value, self.lang
        freq = "W-MON" if period in ("month", "quarter", "year") else "D"

        def latest(ax: Any) -> None:
            plot_breakdown(
                frame, by="model_type", metric=metric, period=period, top=top, lang=lang, ax=ax
            )

        def shares(ax: Any) -> None:
            plot_breakdown(
                frame,
                by="model_type",
                metric=metric,
                kind="share",
                freq=freq,
                top=top,
                lang=lang,
                ax=ax,
            )

        return [  # more or fewer bars keep each panel's shape: tried in the kept layout
            Panel((metric, period, top), cleared(latest), shape=(metric, period)),
            Panel((metric, freq, top), cleared(shares), shape=(metric, freq)),
        ]


def parse_budget(text: Any, lang: str = "en") -> float | None:
    """The budget typed in yuan (``"80000"``, ``"¥80,000"``), or ``None`` when empty.

    Raises:
        ValueError: for text that is not an amount above 0 (shown in the dashboard).

    Example:
        >>> parse_budget("¥80,000"), parse_budget(" "), parse_budget(75000)
        (80000.0, None, 75000.0)
    """
    if text is None:
        return None
    cleaned = str(text).replace("¥", "").replace(",", "").replace(" ", "").strip()
    if not cleaned:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError(
            t(
                "The budget must be an amount in yuan above 0, such as 80000, or empty: "
                "not {text!r}.",
                lang,
                text=str(text),
            )
        )
    return value


def _budget_text(budget: Any) -> str:
    """A budget as the text box shows it: ``80000``, ``1234567.5``, or empty.

    Example:
        >>> _budget_text(80_000), _budget_text(1_234_567.5), _budget_text(None)
        ('80000', '1234567.5', '')
    """
    if budget is None:
        return ""
    if isinstance(budget, str):
        return budget
    return f"{float(budget):.2f}".rstrip("0").rstrip(".")


class ForecastOverlay(Board):
    """Actuals and forecast with 80 % and 95 % bands, and where the month will land.

    The budget (in yuan; empty by default) draws a line with the probability of going over
    it, on cost only. Fitted models are kept (``analysis.engines.fit_once``): a new budget
    refits nothing, a horizon one week further refits one calibration fold.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-11-01", "2026-11-21", granularity="daily")
        >>> board = ForecastOverlay(df, budget=80_000)
        >>> [ax.get_title() for ax in board.last_figure.axes]
        ['Cost: forecast, 14 days ahead', 'Cost: where 2026-11 will land']
        >>> board.budget.value = "85000"   # the line and P(over budget) only: nothing refitted
        >>> board.render_count
        2
    """

    title = "Forecast"
    tab_title = "Forecast"
    width_ratios = (3.0, 2.0)

    def __init__(self, data: Any, *, budget: float | None = None, **kwargs: Any) -> None:
        self._budget_value = budget
        self._results = FrameMemo(64)
        self._budget_artists: list[Any] = []
        self._month_top = 0.0
        super().__init__(data, **kwargs)

    def _extra_controls(self) -> list[Any]:
        import ipywidgets as w

        lang = self.lang
        self.horizon = w.IntSlider(
            value=14,
            min=7,
            max=56,
            step=7,
            description=t("Horizon (days)", lang),
            continuous_update=False,
            style=LABELS,
        )
        self.budget = w.Text(
            value=_budget_text(self._budget_value),
            placeholder=t("no budget", lang),
            description=t("Budget ¥", lang),
            continuous_update=False,
            style=LABELS,
        )
        return [self.horizon, self.budget]

    @property
    def budget_value(self) -> float | None:
        """The budget in yuan, or ``None`` when empty (raises ``ValueError`` on bad text)."""
        return parse_budget(self.budget.value, self.lang)

    def forecast_frame(self, frame: pd.DataFrame, metric: str, horizon: int) -> pd.DataFrame:
        """The forecast ``horizon`` days ahead, kept per (frame, metric, horizon)."""

        def compute() -> pd.DataFrame:
            freq = bucket_freq(frame)
            steps: Any = f"{horizon}D" if freq == "D" else horizon * 24
            return forecast(frame, metric, steps)

        return self._results.get(frame, ("forecast", metric, horizon), compute)

    def over_budget(self, frame: pd.DataFrame, metric: str, budget: float) -> float:
        """The probability that the month lands above ``budget`` (its paths are kept)."""

        def compute() -> float:
            land = month_end_landing(frame, metric=metric, budget=budget)
            return float(land["p_exceed_budget"].iloc[0])

        return self._results.get(frame, ("over budget", metric, budget), compute)

    def _panels(self, frame: pd.DataFrame) -> list[Panel]:
        metric, horizon, lang = self.metric.value, self.horizon.value, self.lang
        budget = self.budget_value if metric == "total_amount" else None

        def ahead(ax: Any) -> None:
            fc = self.forecast_frame(frame, metric, horizon)
            steps: Any = len(fc)
            plot_forecast(frame, metric=metric, horizon=steps, forecast_frame=fc, lang=lang, ax=ax)

        def month(ax: Any, previous: Any) -> None:
            if previous is None or previous[0] != metric:  # a new month view: drawn afresh
                if previous is not None:
                    ax.clear()
                self._budget_artists = []
                plot_forecast(frame, metric=metric, view="month", lang=lang, ax=ax)
                self._month_top = ax.get_ylim()[1]
            self._draw_budget(frame, metric, budget, ax)

        return [  # a horizon or a budget keeps the shapes: tried in the kept layout
            Panel((metric, horizon), cleared(ahead), shape=metric),
            Panel((metric, budget), month, shape=metric),
        ]

    def _draw_budget(self, frame: pd.DataFrame, metric: str, budget: float | None, ax: Any) -> None:
        """The budget line labelled with P(over), with headroom above it; or none."""
        lang = resolve_lang(self.lang)  # as the plots draw: English where no font draws Chinese
        for artist in self._budget_artists:
            artist.remove()
        self._budget_artists = []
        top = self._month_top
        with style_context(lang):  # the label takes the plots' fonts
            if budget is not None:
                p = self.over_budget(frame, metric, budget)
                self._budget_artists = draw_budget(ax, budget, p, lang)
                top = max(top, budget * BUDGET_HEADROOM)
            ax.set_ylim(0, top)
