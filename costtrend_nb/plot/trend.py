"""A metric over time: one line, or a line or stacked area per group (:func:`plot_trend`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..analysis._frame import bucket_freq, check_additive, validate
from ..catalogue import metric_info
from ..lang import resolve_lang, t
from ..style import MAX_COLORS, colors_for, metric_label, style_context
from ._common import (
    _GROUP_TITLE,
    Names,
    _axes,
    _date_axis,
    _group_order,
    _group_text,
    _is_empty,
    _legend_outside,
    _local,
    _names,
    _no_data,
    _per_bucket,
    _shade_incomplete,
    _value_axis,
    notes_missing_series,
)
from ._titles import _scoped_headline, _subject

__all__ = ["plot_trend"]


@notes_missing_series
def plot_trend(
    data: pd.DataFrame,
    *,
    metric: str = "total_amount",
    by: str | None = None,
    kind: str = "line",
    top: int = MAX_COLORS,
    names: Names = None,
    lang: str = "en",
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """A metric over time: one line, or a line or stacked area per model type or department.

    Incomplete buckets are dashed (lines) and hatched (the shaded span at the end). ``top``
    groups keep their colours; the rest fold into a grey "Other". ``lang="zh"`` draws it in
    Chinese (in English, with one warning, where no font draws Chinese).

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> client = CostTrendClient.demo()
        >>> df = client.fetch("2026-09-01", "2026-11-21", granularity="daily", by="model_type")
        >>> plot_trend(df, metric="total_calls", by="model_type").get_title()
        'Calls by model type'
    """
    validate(data)
    check_additive(metric)
    if kind not in ("line", "area"):
        raise ValueError(f"kind must be 'line' or 'area', not {kind!r}")
    lang = resolve_lang(lang)
    with style_context(lang):
        ax = _axes(ax, lang=lang)
        title = _subject(metric_info(metric).label, data, names, lang)
        if by:
            title = t("{subject} by {group}", lang, subject=title, group=t(_GROUP_TITLE[by], lang))
        _scoped_headline(ax, title, data, metric_label(metric, lang), names, lang=lang)
        rows = data[data["metric"] == metric]
        if _is_empty(data, metric):
            return _no_data(ax, metric, lang)
        freq = bucket_freq(data)
        table = _per_bucket(rows, metric, by, top)
        order = _group_order(table)
        labels = _names(names)
        wide = table.pivot_table(
            index="timestamp", columns="group", values="value", aggfunc="sum", dropna=False
        )
        wide = wide.reindex(columns=order).fillna(0.0)
        complete = table.groupby("timestamp")["complete"].all().reindex(wide.index)
        x = _local(wide.index)
        colors = colors_for(order) if by else ["#0072B2"]
        if kind == "area":
            ax.stackplot(
                x,
                wide.T.to_numpy(),
                colors=colors,
                labels=[_group_text(g, labels, lang) for g in order],
                step=None,
                lw=0,
                **kwargs,
            )
        else:
            done = complete.to_numpy()
            last_done = np.flatnonzero(done).max() if done.any() else -1
            for group, color in zip(order, colors, strict=True):
                y = wide[group].to_numpy()
                label = (
                    _group_text(group, labels, lang) if by else t(metric_info(metric).label, lang)
                )
                ax.plot(
                    x[: last_done + 1],
                    y[: last_done + 1],
                    color=color,
                    label=label,
                    lw=1.6,
                    **kwargs,
                )
                if last_done < len(y) - 1:
                    tail = slice(max(last_done, 0), len(y))
                    ax.plot(x[tail], y[tail], color=color, lw=1.6, ls="--", **kwargs)
        _shade_incomplete(ax, table, freq, lang)
        _date_axis(ax, lang)
        _value_axis(ax, metric, lang)
        if kind == "area" or by or not complete.all():
            _legend_outside(ax)
        ax.set_ylim(bottom=min(0, float(np.nanmin(wide.to_numpy()))))
    return ax
