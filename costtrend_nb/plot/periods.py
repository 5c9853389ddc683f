"""The current period against the one before (:func:`plot_period_overlay`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..analysis import align_periods, compare_periods
from ..analysis._frame import check_additive, validate
from ..catalogue import metric_info
from ..lang import format_day, percent_sign, resolve_lang, t
from ..style import format_value, metric_label, style_context
from ._common import (
    Names,
    _axes,
    _is_empty,
    _legend_outside,
    _no_data,
    _value_axis,
    _window_text,
    notes_missing_series,
)
from ._text import _width_in
from ._titles import KEY_GID, _scoped_headline, _subject

__all__ = ["plot_period_overlay"]


@notes_missing_series
def plot_period_overlay(
    data: pd.DataFrame,
    *,
    metric: str = "total_amount",
    period: Any = "week",
    align: str = "calendar",
    as_of: Any = None,
    lang: str = "en",
    names: Names = None,
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """The current period against the previous one on one aligned axis, the change annotated.

    The legend names both windows with their dates; the box gives the like-for-like change.
    ``names`` (``client.departments()``) names a department filter in the title.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> client = CostTrendClient.demo()
        >>> df = client.fetch("2026-09-01", "2026-11-21", granularity="daily", by="model_type")
        >>> plot_period_overlay(df, period="month").get_title()
        'Cost: 2026-11 against the period before'
    """
    validate(data)
    check_additive(metric)
    lang = resolve_lang(lang)
    with style_context(lang):
        ax = _axes(ax, lang=lang)
        subject = _subject(metric_info(metric).label, data, names, lang)
        axis_label = metric_label(metric, lang)
        if _is_empty(data, metric):
            term = "{subject}: this {period} against the last"
            title = t(term, lang, subject=subject, period=t(str(period), lang))
            _scoped_headline(ax, title, data, axis_label, names, lang=lang)
            return _no_data(ax, metric, lang)
        overlay = align_periods(data, metric, period, as_of=as_of, align=align)
        row = compare_periods(data, metric, period, as_of=as_of, align=align).iloc[0]
        days = overlay["offset"] / pd.Timedelta(days=1)
        full_previous = overlay.dropna(subset=["previous"])
        ax.plot(
            days,
            overlay["current"],
            color="#0072B2",
            lw=2,
            label=t(
                "Current: {window}",
                lang,
                window=_window_text(row["current_start"], row["current_end"], lang),
            ),
            **kwargs,
        )
        ax.plot(
            days[full_previous.index],
            full_previous["previous"],
            color="#999999",
            lw=1.6,
            label=t(
                "Previous: {window}",
                lang,
                window=_window_text(row["previous_start"], row["previous_end"], lang),
            ),
            **kwargs,
        )
        if row["running"]:
            cut = (row["current_end"] - row["current_start"]) / pd.Timedelta(days=1)
            now = t("now (last complete bucket)", lang)
            ax.axvline(cut, color="#0072B2", lw=0.8, ls=":", label=now)
        unit = metric_info(metric).unit
        start = row["current_start"]
        from matplotlib.ticker import MaxNLocator

        room = _width_in(ax) - 2.2  # less the tick labels and the legend beside the axes
        ax.xaxis.set_major_locator(MaxNLocator(nbins=max(2, min(8, int(room / 0.8)))))
        ax.xaxis.set_major_formatter(_offset_formatter(start, period, lang))
        if pd.isna(row["previous"]):
            day = row["previous_start"]
            text = t(
                "{value} so far\nthe previous period is not in the frame:\n"
                "fetch from {day} to compare",
                lang,
                value=format_value(row["current"], unit),
                day=format_day(day, lang) if lang == "zh" else f"{day:%d %b %Y}",
            )
        else:
            sign = "+" if row["delta"] >= 0 else ""
            delta = f"{sign}{format_value(row['delta'], unit)}"
            new = t("new, nothing in the period before", lang)
            change = (
                f"{delta}{'：' if lang == 'zh' else ': '}{new}"
                if pd.isna(row["pct_change"])
                else t(
                    "{pct} ({delta}) like for like",
                    lang,
                    pct=_percent(row["pct_change"], lang),
                    delta=delta,
                )
            )
            versus = t(
                "{current} vs {previous}",
                lang,
                current=format_value(row["current"], unit),
                previous=format_value(row["previous"], unit),
            )
            text = f"{change}\n{versus}"
        ax.text(
            0.99,
            0.97,
            text,
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=10,
            bbox={"boxstyle": "round", "fc": "white", "ec": "#CCCCCC"},
            gid=KEY_GID,
        )
        term = "{subject}: {period} against the period before"
        title = t(term, lang, subject=subject, period=row["period"])
        _scoped_headline(ax, title, data, axis_label, names, lang=lang)
        _value_axis(ax, metric, lang)
        _legend_outside(ax)
        highest = max(overlay["current"].max(), overlay["previous"].max())
        ax.set_ylim(0, float(highest) * 1.4 if highest > 0 else 1.0)  # room for the box
    return ax


def _percent(fraction: float, lang: str = "en") -> str:
    """A change as people write it: +9.0 %, never -0.0 % (+9.0% in Chinese)."""
    text = f"{fraction * 100:+.1f}"
    return ("0.0" if text in ("+0.0", "-0.0") else text) + percent_sign(lang)


def _offset_formatter(start: pd.Timestamp, period: Any, lang: str = "en") -> Any:
    from matplotlib.ticker import FuncFormatter

    base = start.tz_localize(None)
    if period == "day":
        return FuncFormatter(lambda d, _: f"{(base + pd.Timedelta(days=d)):%H:%M}")
    day = "%m-%d" if lang == "zh" else "%d %b"
    return FuncFormatter(lambda d, _: (base + pd.Timedelta(days=d)).strftime(day))
