"""Measuring and wrapping text before the figure is drawn: how wide an axes' slot is, how wide
a string is in a font, and where to break it so it fits."""

from __future__ import annotations

import re
from typing import Any

_CJK = re.compile(r"[\u2e80-\u9fff\uff00-\uffef]")  # Chinese: a line may break anywhere


def _width_in(ax: Any) -> float:
    """The width in inches of the axes' slot in the figure's grid (the layout decides the rest)."""
    spec = ax.get_subplotspec()
    width = float(ax.figure.get_figwidth())
    if spec is None:
        return float(ax.get_position().width) * width
    grid = spec.get_gridspec()
    ratios = list(grid.get_width_ratios() or [1] * grid.ncols)
    return width * sum(ratios[i] for i in spec.colspan) / sum(ratios)


def _renderer(fig: Any) -> Any:
    canvas = fig.canvas
    renderer = canvas.get_renderer() if hasattr(canvas, "get_renderer") else None
    return renderer or fig._get_renderer()


def _text_width(renderer: Any, text: str, font: Any) -> float:
    width, _, _ = renderer.get_text_width_height_descent(text, font, ismath=False)
    return float(width)


def _wrap(text: str, pixels: float, font: Any, renderer: Any) -> str:
    """``text`` broken so that no line is wider than ``pixels`` in ``font``: between its
    " · " parts where they fit, else between words.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from matplotlib.font_manager import FontProperties
        >>> fig = plt.figure(dpi=100)
        >>> print(_wrap("Cost (CNY) · Chat, TTS · 01 Nov – 18 Nov 2026 · daily", 240,
        ...             FontProperties(size=9), fig.canvas.get_renderer()))
        Cost (CNY) · Chat, TTS
        01 Nov – 18 Nov 2026 · daily
    """

    def fits(line: str) -> bool:
        return _text_width(renderer, line, font) <= pixels

    out: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for part in paragraph.split(" · "):
            trial = f"{line} · {part}" if line else part
            if fits(trial):
                line = trial
                continue
            if line:
                out.append(line)
            line = ""
            for word in part.split(" "):  # a part too long for a line of its own
                trial = f"{line} {word}" if line else word
                if line and not fits(trial):
                    out.append(line)
                    line = word
                else:
                    line = trial
                while _CJK.search(line) and not fits(line):  # Chinese breaks between characters
                    cut = next(i for i in range(len(line), 0, -1) if fits(line[:i]) or i == 1)
                    out.append(line[:cut])
                    line = line[cut:]
        out.append(line)
    return "\n".join(out)


def _left_margin(ax: Any, renderer: Any) -> float:
    """What the y tick labels and label will take left of the axes, in pixels: a guess for
    numbers, measured for labels already set (named categories)."""
    from matplotlib.font_manager import FontProperties

    dpi = float(ax.figure.dpi)
    font = FontProperties(size=_rc("ytick.labelsize"))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    widest = max((_text_width(renderer, t, font) for t in labels if t.strip()), default=0.0)
    return max(1.0 * dpi, widest + 0.55 * dpi)


def _rc(key: str) -> Any:
    import matplotlib as mpl

    return mpl.rcParams[key]  # type: ignore[index]  # typed as a literal of known keys
