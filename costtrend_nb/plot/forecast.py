"""Actuals and the forecast with its bands, or where the month will land (:func:`plot_forecast`)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..analysis import forecast, month_end_landing
from ..analysis._frame import bucket_ends, bucket_freq, check_additive, validate
from ..catalogue import metric_info
from ..lang import resolve_lang, t
from ..style import MAX_COLORS, format_value, metric_label, style_context
from ._common import (
    Names,
    _axes,
    _date_axis,
    _is_empty,
    _legend_outside,
    _local,
    _no_data,
    _per_bucket,
    _value_axis,
    _window_text,
    notes_missing_series,
)
from ._titles import KEY_GID, _scoped_headline, _subject

__all__ = ["BUDGET_HEADROOM", "draw_budget", "plot_forecast"]

BUDGET_HEADROOM = 1.12  # the month view's axes reach this far above a budget line
BUDGET_COLOR = "#D55E00"


@notes_missing_series
def plot_forecast(
    data: pd.DataFrame,
    *,
    metric: str = "total_amount",
    horizon: Any = "14D",
    view: str = "daily",
    budget: float | None = None,
    history: int | None = None,
    forecast_frame: pd.DataFrame | None = None,
    lang: str = "en",
    names: Names = None,
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """Actuals and the forecast with 80 % and 95 % bands; or where the month will land.

    ``view="daily"``: the last ``history`` buckets, the median forecast and its bands.
    ``view="month"``: spend so far this month (cumulative), the median path to the month's end,
    the landing with its 80 % and 95 % intervals, and ``budget`` as a line with the probability
    of going over it. ``names`` (``client.departments()``) names a department filter.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> client = CostTrendClient.demo()
        >>> df = client.fetch("2026-09-01", "2026-11-21", granularity="daily", by="model_type")
        >>> plot_forecast(df, view="month", budget=80_000).get_title()
        'Cost: where 2026-11 will land'
    """
    validate(data)
    check_additive(metric)
    if view not in ("daily", "month"):
        raise ValueError(f"view must be 'daily' or 'month', not {view!r}")
    lang = resolve_lang(lang)
    with style_context(lang):
        ax = _axes(ax, lang=lang)
        label = _subject(metric_info(metric).label, data, names, lang)
        if _is_empty(data, metric):
            title = t("{label}: forecast", lang, label=label)
            _scoped_headline(ax, title, data, metric_label(metric, lang), names, lang=lang)
            return _no_data(ax, metric, lang)
        freq = bucket_freq(data)
        if view == "month":
            return _plot_landing(data, metric, budget, lang, ax, names)
        fc = forecast_frame if forecast_frame is not None else forecast(data, metric, horizon)
        table = _per_bucket(data[data["metric"] == metric], metric, None, MAX_COLORS)
        keep = history if history is not None else (56 if freq == "D" else 24 * 7)
        table = table.iloc[-keep:]
        done = table[table["complete"]]
        x_done = _local(done["timestamp"])
        ax.plot(x_done, done["value"], color="#333333", lw=1.5, label=t("Actual", lang))
        if (~table["complete"]).any():
            pending = table[~table["complete"]]
            ax.plot(
                _local(pending["timestamp"]),
                pending["value"],
                color="#333333",
                lw=1.2,
                ls=":",
                marker="o",
                ms=3,
                label=t("Actual so far (incomplete)", lang),
            )
        x_fc = _local(fc["timestamp"])
        band95, band80 = t("95% interval", lang), t("80% interval", lang)
        ax.fill_between(
            x_fc, fc["lo_95"], fc["hi_95"], color="#56B4E9", alpha=0.25, lw=0, label=band95
        )
        ax.fill_between(
            x_fc, fc["lo_80"], fc["hi_80"], color="#0072B2", alpha=0.3, lw=0, label=band80
        )
        median = t("Forecast (median)", lang)
        ax.plot(x_fc, fc["yhat"], color="#0072B2", lw=1.8, ls="--", label=median, **kwargs)
        _date_axis(ax, lang)
        _value_axis(ax, metric, lang)
        ax.set_ylim(bottom=0)
        ahead = (
            "{label}: forecast, {n} days ahead"
            if freq == "D"
            else ("{label}: forecast, {n} hours ahead")
        )
        title = t(ahead, lang, label=label, n=len(fc))
        unit = t(
            "{unit}, model: {model}",
            lang,
            unit=metric_label(metric, lang),
            model=_model_text(str(fc["model"].iloc[0]), lang),
        )
        _scoped_headline(ax, title, data, unit, names, lang=lang)
        _legend_outside(ax)
    return ax


# How a forecast's model describes itself (analysis.engines, analysis.forecast), in Chinese.
_MODEL_ZH = (
    (re.compile(r" on log scale"), "，对数尺度"),
    (re.compile(r" on linear scale"), "，线性尺度"),
    (re.compile(r", season (\d+)"), r"，季节周期 \1"),
    (re.compile(r"seasonal naive \(season (\d+)\)"), r"季节性朴素（季节周期 \1）"),
    (
        re.compile(r"; intervals calibrated on (\d+) backtests? \(x([\d.]+)\)"),
        r"；区间经 \1 次回测校准（×\2）",
    ),
    (re.compile(r" h and "), " h、"),
    (
        re.compile(r"）: (\d+) (days|hours) of history; (\w+) needs (\d+)"),
        lambda m: f"）：历史仅 {m[1]} {'天' if m[2] == 'days' else '小时'}，{m[3]} 需要 {m[4]}",
    ),
)


def _model_text(description: str, lang: str) -> str:
    """A forecast model's description in ``lang``: its method names stay as they are.

    Example:
        >>> _model_text("ETS(A,Ad,A) on log scale, season 7; intervals calibrated on 6 "
        ...             "backtests (x1.82)", "zh")
        'ETS(A,Ad,A)，对数尺度，季节周期 7；区间经 6 次回测校准（×1.82）'
        >>> _model_text("fan; intervals calibrated on 1 backtest (x1.00)", "zh")
        'fan；区间经 1 次回测校准（×1.00）'
    """
    if lang != "zh":
        return description
    for pattern, replacement in _MODEL_ZH:
        description = pattern.sub(replacement, description)
    return description


def _plot_landing(
    data: pd.DataFrame, metric: str, budget: float | None, lang: str, ax: Any, names: Names
) -> Any:
    land = month_end_landing(data, metric=metric, budget=budget).iloc[0]
    table = _per_bucket(data[data["metric"] == metric], metric, None, MAX_COLORS)
    month = table[
        (table["timestamp"] >= land["month_start"]) & (table["timestamp"] < land["as_of"])
    ]
    # spend so far is known at the end of each bucket, starting from 0 at the month's start
    ends = bucket_ends(month["timestamp"], bucket_freq(data))
    x = _local(pd.DatetimeIndex([land["month_start"], *ends]))
    cumulative = np.concatenate([[0.0], month["value"].cumsum().to_numpy()])
    ax.plot(x, cumulative, color="#333333", lw=1.8, label=t("Spent so far", lang))
    end = _local(pd.DatetimeIndex([land["month_end"]]))[0]
    now = _local(pd.DatetimeIndex([land["as_of"]]))[0]
    ax.plot(
        [now, end],
        [cumulative[-1], land["landing"]],
        color="#0072B2",
        ls="--",
        lw=1.5,
        label=t("Median path", lang),
    )
    low95, high95 = land["landing"] - land["lo_95"], land["hi_95"] - land["landing"]
    low80, high80 = land["landing"] - land["lo_80"], land["hi_80"] - land["landing"]
    ax.errorbar(
        [end],
        [land["landing"]],
        yerr=[[low95], [high95]],
        fmt="none",
        ecolor="#56B4E9",
        elinewidth=2,
        capsize=8,
        label=t("95% interval", lang),
    )
    ax.errorbar(
        [end],
        [land["landing"]],
        yerr=[[low80], [high80]],
        fmt="o",
        color="#0072B2",
        ecolor="#0072B2",
        elinewidth=4,
        capsize=0,
        label=t("80% interval", lang),
    )
    ax.text(  # bottom right: below the path, which climbs from bottom left to top right
        0.98,
        0.03,
        t("Lands at {value}", lang, value=format_value(land["landing"], "CNY")) + "\n"
        f"80%: {format_value(land['lo_80'], 'CNY')}"
        f" – {format_value(land['hi_80'], 'CNY')}\n95%: {format_value(land['lo_95'], 'CNY')}"
        f" – {format_value(land['hi_95'], 'CNY')}",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=9,
        bbox={"boxstyle": "round", "fc": "white", "ec": "#CCCCCC"},
        gid=KEY_GID,
    )
    if budget is not None:
        draw_budget(ax, budget, float(land["p_exceed_budget"]), lang)
    _date_axis(ax, lang)
    _value_axis(ax, metric, lang)
    ax.set_ylim(bottom=0)
    if budget is not None:  # the line never sits on the axes' top edge
        ax.set_ylim(top=max(ax.get_ylim()[1], budget * BUDGET_HEADROOM))
    subject = _subject(metric_info(metric).label, data, names, lang)
    title = t("{subject}: where {month} will land", lang, subject=subject, month=land["month"])
    unit = t("{unit}, spent so far this month", lang, unit=metric_label(metric, lang))
    window = _window_text(land["month_start"], land["as_of"], lang)
    window = t("{window} so far", lang, window=window)
    _scoped_headline(ax, title, data, unit, names, window=window, lang=lang)
    _legend_outside(ax)
    return ax


def draw_budget(ax: Any, budget: float, p_over: float, lang: str = "en") -> list[Any]:
    """The budget as a line across the month view, labelled at its left end (where the month's
    spend is still low) with the probability of going over it; the artists drawn.

    The label sits on the line, not in the legend, so a new budget never changes the legend
    or the panel's size (the dashboard then repaints one panel in its kept layout).

    Example:
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> line, label = draw_budget(ax, 80_000, 0.36)
        >>> label.get_text(), line.get_ydata()[0]
        ('Budget ¥80,000: P(over) 36%', 80000)
        >>> plt.close(fig)
    """
    text = t(
        "Budget {value}: P(over) {p}", lang, value=format_value(budget, "CNY"), p=f"{p_over:.0%}"
    )
    line = ax.axhline(budget, color=BUDGET_COLOR, lw=1.2, label="_budget")  # "_": not in the legend
    label = ax.annotate(
        text,
        xy=(0.0, budget),
        xycoords=("axes fraction", "data"),
        xytext=(4, 3),
        textcoords="offset points",
        ha="left",
        va="bottom",
        fontsize=9,
        color=BUDGET_COLOR,
        bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
    )
    return [line, label]
