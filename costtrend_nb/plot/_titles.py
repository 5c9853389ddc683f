"""What every figure says about itself, as the FT sets a chart: the title says the finding (and,
when the frame is filtered, of what: "Cost of Chat, TTS ..."), the grey subtitle under it the
unit and the scope (:func:`scope_text`: filters, range, granularity), and
:func:`figure_alt_text` turns both into a figure's alt text.

The filters come from the frame's provenance, ``attrs["query"]`` (labels only, never an input
to a calculation); the range from its timestamps, else the query's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..analysis._frame import bucket_freq
from ..lang import t
from ._common import EMPTY_GID, PARTIAL_GID, Names, _names, _partial_text, _window_text
from ._text import _left_margin, _rc, _renderer, _width_in, _wrap

SUBTITLE_GID = "costtrend-subtitle"  #: the ``gid`` of the grey line under a title
KEY_GID = "costtrend-key"  #: the ``gid`` of a text that carries a figure's key numbers
_GREY = "#555555"
_LIST_LIMIT = 4  # filter values named before "and N more"


def _listed(items: Sequence[Any], limit: int = _LIST_LIMIT, lang: str = "en") -> str:
    words = [str(i) for i in items]
    more = len(words) - limit
    shown = ("、" if lang == "zh" else ", ").join(words[:limit])
    return t("{items} and {more} more", lang, items=shown, more=more) if more > 0 else shown


def scope_filters(data: pd.DataFrame, names: Names = None, lang: str = "en") -> str:
    """The filters in force on ``data`` (from its provenance, ``attrs["query"]``), or "".

    Departments are named from ``names`` (a mapping or ``client.departments()``), else by id.

    Example:
        >>> df = pd.DataFrame()
        >>> df.attrs["query"] = {"model_types": ["Chat", "TTS"], "client_ids": [10002]}
        >>> scope_filters(df, {10002: "Research & Development"})
        'Chat, TTS · Research & Development'
        >>> scope_filters(pd.DataFrame())
        ''
        >>> df.attrs["query"] = {"model_types": ["Chat", "TTS"], "client_ids": [10002]}
        >>> scope_filters(df, lang="zh")
        'Chat、TTS · 部门 10002'
    """
    query = dict(getattr(data, "attrs", {}).get("query") or {})
    labels = _names(names)
    parts = []
    if query.get("model_types"):
        parts.append(_listed(query["model_types"], lang=lang))
    if query.get("client_ids"):
        ids = list(query["client_ids"])
        named = _listed([labels.get(int(i), str(i)) for i in ids], lang=lang)
        known = all(int(i) in labels for i in ids)
        parts.append(named if known else t("department {id}", lang, id=named))
    if query.get("member_user_ids"):
        members = list(query["member_user_ids"])
        term = "members {ids}" if len(members) > 1 else "member {ids}"
        parts.append(t(term, lang, ids=_listed(members, lang=lang)))
    if query.get("api_key_id"):
        parts.append(t("API key {id}", lang, id=query["api_key_id"]))
    return " · ".join(parts)


def _span(data: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The half-open range the data covers, else the query's."""
    if len(data) and "timestamp" in data:
        stamps = pd.DatetimeIndex(data["timestamp"])
        step = pd.Timedelta(days=1) if bucket_freq(data) == "D" else pd.Timedelta(hours=1)
        return stamps.min(), stamps.max() + step
    query = dict(getattr(data, "attrs", {}).get("query") or {})
    if query.get("start") and query.get("end"):
        return pd.Timestamp(query["start"]), pd.Timestamp(query["end"])
    return None


def _granularity(data: pd.DataFrame, lang: str = "en") -> str:
    if len(data) and "timestamp" in data:
        return t("daily" if bucket_freq(data) == "D" else "hourly", lang)
    grain = str(dict(getattr(data, "attrs", {}).get("query") or {}).get("granularity") or "")
    return t(grain, lang) if grain else ""


def scope_text(
    data: pd.DataFrame, names: Names = None, *, window: str | None = None, lang: str = "en"
) -> str:
    """What a figure of ``data`` covers: its filters, range and granularity, for a subtitle.

    ``window`` replaces the data's range, for figures of one period against another.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-11-01", "2026-11-19", granularity="daily",
        ...                                   model_types=["Chat", "TTS"])
        >>> scope_text(df)
        'Chat, TTS · 01 Nov – 18 Nov 2026 · daily'
        >>> scope_text(df, lang="zh")
        'Chat、TTS · 2026-11-01 至 2026-11-18 · 按天'
    """
    span = _span(data)
    if window is None:
        window = "" if span is None else _window_text(*span, lang=lang)
    parts = [
        scope_filters(data, names, lang) or t("All model types", lang),
        window,
        _granularity(data, lang),
    ]
    return " · ".join(p for p in parts if p)


