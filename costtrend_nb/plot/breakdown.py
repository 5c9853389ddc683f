"""Shares by model type or department: bars or shares over time (:func:`plot_breakdown`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..analysis import breakdown, share_over_time
from ..analysis._frame import check_additive, validate
from ..analysis.breakdown import OTHER
from ..catalogue import metric_info
from ..lang import percent_sign, resolve_lang, t
from ..style import MAX_COLORS, colors_for, metric_label, style_context, unit_formatter
from ._common import (
    _GROUP_TITLE,
    Names,
    _axes,
    _date_axis,
    _group_text,
    _is_empty,
    _legend_outside,
    _local,
    _message,
    _names,
    _no_data,
    _shade_incomplete,
    _window_text,
    notes_missing_series,
)
from ._titles import _scoped_headline, _span, _subject

__all__ = ["plot_breakdown"]


@notes_missing_series
def plot_breakdown(
    data: pd.DataFrame,
    *,
    by: str = "model_type",
    metric: str = "total_amount",
    kind: str = "bar",
    top: int = MAX_COLORS,
    period: Any = "month",
    freq: str | None = "D",
    names: Names = None,
    lang: str = "en",
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """Shares by model type or department: bars for the latest period, or shares over time.

    ``kind="bar"``: the period's totals, largest first, with each group's share and change on
    the period before. ``kind="share"``: each group's share of the total per ``freq`` bucket.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> client = CostTrendClient.demo()
        >>> df = client.fetch("2026-09-01", "2026-11-21", granularity="daily", by="model_type")
        >>> plot_breakdown(df, by="model_type", kind="share", freq="W-MON").get_title()
        'Share of cost by model type'
    """
    validate(data)
    check_additive(metric)
    if kind not in ("bar", "share"):
        raise ValueError(f"kind must be 'bar' or 'share', not {kind!r}")
    labels = _names(names)
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    lang = resolve_lang(lang)
    with style_context(lang):
        ax = _axes(ax, lang=lang)
        subject = _subject(metric_info(metric).label, data, names, lang)
        group = t(_GROUP_TITLE.get(by, by), lang)
        what = t("{subject} by {group}", lang, subject=subject, group=group)
        axis_label = metric_label(metric, lang)
        if _is_empty(data, metric):
            _scoped_headline(ax, what, data, axis_label, names, lang=lang)
            return _no_data(ax, metric, lang)
        if kind == "bar":
            table = breakdown(data, by, metric, top=top, period=period)
            if table["current"].isna().all():  # breakdown warned: the frame misses the period
                _scoped_headline(ax, what, data, axis_label, names, lang=lang)
                if "current_start" in table:
                    first = table.iloc[0]
                    missed = _window_text(first["current_start"], first["current_end"], lang)
                    term = "The frame does not cover {window}:\nfetch it to see it"
                else:  # the totals of the whole frame (no period): it has holes
                    missed = _window_text(*_span(data), lang=lang)  # type: ignore[misc]
                    term = "The frame has holes in {window}:\nfetch it whole to see it"
                return _message(ax, t(term, lang, window=missed))
            groups = table[by].tolist()
            y = np.arange(len(groups))[::-1]
            ax.barh(y, table["current"], color=colors_for(groups), **kwargs)
            ax.set_yticks(y, [_group_text(g, labels, lang) for g in groups])
            unit = metric_info(metric).unit
            for yi, (_, r) in zip(y, table.iterrows(), strict=True):
                change = (
                    "" if pd.isna(r["pct_change"]) else f", {_whole_percent(r['pct_change'], lang)}"
                )
                share = f"  {r['share'] * 100:.0f}{percent_sign(lang)}{change}"
                ax.text(r["current"], yi, share, va="center", fontsize=9)
            ax.xaxis.set_major_formatter(unit_formatter(unit))
            ax.set_xlabel(metric_label(metric, lang))
            ax.grid(axis="y", visible=False)
            ax.grid(axis="x", visible=True)
            ax.set_xlim(right=float(table["current"].max()) * 1.3 or 1.0)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
            window: str | None = None
            if "current_start" in table:
                first = table.iloc[0]
                window = t(
                    "{current}, change on {previous}",
                    lang,
                    current=_window_text(first["current_start"], first["current_end"], lang),
                    previous=_window_text(first["previous_start"], first["previous_end"], lang),
                )
            _scoped_headline(ax, what, data, axis_label, names, window=window, lang=lang)
            return ax
        shares = share_over_time(data, by, metric, freq=freq, top=top)
        wide = shares.pivot_table(
            index="timestamp", columns=by, values="share", aggfunc="sum", dropna=False
        ).fillna(0.0)
        totals = shares.groupby(by, dropna=False)["value"].sum().sort_values(ascending=False)
        order = [g for g in totals.index if g != OTHER] + ([OTHER] if OTHER in totals.index else [])
        wide = wide.reindex(columns=order).fillna(0.0)
        ax.stackplot(
            _local(wide.index),
            wide.T.to_numpy(),
            colors=colors_for(order),
            labels=[_group_text(g, labels, lang) for g in order],
            lw=0,
            **kwargs,
        )

        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylim(0, 1)
        _shade_incomplete(ax, shares, "D", lang)
        label = t(metric_info(metric).label, lang)
        label = label if lang == "zh" else label.lower()
        ax.set_ylabel(t("share of {what}", lang, what=label))
        _date_axis(ax, lang)
        _legend_outside(ax)
        share_of = what if lang == "zh" else what[0].lower() + what[1:]
        _scoped_headline(
            ax,
            t("Share of {what}", lang, what=share_of),
            data,
            t("Share of {what} (%)", lang, what=label),
            names,
            lang=lang,
        )
    return ax


def _whole_percent(fraction: float, lang: str = "en") -> str:
    """A change in whole percent, signed: +9 %, 0 % (never -0 %); +9% in Chinese."""
    text = f"{fraction * 100:+.0f}"
    return ("0" if text in ("+0", "-0") else text) + percent_sign(lang)
