"""What every dashboard shares: loading, the busy state, errors, and drawing into an image.

A board draws its figure into an ``ipywidgets.Image`` (a PNG rendered once at ``DPI``, no
second "tight" pass), which follows the notebook's width. The figure is kept between redraws:
each panel (axes) is redrawn only when what it shows changed (see :class:`Panel`) and only
its part of the image is painted again, in the layout kept from the last whole drawing (see
:class:`~costtrend_nb.widgets._paint.Painter`), and the image of each view is kept per frame, so
going back to a view shows it at once. Boards draw unhinted text
(:func:`~costtrend_nb.style.drawing_context`): a third less time for the same sharpness.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from contextlib import suppress
from html import escape
from typing import Any, NamedTuple

import pandas as pd

from ..catalogue import METRICS, metric_info, sort_metrics
from ..errors import CostTrendError
from ..lang import check_lang, t
from ..style import drawing_context
from ._controls import ERROR_CLASS, FIGURE_CLASS, LABELS, Busy, FilterBar, HasFilters
from ._memo import FrameMemo
from ._paint import Painter
from ._source import DataSource, Loader

__all__ = ["DPI", "Board", "Panel", "cleared", "load_frame", "resolve_names"]

DPI = 144  # 1.5 pixels per CSS pixel at 96 per inch: crisp, and a third of 2x's pixels to fill
IMAGES_KEPT = 24  # rendered views kept per board
_FRESH, _HALF_DRAWN = object(), object()  # the state of an axes not drawn with any key


class Panel(NamedTuple):
    """One axes of a board's figure: ``draw(ax, previous)`` runs when ``key`` changes.

    ``previous`` is the key the axes was last drawn with (``None`` for a fresh axes), so a draw
    may update only what changed (the budget line) instead of clearing the axes. ``shape`` is
    the part of the key that changes what the panel looks like (another kind of chart, other
    legends and tick labels): when it changes the figure is laid out afresh; when only the
    rest changes (more bars, another horizon) the panel is first tried in the kept layout.
    """

    key: Hashable
    draw: Callable[[Any, Hashable | None], None]
    shape: Hashable = None


def resolve_names(names: Any, source: DataSource) -> dict[int, str]:
    """Department names: given as a frame (``client.departments()``) or a mapping, else the
    source's."""
    if isinstance(names, pd.DataFrame):
        return {int(i): str(n) for i, n in zip(names["id"], names["name"], strict=True)}
    if names is not None:
        return {int(k): str(v) for k, v in names.items()}
    return source.names()


def load_frame(
    source: DataSource, choices: Mapping[str, Any], by: Sequence[str], lang: str
) -> tuple[pd.DataFrame | None, str | None]:
    """The frame for the filter bar's ``choices``, or ``None`` and the message to show."""
    start, end = choices["start"], choices["end"]
    if start is None or end is None or start >= end:
        return None, t("Choose a start date before the end date.", lang)
    try:
        frame = source.load(
            start,
            end,
            granularity=choices["granularity"],
            model_types=choices["model_types"],
            client_ids=choices["client_ids"],
            by=by,
        )
    except CostTrendError as err:
        return None, t(
            "Could not load the data: {error}", lang, error=f"{type(err).__name__}: {err}"
        )
    return frame, None