def _subject(label: str, data: pd.DataFrame, names: Names = None, lang: str = "en") -> str:
    """``label`` of the filtered selection: "Cost of Chat, TTS"; plain "Cost" when unfiltered.
    ``label`` is English; it is given in ``lang``."""
    filters = scope_filters(data, names, lang)
    label = t(label, lang)
    return t("{label} of {filters}", lang, label=label, filters=filters) if filters else label


def _headline(ax: Any, title: str, subtitle: str, data: Any = None, lang: str = "en") -> None:
    """The title says the finding; a grey line under it gives the unit and the scope.

    Both are left-aligned with the axes (as the FT sets them), wrapped to the width the axes'
    slot leaves them, and stacked: the notice of partial data (when ``data`` lacks series)
    right above the axes, the subtitle above it, the title above both.
    """
    from matplotlib.font_manager import FontProperties

    renderer = _renderer(ax.figure)
    pixels = (_width_in(ax) - 0.15) * float(ax.figure.dpi) - _left_margin(ax, renderer)
    small = FontProperties(size=9)
    offset = 5.0  # points above the axes

    def stack(text: str, color: str, gid: str, gap: float) -> None:
        """One small grey (or red) line block right above what is stacked so far."""
        nonlocal offset
        text = _wrap(text, pixels, small, renderer)
        ax.annotate(
            text, xy=(0, 1), xycoords="axes fraction", xytext=(0, offset),
            textcoords="offset points", ha="left", va="bottom", fontsize=9, color=color, gid=gid,
        )  # fmt: skip
        offset += 11.5 * (text.count("\n") + 1) + gap

    missing = list(getattr(data, "attrs", {}).get("missing_series") or [])
    if missing:
        stack(_partial_text(missing, lang), "#B00020", PARTIAL_GID, gap=3)
    stack(subtitle, _GREY, SUBTITLE_GID, gap=5)
    big = FontProperties(size=_rc("axes.titlesize"), weight=_rc("axes.titleweight"))
    ax.set_title(_wrap(title, pixels, big, renderer), pad=offset, x=0.0, ha="left")


def _sentence(text: str, lines: str = " ") -> str:
    """One line of alt text: wrapped lines joined by a space, a text's own lines by ``lines``."""
    line = lines.join(" ".join(part.split()) for part in text.split("\n") if part.strip())
    return line if not line or line[-1] in ".!?" else line + "."


def figure_alt_text(fig: Any) -> str:
    """A one-paragraph description of a figure for its alt text: per axes, its title (which
    says the finding), subtitle (unit and scope), the texts that carry its key numbers, and
    its notices (partial data, nothing to draw).

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> from costtrend_nb.plot import plot_trend
        >>> df = CostTrendClient.demo().fetch("2026-11-01", "2026-11-19", granularity="daily",
        ...                                   model_types=["Chat", "TTS"])
        >>> figure_alt_text(plot_trend(df).figure)
        'Cost of Chat, TTS. Cost (CNY) · Chat, TTS · 01 Nov – 18 Nov 2026 · daily.'
    """
    parts = []
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text().strip():
        parts.append(_sentence(suptitle.get_text()))
    for ax in fig.axes:
        parts.extend(_sentence(ax.get_title(loc)) for loc in ("left", "center", "right"))
        for gid in (SUBTITLE_GID, KEY_GID, PARTIAL_GID, EMPTY_GID):
            wrapped = gid in (SUBTITLE_GID, PARTIAL_GID)  # broken to fit, not by meaning
            parts.extend(
                _sentence(t.get_text(), " " if wrapped else "; ")
                for t in ax.texts
                if t.get_gid() == gid
            )
    return " ".join(p for p in parts if p)


def _scoped_headline(
    ax: Any,
    title: str,
    data: pd.DataFrame,
    unit: str,
    names: Names = None,
    *,
    window: str | None = None,
    lang: str = "en",
) -> None:
    """:func:`_headline` with the subtitle "<unit> · <scope of data>"."""
    scope = scope_text(data, names, window=window, lang=lang)
    _headline(ax, title, f"{unit} · {scope}", data, lang)
