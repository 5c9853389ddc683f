"""What the plot families share: the partial-data notice, the empty-selection sentence, new
axes, date and unit axes, window labels, and per-bucket sums with their completeness.

Every plot function draws inside :func:`costtrend_nb.style.style_context` and is wrapped in
:func:`notes_missing_series`, whose notice carries the ``gid`` :data:`PARTIAL_GID`. Titles,
subtitles and alt text are in :mod:`._titles`; measuring and wrapping text in :mod:`._text`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias, TypeVar

import pandas as pd

from ..analysis.breakdown import OTHER
from ..catalogue import metric_info
from ..lang import format_window, rc_for, resolve_lang, t
from ..style import group_label, metric_label, unit_formatter
from ._text import _renderer, _width_in, _wrap

Names: TypeAlias = Mapping[int, str] | pd.DataFrame | None
INCOMPLETE = "Incomplete: still settling"
_GROUP_TITLE = {"model_type": "model type", "client_id": "department"}


_P = TypeVar("_P", bound=Callable[..., Any])
PARTIAL_GID = "costtrend-partial"  #: the ``gid`` of the notice drawn on plots of partial data
EMPTY_GID = "costtrend-empty"  #: the ``gid`` of the empty-selection sentence
NO_SPEND = "No spend in this selection"
NO_USAGE = "No usage in this selection"


def notes_missing_series(plot: _P) -> _P:
    """Draw a visible notice on the axes when the data lacks series (``attrs["missing_series"]``,
    set by a fetch with ``on_error="partial"``): such totals are understated."""

    @functools.wraps(plot)
    def wrapper(data: Any, *args: Any, **kwargs: Any) -> Any:
        ax = plot(data, *args, **kwargs)
        lang = resolve_lang(kwargs.get("lang", "en"))
        missing = list(getattr(data, "attrs", {}).get("missing_series") or [])
        drawn = any(t.get_gid() == PARTIAL_GID for t in ax.texts)  # by the headline
        if missing and not drawn:
            ax.text(
                0.01,
                0.99,
                _partial_text(missing, lang),
                transform=ax.transAxes,
                ha="left",
                va="top",
                fontsize="small",
                color="#B00020",
                bbox={"facecolor": "white", "edgecolor": "#B00020", "boxstyle": "round,pad=0.3"},
                gid=PARTIAL_GID,
                **_font(lang),
                zorder=10,
            )
        return ax

    return wrapper  # type: ignore[return-value]


def _partial_text(missing: list[str], lang: str = "en") -> str:
    named = ", ".join(missing[:3])
    if len(missing) > 3:
        named = t("{items} and {more} more", lang, items=named, more=len(missing) - 3)
    return t(
        "Partial data: {n} series missing ({named}); totals are understated",
        lang,
        n=len(missing),
        named=named,
    )


def _font(lang: str) -> dict[str, Any]:
    """The font family that draws ``lang`` (:func:`~costtrend_nb.lang.rc_for`), as keywords
    of a text: none for English."""
    family = rc_for(lang).get("font.family")
    return {"fontfamily": family} if family else {}


def _axes(ax: Any, figsize: tuple[float, float] = (9, 4), lang: str = "en") -> Any:
    """``ax``, or new axes; for Chinese, axes made before the style's font get it too."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    family = _font(lang).get("fontfamily")
    if family:
        ax.tick_params(which="both", labelfontfamily=family)
        texts = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        texts += [ax.xaxis.get_offset_text(), ax.yaxis.get_offset_text()]
        for text in texts:
            text.set_fontfamily(family)
    return ax


def _group_text(group: Any, labels: Mapping[int, str] | None, lang: str = "en") -> str:
    """A group's label (:func:`~costtrend_nb.style.group_label`), "Other" in ``lang``."""
    return t(OTHER, lang) if group == OTHER else group_label(group, labels)


def _names(names: Names) -> dict[int, str]:
    if names is None:
        return {}
    if isinstance(names, pd.DataFrame):
        return {int(i): str(n) for i, n in zip(names["id"], names["name"], strict=True)}
    return {int(k): str(v) for k, v in names.items()}


def _is_empty(data: pd.DataFrame, metric: str) -> bool:
    """True when ``data`` holds no row of ``metric``, or only zeros: nothing to draw."""
    values = data.loc[data["metric"] == metric, "value"]
    return bool(values.fillna(0.0).abs().sum() == 0)


def _no_data(ax: Any, metric: str = "total_amount", lang: str = "en") -> Any:
    """One centred sentence instead of an axis of ¥0 ticks: no spend (or usage) here."""
    return _message(ax, t(NO_SPEND if metric_info(metric).unit == "CNY" else NO_USAGE, lang))


