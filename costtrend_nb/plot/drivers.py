"""A waterfall of the change in cost, split into volume and unit cost (:func:`plot_drivers`)."""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd

from ..analysis import explain_change
from ..analysis._frame import validate
from ..analysis.breakdown import OTHER
from ..lang import resolve_lang, t
from ..style import MAX_COLORS, format_value, group_label, style_context, unit_formatter
from ._common import (
    Names,
    _axes,
    _is_empty,
    _legend_outside,
    _names,
    _no_data,
    _window_text,
    notes_missing_series,
)
from ._text import _width_in
from ._titles import _scoped_headline, _subject

__all__ = ["plot_drivers"]


@notes_missing_series
def plot_drivers(
    data: pd.DataFrame,
    *,
    by: str = "model_type",
    period: Any = "month",
    as_of: Any = None,
    align: str = "calendar",
    top: int = MAX_COLORS,
    names: Names = None,
    lang: str = "en",
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """A waterfall of the change in cost: each group's step, split into volume and unit cost.

    Steps run from 0 to the total change; within each, the volume effect (blue) and the
    unit-cost effect (orange) are stacked, so a group whose volume grew while prices fell shows
    both. Groups beyond ``top`` fold into "Other". The y-axis holds every running sum, not
    only the total, with room for the labels; the legend sits beside the axes. ``lang="zh"``
    draws it in Chinese.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> client = CostTrendClient.demo()
        >>> df = client.fetch("2026-10-01", "2026-11-21", granularity="daily", by="client_id")
        >>> ax = plot_drivers(df, by="client_id", names=client.departments())
        >>> ax.get_title().splitlines()[0]
        'What drove the change in cost (+¥3,428)'
    """
    validate(data)
    labels = _names(names)
    lang = resolve_lang(lang)
    with style_context(lang):
        ax = _axes(ax, lang=lang)
        subject = _subject("cost", data, names, lang)
        what = t("What drove the change in {subject}", lang, subject=subject)
        unit = t("Change in cost (CNY)", lang)
        if _is_empty(data, "total_amount"):
            _scoped_headline(ax, what, data, unit, names, lang=lang)
            return _no_data(ax, lang=lang)
        table = explain_change(data, period, as_of=as_of, by=by, align=align)
        keep = table.iloc[:top]
        rest = table.iloc[top:]
        steps = [
            (group_label(g, labels), v, u)
            for g, v, u in zip(
                keep[by], keep["volume_effect"], keep["unit_cost_effect"], strict=True
            )
        ]
        if len(rest):
            steps.append(
                (
                    t(OTHER, lang),
                    float(rest["volume_effect"].sum()),
                    float(rest["unit_cost_effect"].sum()),
                )
            )
        # too narrow for the labels side by side: stand them up, and leave them more room
        room = (_width_in(ax) - 2.4) * float(ax.figure.dpi) / (len(steps) + 1)
        upright = room < 48
        level = 0.0
        value_labels: list[Any] = []
        for i, (_, volume, unit_cost) in enumerate(steps):
            # volume first, then unit cost from where volume left off: side by side, so
            # effects of opposite sign never hide each other
            ax.bar(
                i - 0.17,
                volume,
                bottom=level,
                color="#0072B2",
                width=0.34,
                label=t("Volume effect", lang) if i == 0 else None,
                **kwargs,
            )
            ax.bar(
                i + 0.17,
                unit_cost,
                bottom=level + volume,
                color="#E69F00",
                width=0.34,
                label=t("Unit-cost effect", lang) if i == 0 else None,
                **kwargs,
            )
            step = volume + unit_cost
            ax.plot([i + 0.34, i + 0.66], [level + step] * 2, color="#666666", lw=0.8)
            # a rise is labelled above its highest point, a fall below its lowest: clear of
            # the step's bars and of the connector to the next step
            ends = (level, level + volume, level + step)
            rise = step >= 0
            value_labels.append(
                ax.annotate(
                    f"{'+' if rise else ''}{format_value(step, 'CNY')}",
                    (i, max(ends) if rise else min(ends)),
                    textcoords="offset points",
                    xytext=(0, 3 if rise else -3),
                    ha="center",
                    va="bottom" if rise else "top",
                    fontsize=8,
                    rotation=90 if upright else 0,
                )
            )
            level += step
        total = level
        ax.bar(len(steps), total, color="#333333", width=0.6, label=t("Total change", lang))
        ax.set_ylim(*waterfall_limits(steps, headroom=0.4 if upright else 0.18))
        ax.add_artist(_label_room()(value_labels))
        ticks = [s[0] for s in steps] + [t("Total", lang)]
        fits = room >= 7.5 * max(_chars(tick) for tick in ticks) + 8  # about 7.5 px a character
        ax.set_xticks(range(len(ticks)), ticks, rotation=0 if fits else 90)
        ax.axhline(0, color="#666666", lw=0.8)
        ax.yaxis.set_major_formatter(unit_formatter("CNY"))
        ax.set_ylabel(t("change in cost (CNY)", lang))
        row = table.iloc[0]
        change = f"{'+' if total >= 0 else ''}{format_value(total, 'CNY')}"
        title = f"{what}（{change}）" if lang == "zh" else f"{what} ({change})"
        window = t(
            "{current} against {previous}",
            lang,
            current=_window_text(row["current_start"], row["current_end"], lang),
            previous=_window_text(row["previous_start"], row["previous_end"], lang),
        )
        _scoped_headline(ax, title, data, unit, names, window=window, lang=lang)
        _legend_outside(ax)
    return ax


@functools.cache
def _label_room() -> Any:
    """The class of the artist that keeps a waterfall's labels inside its axes (matplotlib is
    imported on first use)."""
    from matplotlib.artist import Artist
    from matplotlib.transforms import Bbox

    class LabelRoom(Artist):
        """Widens its axes' y-limits, when drawn, until every one of ``labels`` lies inside.

        Labels are a fixed size in points while the axes' height is known only once the figure is
        laid out, so the room is found at drawing time: drawn first (lowest ``zorder``), before
        the bars, the labels and the ticks.
        """

        zorder = -1e9
        PAD = 2.0  # pixels between a label and the axes' edge

        def __init__(self, labels: list[Any]) -> None:
            super().__init__()
            self.labels = labels

        def draw(self, renderer: Any) -> None:
            ax: Any = self.axes
            for _ in range(12):  # a pass solves the limits, the next checks them: usually two
                low, high = ax.get_ylim()
                box = ax.get_window_extent(renderer)
                labels = self._boxes(renderer)
                over = max([b.y1 - box.y1 + self.PAD for b in labels], default=0.0)
                under = max([box.y0 - b.y0 + self.PAD for b in labels], default=0.0)
                if (over <= 0.01 and under <= 0.01) or box.height <= 0:
                    return  # settled: a second drawing changes nothing
                ax.set_ylim(*self._limits(ax, low, high, box, labels))

        def _limits(
            self, ax: Any, low: float, high: float, box: Any, labels: list[Any]
        ) -> tuple[float, float]:
            """The least widened y-limits that hold every label inside the axes.

            A label is a fixed number of pixels above (or below) its anchor, a value on the
            y-axis: as shares of the axes' height, these do not change with the limits, so the
            limits follow from them without drawing again (a few rounds settle both ends).
            """
            needs = []
            for label, b in zip(self.labels, labels, strict=True):
                y = float(label.xy[1])
                anchor = ax.transData.transform((0.0, y))[1]
                above = (b.y1 - anchor + self.PAD) / box.height
                below = (anchor - b.y0 + self.PAD) / box.height
                needs.append((y, min(above, 0.9), min(below, 0.9)))
            lo, hi = low, high
            for _ in range(50):
                top = max([hi, *((y - a * lo) / (1 - a) for y, a, _ in needs)])
                bottom = min([lo, *((y - c * top) / (1 - c) for y, _, c in needs)])
                if (top, bottom) == (hi, lo):
                    break
                hi, lo = top, bottom
            margin = 0.002 * (hi - lo)  # against rounding: the next pass must find it settled
            return (lo - margin if lo < low else low), (hi + margin if hi > high else high)

        def _boxes(self, renderer: Any) -> list[Any]:
            return [label.get_window_extent(renderer) for label in self.labels]

        def get_window_extent(self, renderer: Any = None) -> Any:
            return Bbox.null()

    return LabelRoom


def _chars(text: str) -> int:
    """How many narrow characters ``text`` is wide: a Chinese character counts as two."""
    return sum(2 if ord(c) >= 0x2E80 else 1 for c in text)


def waterfall_limits(
    steps: list[tuple[str, float, float]], headroom: float = 0.18
) -> tuple[float, float]:
    """The y-limits of a waterfall: every running sum inside (after each volume and each
    unit-cost effect, not only the total), 0 too, with ``headroom`` of the span above for the
    labels and a little below.

    Example:
        >>> waterfall_limits([("Chat", 100.0, 20.0), ("TTS", -200.0, 0.0)], headroom=0.1)
        (-90.0, 140.0)
    """
    level, path = 0.0, [0.0]
    for _, volume, unit_cost in steps:
        path += [level + volume, level + volume + unit_cost]
        level += volume + unit_cost
    low, high = min(path), max(path)
    span = (high - low) or 1.0
    return low - span * 0.05, high + span * headroom
