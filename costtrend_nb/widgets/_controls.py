"""The controls of a dashboard: a multi-select that says what it holds, the filter bar, and the
busy indicator.

Labels are whole (``description_width="initial"``) and in the board's language. An empty
multi-select and one with every option selected both mean "no filter", so they load the same
data; the line above each list says what is selected ("2 of 13: Chat, TTS", or "All").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd

from ..lang import t
from ..style import group_label
from ._source import DataSource

__all__ = [
    "BUSY_CLASS",
    "ERROR_CLASS",
    "FIGURE_CLASS",
    "Busy",
    "FilterBar",
    "MultiSelect",
    "toggle_layout",
]

# The CSS classes the browser tests find the busy indicator, the figure and the error by.
BUSY_CLASS = "costtrend-busy"
FIGURE_CLASS = "costtrend-figure"
ERROR_CLASS = "costtrend-error"
LABELS = {"description_width": "initial"}  # labels are never cut ("Departme…")


def toggle_layout() -> Any:
    """The layout of toggle buttons: their label beside the buttons, centred on them (the
    widget is a block, so its buttons went on a line below the label)

    Example:
        >>> toggle_layout().align_items
        'center'
    """
    import ipywidgets as w

    return w.Layout(display="flex", flex_flow="row", align_items="center", width="auto")


NAMES_SHOWN = 4  # names listed in a multi-select's summary before "and N more"


def selection_text(chosen: Sequence[str], total: int, lang: str = "en") -> str:
    """What a multi-select holds, for the line above it.

    Example:
        >>> selection_text(["Chat", "TTS"], 13), selection_text([], 13)
        ('2 of 13: Chat, TTS', 'All')
        >>> selection_text(list("ABCDEF"), 13)
        '6 of 13: A, B, C, D and 2 more'
    """
    if not chosen or len(chosen) >= total:
        return t("All", lang)
    names = ", ".join(chosen[:NAMES_SHOWN])
    if len(chosen) > NAMES_SHOWN:
        names = t("{items} and {more} more", lang, items=names, more=len(chosen) - NAMES_SHOWN)
    return t("{n} of {total}: {names}", lang, n=len(chosen), total=total, names=names)


class MultiSelect:
    """A list to pick several of, with "All" and "Clear", under a line saying what is picked.

    ``select`` is the ``ipywidgets.SelectMultiple`` (set its ``.value`` to choose), ``widget``
    the whole block to show.

    Example:
        >>> pick = MultiSelect("Model types", ["Chat", "TTS", "ASR"])
        >>> pick.select.value = ("Chat",)
        >>> pick.summary.value
        '<b>Model types</b>: 1 of 3: Chat'
        >>> pick.all_button.click(); pick.select.value, pick.chosen()
        (('Chat', 'TTS', 'ASR'), ())
    """

    def __init__(
        self,
        label: str,
        options: Sequence[Any],
        value: Sequence[Any] = (),
        *,
        lang: str = "en",
        rows: int = 6,
    ) -> None:
        import ipywidgets as w

        self.label, self.lang = label, lang
        self.select = w.SelectMultiple(
            options=list(options), value=tuple(value), rows=rows, layout=w.Layout(width="260px")
        )
        self.summary = w.HTML()
        self.all_button = w.Button(description=t("All", lang), layout=w.Layout(width="auto"))
        self.clear_button = w.Button(description=t("Clear", lang), layout=w.Layout(width="auto"))
        self.all_button.on_click(lambda _: self._set(tuple(v for _, v in self._pairs())))
        self.clear_button.on_click(lambda _: self._set(()))
        self.select.observe(lambda _: self._describe(), names="value")
        self.widget = w.VBox(
            [self.summary, self.select, w.HBox([self.all_button, self.clear_button])],
            layout=w.Layout(width="280px"),
        )
        self._describe()

    @property
    def controls(self) -> list[Any]:
        """The widgets to disable while busy."""
        return [self.select, self.all_button, self.clear_button]

    def chosen(self) -> tuple[Any, ...]:
        """The values picked, or ``()`` when none or all are (no filter)."""
        value = tuple(self.select.value)
        return () if len(value) >= len(self.select.options) else value

    def _pairs(self) -> list[tuple[str, Any]]:
        return [o if isinstance(o, tuple) else (str(o), o) for o in self.select.options]

    def _set(self, value: tuple[Any, ...]) -> None:
        self.select.value = value

    def _describe(self) -> None:
        from html import escape

        names = [label for label, v in self._pairs() if v in self.select.value]
        text = selection_text(names, len(self.select.options), self.lang)
        self.summary.value = f"<b>{escape(self.label)}</b>: {escape(text)}"


class HasFilters:
    """A widget holding a :class:`FilterBar` as ``filters`` shows its controls as its own
    attributes (``board.start``, ``board.model_types``...), as the dashboards did before the
    bar was shared."""

    filters: FilterBar

    @property
    def start(self) -> Any:
        return self.filters.start

    @property
    def end(self) -> Any:
        return self.filters.end

    @property
    def granularity(self) -> Any:
        return self.filters.granularity

    @property
    def model_types(self) -> Any:
        return self.filters.model_types

    @property
    def departments(self) -> Any:
        return self.filters.departments


class FilterBar:
    """The controls that choose the data: dates, granularity, model types, departments.

    One bar serves one board, or every tab of a :class:`~costtrend_nb.widgets.Dashboard`.
    ``values()`` gives the choices as :meth:`DataSource.load` takes them.
    """

    def __init__(
        self,
        source: DataSource,
        names: dict[int, str],
        *,
        start: Any = None,
        end: Any = None,
        granularity: str = "daily",
        model_types: Sequence[str] = (),
        client_ids: Sequence[int] = (),
        lang: str = "en",
    ) -> None:
        import ipywidgets as w

        first, last = source.span()
        granularities = source.granularities()
        if granularity not in granularities:
            granularity = granularities[0]
        self.start = w.DatePicker(
            description=t("From", lang), value=_date(start) or first, style=LABELS
        )
        self.end = w.DatePicker(
            description=t("To (excl.)", lang), value=_date(end) or last, style=LABELS
        )
        self.granularity = w.ToggleButtons(
            options=[(t(g.title(), lang), g) for g in granularities],
            value=granularity,
            description=t("Buckets", lang),
            style={**LABELS, "button_width": "auto"},
            layout=toggle_layout(),
        )
        self.model_types_picker = MultiSelect(
            t("Model types", lang), source.model_types(), model_types, lang=lang
        )
        departments = source.departments() or sorted(names)
        self.departments_picker = MultiSelect(
            t("Departments", lang),
            [(group_label(i, names), i) for i in departments],
            client_ids,
            lang=lang,
        )
        self.model_types = self.model_types_picker.select
        self.departments = self.departments_picker.select
        self.widget = w.VBox(
            [
                w.HBox([self.start, self.end, self.granularity], layout=w.Layout(flex_flow="wrap")),
                w.HBox(
                    [self.model_types_picker.widget, self.departments_picker.widget],
                    layout=w.Layout(flex_flow="wrap"),
                ),
            ]
        )

    @property
    def controls(self) -> list[Any]:
        """Every widget of the bar (to disable while loading)."""
        return [
            self.start,
            self.end,
            self.granularity,
            *self.model_types_picker.controls,
            *self.departments_picker.controls,
        ]

    @property
    def values(self) -> list[Any]:
        """The widgets whose ``value`` changes the data (to observe)."""
        return [self.start, self.end, self.granularity, self.model_types, self.departments]

    def choices(self) -> dict[str, Any]:
        """The data chosen: ``start``, ``end``, ``granularity``, ``model_types``, ``client_ids``
        (empty when none or all are picked)."""
        return {
            "start": self.start.value,
            "end": self.end.value,
            "granularity": self.granularity.value,
            "model_types": list(self.model_types_picker.chosen()),
            "client_ids": list(self.departments_picker.chosen()),
        }

    def observe(self, handler: Any) -> None:
        """Call ``handler(change)`` when any choice changes."""
        for control in self.values:
            control.observe(handler, names="value")


class Busy:
    """The indicator that says "Updating…" while work runs, and the controls it disables.

    ``widget`` carries the CSS class ``costtrend-busy`` and is always in the widget tree: its
    text is "Updating…" while busy, empty when idle. ``active`` is the ``is_busy`` of a board.

    Example:
        >>> import ipywidgets as w
        >>> busy, box = Busy(), w.Dropdown(options=["a", "b"])
        >>> with busy.during([box]):
        ...     busy.active, busy.widget.value, box.disabled
        (True, 'Updating…', True)
        >>> busy.active, busy.widget.value, box.disabled
        (False, '', False)
    """

    def __init__(self, lang: str = "en") -> None:
        import ipywidgets as w

        self.text = t("Updating…", lang)
        self.widget = w.HTML(value="")
        self.widget.add_class(BUSY_CLASS)
        self.active = False

    @contextmanager
    def during(self, controls: Sequence[Any]) -> Iterator[None]:
        """Busy, with ``controls`` disabled, until the block ends (on error too); nests."""
        if self.active:  # already busy: the outer block clears it
            yield
            return
        was = [(c, c.disabled) for c in controls]
        self.active = True
        self.widget.value = self.text
        for control, _ in was:
            control.disabled = True
        try:
            yield
        finally:
            for control, disabled in was:
                control.disabled = disabled
            self.widget.value = ""
            self.active = False


def _date(value: Any) -> dt.date | None:
    return None if value is None else pd.Timestamp(value).date()
