"""Layout checks any figure test can reuse: text that overlaps or leaves the figure, legends on
bars (STYLE.md, "Presenting numbers" 4)."""

from __future__ import annotations

import itertools
from typing import Any
from unittest import mock

import matplotlib as mpl
from matplotlib.patches import Rectangle

TOLERANCE = 1.0  # pixels


def drawn_texts(fig: Any) -> list[Any]:
    """Every text artist the renderer draws, in drawing order (ticks outside the view are not
    drawn, so they are not here)."""
    drawn: list[Any] = []
    draw = mpl.text.Text.draw

    def spy(text: Any, renderer: Any) -> Any:
        drawn.append(text)
        return draw(text, renderer)

    with mock.patch.object(mpl.text.Text, "draw", spy):
        fig.canvas.draw()
    return drawn


def _legends(fig: Any) -> list[Any]:
    found = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    return [legend for legend in found if legend is not None and legend.get_visible()]


def text_boxes(fig: Any) -> list[tuple[str, Any]]:
    """(label, window extent) of every visible, non-empty text drawn; a legend counts as one box."""
    texts = drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    legends = _legends(fig)
    in_legend = {id(t) for legend in legends for t in [*legend.get_texts(), legend.get_title()]}
    boxes = [
        (repr(text.get_text()), text.get_window_extent(renderer))
        for text in texts
        if text.get_visible() and text.get_text().strip() and id(text) not in in_legend
    ]
    for legend in legends:
        names = ", ".join(t.get_text() for t in legend.get_texts())
        boxes.append((f"legend [{names}]", legend.get_window_extent(renderer)))
    return boxes


def _overlap(a: Any, b: Any) -> bool:
    """True when two boxes share more than the tolerance in both directions."""
    return (
        min(a.x1, b.x1) - max(a.x0, b.x0) > TOLERANCE
        and min(a.y1, b.y1) - max(a.y0, b.y0) > TOLERANCE
    )


def assert_no_text_overlap(fig: Any) -> None:
    """Draw ``fig``; assert every text lies inside it and no two texts intersect.

    Texts are titles (the figure's and each axes'), subtitles, axis and tick labels,
    annotations and texts, and each legend as one box. Empty and invisible texts are ignored.
    A legend must not cover a bar either.
    """
    boxes = text_boxes(fig)
    frame = fig.bbox
    for label, box in boxes:
        assert (
            box.x0 >= frame.x0 - TOLERANCE
            and box.y0 >= frame.y0 - TOLERANCE
            and box.x1 <= frame.x1 + TOLERANCE
            and box.y1 <= frame.y1 + TOLERANCE
        ), f"{label} leaves the figure: {box.bounds} not in {frame.bounds}"
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not _overlap(box_a, box_b), f"{a} overlaps {b}"
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or not legend.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        for patch in ax.patches:
            if isinstance(patch, Rectangle) and patch.get_visible() and patch.get_height():
                bar = patch.get_window_extent(renderer)
                assert not _overlap(box, bar), f"the legend covers a bar at {bar.bounds}"
