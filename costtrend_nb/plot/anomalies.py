"""The trend with its expected pattern and flagged buckets (:func:`plot_anomalies`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..analysis import detect_anomalies
from ..analysis._frame import check_additive, validate
from ..catalogue import metric_info
from ..lang import resolve_lang, t
from ..style import format_value, metric_label, style_context
from ._common import (
    Names,
    _axes,
    _date_axis,
    _group_text,
    _is_empty,
    _legend_outside,
    _local,
    _names,
    _no_data,
    _value_axis,
    notes_missing_series,
)
from ._titles import _scoped_headline, _subject

__all__ = ["plot_anomalies"]


@notes_missing_series
def plot_anomalies(
    data: pd.DataFrame,
    *,
    metric: str = "total_amount",
    threshold: float = 7.0,
    anomalies: pd.DataFrame | None = None,
    names: Names = None,
    lang: str = "en",
    annotate: int = 6,
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """The trend with its expected pattern, and flagged buckets marked and explained.

    The ``annotate`` strongest anomalies name the group that contributed most.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> client = CostTrendClient.demo()
        >>> df = client.fetch("2026-09-01", "2026-11-21", granularity="daily", by="model_type")
        >>> plot_anomalies(df).get_ylabel()
        'Cost (CNY)'
    """
    validate(data)
    check_additive(metric)
    labels = _names(names)
    lang = resolve_lang(lang)
    with style_context(lang):
        ax = _axes(ax, lang=lang)
        subject = _subject(metric_info(metric).label, data, names, lang)
        unit = t(
            "{unit}, flagged beyond a robust z of {z}",
            lang,
            unit=metric_label(metric, lang),
            z=f"{threshold:g}",
        )
        if _is_empty(data, metric):
            title = t("{subject}: anomalies", lang, subject=subject)
            _scoped_headline(ax, title, data, unit, names, lang=lang)
            return _no_data(ax, metric, lang)
        found = (
            anomalies
            if anomalies is not None
            else detect_anomalies(data, metric, threshold=threshold)
        )
        x = _local(found["timestamp"])
        ax.plot(x, found["value"], color="#333333", lw=1.3, label=t("Actual", lang), **kwargs)
        ax.plot(x, found["expected"], color="#999999", lw=1.0, ls="--", label=t("Expected", lang))
        flagged = found[found["anomaly"]]
        count = len(flagged)
        many = "1 anomaly" if count == 1 else "{count} anomalies"
        finding = t(many, lang, count=count) if count else t("no anomaly", lang)
        title = t("{subject}: {finding}", lang, subject=subject, finding=finding)
        _scoped_headline(ax, title, data, unit, names, lang=lang)
        ax.scatter(
            _local(flagged["timestamp"]),
            flagged["value"],
            s=60,
            facecolors="none",
            edgecolors="#D55E00",
            linewidths=1.8,
            zorder=3,
            label=t("Anomaly", lang),
        )
        unit = metric_info(metric).unit
        strongest = _strongest_per_run(found, annotate)
        for _, r in strongest.iterrows():
            who = (
                ""
                if r["contributor"] is None
                else f"{_group_text(r['contributor'], labels, lang)} "
            )
            text = (
                f"{who}{'+' if r['contribution'] >= 0 else ''}"
                f"{format_value(r['contribution'], unit)}"
                if who
                else f"z {r['score']:+.0f}"
            )
            ax.annotate(
                text,
                (_local(pd.DatetimeIndex([r["timestamp"]]))[0], r["value"]),
                textcoords="offset points",
                xytext=(6, 8 if r["score"] > 0 else -14),
                fontsize=8,
                color="#D55E00",
            )
        _date_axis(ax, lang)
        _value_axis(ax, metric, lang)
        ax.set_ylim(bottom=0)
        _legend_outside(ax)
    return ax


def _strongest_per_run(found: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The strongest anomaly of each run of consecutive flagged buckets, strongest runs first."""
    flags = found["anomaly"].to_numpy()
    run = np.cumsum(np.concatenate([[flags[0]], flags[1:] & ~flags[:-1]])) if len(flags) else flags
    flagged = found[flags].assign(run=run[flags], strength=found["score"].abs()[flags])
    best = flagged.sort_values("strength", ascending=False).drop_duplicates("run")
    return best.head(limit)
