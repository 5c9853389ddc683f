"""The current period against the one before (:func:`plot_period_overlay`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..analysis import align_periods, compare_periods
from ..analysis._frame import check_additive, validate
from ..catalogue import metric_info
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
    with style_context():
        ax = _axes(ax)
        subject = _subject(metric_info(metric).label, data, names)
        if _is_empty(data, metric):
            title = f"{subject}: this {period} against the last"
            _scoped_headline(ax, title, data, metric_label(metric, lang), names)
            return _no_data(ax, metric)
        overlay = align_periods(data, metric, period, as_of=as_of, align=align)
        row = compare_periods(data, metric, period, as_of=as_of, align=align).iloc[0]
        days = overlay["offset"] / pd.Timedelta(days=1)
        full_previous = overlay.dropna(subset=["previous"])
        ax.plot(
            days,
            overlay["current"],
            color="#0072B2",
            lw=2,
            label=f"Current: {_window_text(row['current_start'], row['current_end'])}",
            **kwargs,
        )
        ax.plot(
            days[full_previous.index],
            full_previous["previous"],
            color="#999999",
            lw=1.6,
            label=f"Previous: {_window_text(row['previous_start'], row['previous_end'])}",
            **kwargs,
        )
        if row["running"]:
            cut = (row["current_end"] - row["current_start"]) / pd.Timedelta(days=1)
            ax.axvline(cut, color="#0072B2", lw=0.8, ls=":", label="now (last complete bucket)")
        unit = metric_info(metric).unit
        start = row["current_start"]
        from matplotlib.ticker import MaxNLocator

        room = _width_in(ax) - 2.2  # less the tick labels and the legend beside the axes
        ax.xaxis.set_major_locator(MaxNLocator(nbins=max(2, min(8, int(room / 0.8)))))
        ax.xaxis.set_major_formatter(_offset_formatter(start, period))
        if pd.isna(row["previous"]):
            text = (
                f"{format_value(row['current'], unit)} so far\nthe previous period is not in "
                f"the frame:\nfetch from {row['previous_start']:%d %b %Y} to compare"
            )
        else:
            sign = "+" if row["delta"] >= 0 else ""
            delta = f"{sign}{format_value(row['delta'], unit)}"
            change = (
                f"{delta}: new, nothing in the period before"
                if pd.isna(row["pct_change"])
                else f"{_percent(row['pct_change'])} ({delta}) like for like"
            )
            text = (
                f"{change}\n"
                f"{format_value(row['current'], unit)} vs {format_value(row['previous'], unit)}"
            )
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
        title = f"{subject}: {row['period']} against the period before"
        _scoped_headline(ax, title, data, metric_label(metric, lang), names)
        _value_axis(ax, metric, lang)
        _legend_outside(ax)
        highest = max(overlay["current"].max(), overlay["previous"].max())
        ax.set_ylim(0, float(highest) * 1.4 if highest > 0 else 1.0)  # room for the box
    return ax


def _percent(fraction: float) -> str:
    """A change as people write it: +9.0 %, never -0.0 %."""
    text = f"{fraction * 100:+.1f} %"
    return "0.0 %" if text in ("+0.0 %", "-0.0 %") else text


def _offset_formatter(start: pd.Timestamp, period: Any) -> Any:
    from matplotlib.ticker import FuncFormatter

    base = start.tz_localize(None)
    if period == "day":
        return FuncFormatter(lambda d, _: f"{(base + pd.Timedelta(days=d)):%H:%M}")
    return FuncFormatter(lambda d, _: f"{(base + pd.Timedelta(days=d)):%d %b}")