class Board(HasFilters):
    """The controls, loading, busy state, errors and rendering shared by the dashboards.

    Standalone, a board has its own filter bar; in a :class:`Dashboard` it shares the
    dashboard's (``filters=``) and the dashboard hands it each frame it loads.
    """

    title = ""
    tab_title = ""
    by: tuple[str, ...] = ()
    figsize = (11.0, 4.2)
    width_ratios: tuple[float, float] = (1.0, 1.0)

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
        filters: FilterBar | None = None,
    ) -> None:
        import ipywidgets as w

        self.lang = check_lang(lang)  # of the figures (English where no font draws Chinese)
        self.source = data if isinstance(data, DataSource) else DataSource(data)
        self.names = resolve_names(names, self.source)
        self.shared = filters is not None
        self.filters = filters or FilterBar(
            self.source,
            self.names,
            start=start,
            end=end,
            granularity=granularity,
            model_types=model_types,
            client_ids=client_ids,
            lang=self.lang,
        )
        self.metric = w.Dropdown(
            options=self._metric_options(),
            value=metric,
            description=t("Metric", lang),
            style=LABELS,
        )
        self.view_controls: list[Any] = [self.metric, *self._extra_controls()]
        self._busy = Busy(self.lang)
        self.busy = self._busy.widget
        self.status = w.HTML()
        self.status.add_class(ERROR_CLASS)
        width = f"{round(self.figsize[0] * 96)}px"  # the figure's size in CSS pixels, at most
        self.image = w.Image(  # hidden until it holds a figure: an empty image is no figure
            format="png",
            layout=w.Layout(  # no margin: 100 % plus ipywidgets' 2 px margins cut its edge
                width="100%", max_width=width, height="auto", margin="0", display="none"
            ),
        )
        self.image.add_class(FIGURE_CLASS)
        self.output = self.image  # where the figure is shown
        self.last_frame: pd.DataFrame | None = None
        self.render_count = 0
        self.error: str | None = None
        self.stale = False  # a frame arrived that is not drawn yet (a hidden tab)
        self._images = FrameMemo(IMAGES_KEPT)
        self._figure: Any = None
        self._figure_frame: Any = None
        self._figure_state: Any = None
        self._axes: list[Any] = []
        self._drawn: list[Any] = []
        self._shapes: list[Any] = []  # each axes' Panel.shape as last drawn
        self._painter: Painter | None = None
        self._unpainted: set[int] = set()  # axes redrawn since the image was last painted
        self._relayout = False  # a panel redrawn since then changed its shape
        view_row = w.HBox(self.view_controls, layout=w.Layout(flex_flow="wrap"))
        self.controls = w.VBox([view_row] if self.shared else [self.filters.widget, view_row])
        header = [] if self.shared else [w.HTML(f"<b>{escape(t(self.title, self.lang))}</b>")]
        self.widget = w.VBox([*header, self.controls, self.busy, self.status, self.image])
        for control in self.view_controls:
            control.observe(self._on_view, names="value")
        if not self.shared:
            self.filters.observe(self._on_data)
            self.refresh()

    @property
    def is_busy(self) -> bool:
        """True from the moment a change starts loading or drawing until it is shown."""
        return self._busy.active

    # -- what subclasses add ------------------------------------------------------------------

    def _extra_controls(self) -> list[Any]:
        return []

    def _panels(self, frame: pd.DataFrame) -> list[Panel]:
        raise NotImplementedError

    # -- behaviour ---------------------------------------------------------------------------

    def _metric_options(self) -> list[tuple[str, str]]:
        keys = (
            METRICS
            if self.source.frame is None
            else sort_metrics(map(str, self.source.frame["metric"].unique()))
        )
        return [(t(metric_info(k).label, self.lang), k) for k in keys if metric_info(k).additive]

    def _on_data(self, change: Any) -> None:
        self.refresh()

    def _on_view(self, change: Any) -> None:
        self.render()

    def refresh(self) -> None:
        """Load the data for the filter bar's choices (fetching if needed), then draw."""
        with self._busy.during([*self.filters.controls, *self.view_controls]):
            frame, error = load_frame(self.source, self.filters.choices(), self.by, self.lang)
            self.use(frame, error)
            self.render()

    def use(self, frame: pd.DataFrame | None, error: str | None = None) -> None:
        """Take a frame loaded elsewhere (the dashboard's), to draw on the next ``render``."""
        self.last_frame = frame
        self.stale = frame is not None
        if error is not None:
            self._show_error(error)

    def view_state(self) -> tuple[Any, ...]:
        """The values of the view controls (what one image shows, with the frame)."""
        return tuple(control.value for control in self.view_controls)

    def render(self) -> None:
        """Draw from the data already loaded (no request), or show a kept image of this view."""
        frame = self.last_frame
        if frame is None:
            return
        with self._busy.during(self.view_controls):
            state = self.view_state()
            png = self._images.peek(frame, state)
            if png is None:
                try:
                    with drawing_context():  # the texts measured as they are drawn
                        self._draw_figure(frame, state)
                        png = self._paint()
                except (CostTrendError, ValueError) as err:
                    self._show_error(t("Cannot draw this selection: {error}", self.lang, error=err))
                    return
                self._images.put(frame, state, png)
            self.error = None  # a successful draw clears the last one's error
            self.status.value = ""
            self.image.value = png
            self.image.layout.display = None
            self.render_count += 1
            self.stale = False

    def render_if_stale(self) -> None:
        """Draw a frame that arrived while the board was hidden."""
        if self.stale:
            self.render()

    @property
    def last_figure(self) -> Any:
        """The matplotlib figure of what is shown (drawn now if the image came from the kept
        ones)."""
        frame = self.last_frame
        if frame is not None and self._figure_state != (id(frame), self.view_state()):
            with suppress(CostTrendError, ValueError), drawing_context():  # error on show already
                self._draw_figure(frame, self.view_state())
                self._paint()  # in a layout that fits what is drawn now
        return self._figure

    def _paint(self) -> bytes:
        """The figure as PNG bytes, painting the panels redrawn since the last time."""
        assert self._painter is not None
        png = self._painter.png(self._unpainted, relayout=self._relayout)
        self._unpainted.clear()
        self._relayout = False
        return png

    def _new_figure(self, frame: pd.DataFrame) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=self.figsize, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        self._figure, self._figure_frame = fig, frame
        self._axes = list(fig.subplots(1, 2, width_ratios=list(self.width_ratios)))
        self._drawn = [_FRESH] * len(self._axes)
        self._shapes = [_FRESH] * len(self._axes)
        self._painter = Painter(fig)
        self._unpainted = set(range(len(self._axes)))

    def _draw_figure(self, frame: pd.DataFrame, state: tuple[Any, ...]) -> Any:
        """The figure for ``frame`` and the view ``state``: only changed panels are redrawn."""
        if self._figure is None or self._figure_frame is not frame:
            self._new_figure(frame)
        self._figure_state = None
        panels = self._panels(frame)
        redraw = [
            i for i, p in enumerate(panels) if self._drawn[i] is _FRESH or self._drawn[i] != p.key
        ]
        if any(
            self._shapes[i] is not _FRESH and self._shapes[i] != panels[i].shape for i in redraw
        ):
            self._relayout = True  # another kind of chart: laid out afresh
        elif redraw and not self._unpainted and self._painter is not None:
            self._painter.measure()  # to try the changed panels in the kept layout
        for i in redraw:
            ax, panel, drawn = self._axes[i], panels[i], self._drawn[i]
            if drawn is _HALF_DRAWN:
                ax.clear()
            self._drawn[i] = _HALF_DRAWN  # until the draw succeeds
            self._unpainted.add(i)
            self._shapes[i] = panel.shape
            panel.draw(ax, None if drawn in (_FRESH, _HALF_DRAWN) else drawn)
            self._drawn[i] = panel.key
        self._figure_state = (id(frame), state)
        return self._figure

    def _show_error(self, message: str) -> None:
        self.error = message
        self.status.value = f'<span style="color:#B00020">{escape(message)}</span>'
        self.image.layout.display = "none"
        self.stale = False

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def cleared(draw: Callable[[Any], Any]) -> Callable[[Any, Hashable | None], None]:
    """A panel drawing that starts from an empty axes."""

    def panel(ax: Any, previous: Hashable | None) -> None:
        if previous is not None:
            ax.clear()
        draw(ax)

    return panel