def _message(ax: Any, what: str) -> Any:
    """One centred sentence instead of the plot, its axes bare."""
    from matplotlib.font_manager import FontProperties

    pixels = (_width_in(ax) - 1.2) * float(ax.figure.dpi)
    what = _wrap(what, pixels, FontProperties(size=11), _renderer(ax.figure))
    ax.text(
        0.5,
        0.5,
        what,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="#666666",
        fontsize=11,
        gid=EMPTY_GID,
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()
    return ax


# -- scope: what a figure covers --------------------------------------------------------------


def _local(stamps: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Wall-clock time in the data's zone: what the axis shows."""
    return pd.DatetimeIndex(stamps).tz_localize(None)


# Numeric dates for Chinese readers (11-01, 2026-11), as the vendor's console writes them.
_ZH_DATES = {
    "formats": ["%Y", "%Y-%m", "%m-%d", "%H:%M", "%H:%M", "%S.%f"],
    "zero_formats": ["", "%Y", "%Y-%m", "%m-%d", "%H:%M", "%H:%M"],
    "offset_formats": ["", "%Y", "%Y", "%Y", "%Y-%m-%d", "%Y-%m-%d %H:%M"],
}


def _date_axis(ax: Any, lang: str = "en") -> None:
    import matplotlib.dates as mdates

    room = _width_in(ax) - 2.2  # less the tick labels and a legend beside the axes
    locator = mdates.AutoDateLocator(minticks=3, maxticks=max(3, min(9, int(room / 0.75))))
    ax.xaxis.set_major_locator(locator)
    formats = _ZH_DATES if lang == "zh" else {}
    ax.xaxis.set_major_formatter(_year_once(mdates.ConciseDateFormatter(locator, **formats)))


def _year_once(formatter: Any) -> Any:
    """``formatter`` with its offset cut to the year when a tick already names the rest
    (ticks "Nov 15 Dec" with the offset "2026-Dec" say December twice: the offset reads "2026").

    Example:
        >>> import matplotlib.dates as mdates, datetime as dt
        >>> f = _year_once(mdates.ConciseDateFormatter(mdates.AutoDateLocator()))
        >>> f.format_ticks([mdates.date2num(dt.datetime(2026, m, d)) for m, d in
        ...                 [(11, 15), (12, 1)]]), f.get_offset()
        (['15', 'Dec'], '2026')
    """
    format_ticks = formatter.format_ticks

    def year_once(values: Any) -> list[str]:
        labels = format_ticks(values)
        year, _, rest = formatter.offset_string.partition("-")
        if rest and rest in labels:
            formatter.offset_string = year
        return labels

    formatter.format_ticks = year_once
    return formatter


def _value_axis(ax: Any, metric: str, lang: str, axis: str = "y") -> None:
    unit = metric_info(metric).unit
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(unit_formatter(unit))
    (ax.set_ylabel if axis == "y" else ax.set_xlabel)(metric_label(metric, lang))


def _window_text(start: pd.Timestamp, end: pd.Timestamp, lang: str = "en") -> str:
    """A half-open window as people read it: 1 Nov – 19 Nov 2026, or with hours; in Chinese
    numeric dates (:func:`~costtrend_nb.lang.format_window`)."""
    if lang == "zh":
        return format_window(start, end, lang)
    if end == end.normalize() and start == start.normalize():
        last = end - pd.Timedelta(days=1)
        if last <= start:
            return f"{start:%d %b %Y}"
        head = f"{start:%d %b}" if start.year == last.year else f"{start:%d %b %Y}"
        return f"{head} – {last:%d %b %Y}"
    return f"{start:%d %b %Y %H:%M} – {end:%d %b %H:%M}"


def _fold_top(table: pd.DataFrame, column: str, top: int) -> pd.Series:
    totals = table.groupby(column, observed=True, dropna=False)["value"].sum()
    keep = set(totals.sort_values(ascending=False).index[:top])
    return table[column].astype(object).map(lambda g: g if g in keep else OTHER)


def _per_bucket(df: pd.DataFrame, metric: str, by: str | None, top: int) -> pd.DataFrame:
    """Timestamp x group sums (top groups, then Other), with each bucket's completeness."""
    rows = df[df["metric"] == metric]
    if by is None:
        table = rows.groupby("timestamp").agg(value=("value", "sum"), complete=("complete", "all"))
        table["group"] = "Total"
        return table.reset_index()
    rows = rows.assign(group=_fold_top(rows, by, top))
    table = rows.groupby(["timestamp", "group"], sort=True, dropna=False).agg(
        value=("value", "sum"), complete=("complete", "all")
    )
    return table.reset_index()


def _group_order(table: pd.DataFrame) -> list[Any]:
    totals = table.groupby("group", dropna=False)["value"].sum().sort_values(ascending=False)
    order = [g for g in totals.index if g != OTHER]
    return order + ([OTHER] if OTHER in totals.index else [])


def _shade_incomplete(ax: Any, table: pd.DataFrame, freq: str, lang: str = "en") -> None:
    """Hatch from the last complete point to the last incomplete one: the dashed stretch."""
    complete = table.groupby("timestamp")["complete"].all()
    if complete.all():
        return
    done = complete[complete].index
    start = done.max() if len(done) else complete.index.min()
    end = complete.index.max()
    step = pd.Timedelta(days=1) if freq == "D" else pd.Timedelta(hours=1)
    if start == end:
        start, end = start - step / 2, end + step / 2
    ax.axvspan(
        _local(pd.DatetimeIndex([start]))[0],
        _local(pd.DatetimeIndex([end]))[0],
        facecolor=(1, 1, 1, 0.55),
        edgecolor="#666666",
        hatch="//",
        lw=0,
        label=t(INCOMPLETE, lang),
        zorder=3,
    )


def _legend_outside(ax: Any, **kwargs: Any) -> Any:
    """The legend right of the axes, its top level with theirs: it never covers the data."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, **kwargs)
