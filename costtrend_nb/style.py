"""How the plots look: colours, unit formatters, labels and the style context.

* Colours are colour-blind safe (Okabe & Ito's palette, then Paul Tol's muted one) and fixed per
  model type, so Chat is the same blue in every plot. A plot shows at most eight groups in
  colour; the rest fold into a grey "Other".
* Axes carry units: cost as ``¥12,345``, tokens as ``1.2M``, seconds as ``1h 05m``, calls,
  images and characters with K/M suffixes.
* Labels are English, or the vendor's Chinese (``lang="zh"``), drawn in a CJK font
  (:mod:`costtrend_nb.lang`).
* Styles apply inside :func:`style_context` only, never globally.

Example:
    >>> color_for("Chat"), unit_formatter("CNY")(12345.6, 0)
    ('#0072B2', '¥12,346')
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .catalogue import metric_info
from .lang import rc_for

__all__ = [
    "MAX_COLORS",
    "MODEL_TYPE_COLORS",
    "OTHER_COLOR",
    "color_for",
    "colors_for",
    "drawing_context",
    "group_label",
    "metric_label",
    "style_context",
    "unit_formatter",
]

MAX_COLORS = 8
OTHER_COLOR = "#BBBBBB"
# Okabe & Ito first, for the model types that usually spend most; Tol's muted colours next.
MODEL_TYPE_COLORS: dict[str, str] = {
    "Chat": "#0072B2",
    "ImageGeneration": "#E69F00",
    "VideoGeneration": "#D55E00",
    "TTS": "#009E73",
    "ASR": "#CC79A7",
    "ChatFullmodal": "#56B4E9",
    "Rerank": "#F0E442",
    "ImageEdit": "#332288",
    "ChatMultimodal": "#44AA99",
    "VideoImageGeneration": "#882255",
    "Embedding": "#999933",
    "MultimodalEmbedding": "#117733",
    "MultimodalRerank": "#AA4499",
    "all": "#0072B2",
}
_SEQUENCE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#332288"]

# Read when a figure is drawn, not when an artist is made: the dashboards set them while their
# plots measure texts and while the figure is drawn (drawing_context). Unhinted text draws in
# two thirds of the time and, at the dashboards' 1.5x resolution, as sharply. (Reports keep
# hinted text: their PNGs compress better so.)
_DRAWING: dict[Any, Any] = {"text.hinting": "none"}

_STYLE: dict[Any, Any] = {  # matplotlib types its keys as literals
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.8,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "font.size": 10,
    "figure.dpi": 100,
    "savefig.dpi": 100,
}


@contextlib.contextmanager
def style_context(lang: str | None = "en") -> Iterator[None]:
    """The plots' style, for the duration of a ``with`` block only; for ``lang="zh"`` with a
    font that draws Chinese too (:func:`~costtrend_nb.lang.rc_for`).

    Only the keys set here are restored afterwards. (``plt.rc_context`` restores every key, so
    when Jupyter's inline backend switches itself on during the first figure drawn inside it,
    leaving the context would switch interactive mode off again and hide every later figure.)

    Example:
        >>> import matplotlib as mpl
        >>> before = mpl.rcParams["font.family"]
        >>> with style_context("zh"):
        ...     pass
        >>> mpl.rcParams["font.family"] == before
        True
    """
    with _only({**_STYLE, **rc_for(lang)}):
        yield


@contextlib.contextmanager
def _only(settings: Mapping[Any, Any]) -> Iterator[None]:
    """``settings`` for a ``with`` block; only their keys are restored afterwards."""
    import matplotlib as mpl

    saved = {key: mpl.rcParams[key] for key in settings}
    mpl.rcParams.update(settings)
    try:
        yield
    finally:
        mpl.rcParams.update(saved)


@contextlib.contextmanager
def drawing_context() -> Iterator[None]:
    """The dashboards' settings for drawing text quickly, for a ``with`` block around both the
    plots (which measure their texts) and the drawing of the figure.

    Example:
        >>> import matplotlib as mpl
        >>> with drawing_context():
        ...     mpl.rcParams["text.hinting"]
        'none'
    """
    with _only(_DRAWING):
        yield


def color_for(group: Any, position: int = 0) -> str:
    """The colour of a group: fixed for model types; by position for departments."""
    if isinstance(group, str) and group in MODEL_TYPE_COLORS:
        return MODEL_TYPE_COLORS[group]
    if group == "Other":
        return OTHER_COLOR
    return _SEQUENCE[position % len(_SEQUENCE)]


def colors_for(groups: Iterable[Any]) -> list[str]:
    """Colours for a list of groups, departments coloured in the order given."""
    out, position = [], 0
    for g in groups:
        out.append(color_for(g, position))
        if not (isinstance(g, str) and (g in MODEL_TYPE_COLORS or g == "Other")):
            position += 1
    return out


def group_label(group: Any, names: Mapping[int, str] | None = None) -> str:
    """A readable label: the department's name when known, else the model type or id."""
    if group is None or (isinstance(group, float) and group != group):
        return "all"
    if names and not isinstance(group, str):
        try:
            return names.get(int(group), str(group))
        except (TypeError, ValueError):
            return str(group)
    return str(group)


def metric_label(metric: str, lang: str = "en") -> str:
    """The metric's label and unit, e.g. ``Cost (CNY)``; ``lang="zh"`` for the vendor's own.

    Example:
        >>> metric_label("total_amount"), metric_label("total_amount", "zh")
        ('Cost (CNY)', '消费金额（元）')
    """
    info = metric_info(metric)
    if lang == "zh" and info.label_zh:
        return f"{info.label_zh}（{info.unit_zh}）" if info.unit_zh else info.label_zh
    return f"{info.label} ({info.unit})"


def _compact(value: float) -> str:
    size = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if size >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}" if size < 100 else f"{value:,.0f}"


def _duration(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 60:
        return f"{sign}{s:.0f}s"
    if s < 3600:
        return f"{sign}{int(s // 60)}m {int(s % 60):02d}s"
    return f"{sign}{int(s // 3600):,}h {int(s % 3600 // 60):02d}m"


def format_value(value: float, unit: str) -> str:
    """One value in its unit, as the axes show it: ``¥1,234``, ``1.2M``, ``1h 05m``."""
    if value != value:  # NaN
        return "n/a"
    if unit == "CNY":
        return f"-¥{abs(value):,.0f}" if value < 0 else f"¥{value:,.0f}"
    if unit == "s":
        return _duration(value)
    return _compact(value)


def unit_formatter(unit: str) -> Any:
    """A matplotlib tick formatter for a unit of the tidy frame."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: format_value(value, unit))
