"""Plots of the tidy frame and of the analysis, in matplotlib.

Every function is ``f(data, *, ..., ax=None, **kwargs) -> Axes``: it draws on ``ax`` when given
(else on a new figure), returns the ``Axes``, and never calls ``plt.show()``. Buckets that are
still running or settling are drawn hatched or dashed, so nobody mistakes an unfinished hour or
day for a drop. An empty selection draws a "No data" message instead of failing.

Example:
    >>> from costtrend_nb import CostTrendClient
    >>> df = CostTrendClient.demo().fetch("2026-11-01", "2026-11-21", granularity="daily",
    ...                                   by="model_type")
    >>> ax = plot_trend(df, by="model_type", kind="area")
    >>> ax.get_title()
    'Cost by model type'
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias, TypeVar

import numpy as np
import pandas as pd

from .analysis import (
    align_periods,
    breakdown,
    compare_periods,
    detect_anomalies,
    explain_change,
    forecast,
    month_end_landing,
    share_over_time,
)
from .analysis._frame import bucket_ends, bucket_freq, check_additive, validate
from .analysis.breakdown import OTHER
from .catalogue import metric_info
from .style import (
    MAX_COLORS,
    colors_for,
    format_value,
    group_label,
    metric_label,
    style_context,
    unit_formatter,
)

__all__ = [
    "plot_anomalies",
    "plot_breakdown",
    "plot_drivers",
    "plot_forecast",
    "plot_period_overlay",
    "plot_trend",
]

Names: TypeAlias = Mapping[int, str] | pd.DataFrame | None
INCOMPLETE = "Incomplete: still settling"
_GROUP_TITLE = {"model_type": "model type", "client_id": "department"}


# -- shared helpers -----------------------------------------------------------------------

_P = TypeVar("_P", bound=Callable[..., Any])
PARTIAL_GID = "costtrend-partial"  #: the ``gid`` of the notice drawn on plots of partial data


def notes_missing_series(plot: _P) -> _P:
    """Draw a visible notice on the axes when the data lacks series (``attrs["missing_series"]``,
    set by a fetch with ``on_error="partial"``): such totals are understated."""

    @functools.wraps(plot)
    def wrapper(data: Any, *args: Any, **kwargs: Any) -> Any:
        ax = plot(data, *args, **kwargs)
        missing = list(getattr(data, "attrs", {}).get("missing_series") or [])
        if missing:
            named = ", ".join(missing[:3]) + (
                f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            )
            ax.text(
                0.01,
                0.99,
                f"Partial data: {len(missing)} series missing ({named}); totals are understated",
                transform=ax.transAxes,
                ha="left",
                va="top",
                fontsize="small",
                color="#B00020",
                bbox={"facecolor": "white", "edgecolor": "#B00020", "boxstyle": "round,pad=0.3"},
                gid=PARTIAL_GID,
                zorder=10,
            )
        return ax

    return wrapper  # type: ignore[return-value]


def _axes(ax: Any, figsize: tuple[float, float] = (9, 4)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def _names(names: Names) -> dict[int, str]:
    if names is None:
        return {}
    if isinstance(names, pd.DataFrame):
        return {int(i): str(n) for i, n in zip(names["id"], names["name"], strict=True)}
    return {int(k): str(v) for k, v in names.items()}


def _no_data(ax: Any, what: str = "No data for this selection") -> Any:
    ax.text(0.5, 0.5, what, transform=ax.transAxes, ha="center", va="center", color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    return ax


def _local(stamps: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Wall-clock time in the data's zone: what the axis shows."""
    return pd.DatetimeIndex(stamps).tz_localize(None)


def _date_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _value_axis(ax: Any, metric: str, lang: str, axis: str = "y") -> None:
    unit = metric_info(metric).unit
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(unit_formatter(unit))
    (ax.set_ylabel if axis == "y" else ax.set_xlabel)(metric_label(metric, lang))


def _window_text(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """A half-open window as people read it: 1 Nov – 19 Nov 2026, or with hours."""
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


def _shade_incomplete(ax: Any, table: pd.DataFrame, freq: str) -> None:
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
        label=INCOMPLETE,
        zorder=3,
    )


# -- trend ----------------------------------------------------------------------------------


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
    groups keep their colours; the rest fold into a grey "Other". ``lang="zh"`` labels the
    metric with the vendor's Chinese name, which needs a font with CJK glyphs.

    Example:
        >>> ax = plot_trend(df, metric="total_calls", by="model_type")       # doctest: +SKIP
    """
    validate(data)
    check_additive(metric)
    if kind not in ("line", "area"):
        raise ValueError(f"kind must be 'line' or 'area', not {kind!r}")
    with style_context():
        ax = _axes(ax)
        by_label = f" by {_GROUP_TITLE[by]}" if by else ""
        ax.set_title(f"{metric_info(metric).label}{by_label}")
        rows = data[data["metric"] == metric]
        if rows.empty:
            return _no_data(ax)
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
                labels=[group_label(g, labels) for g in order],
                step=None,
                lw=0,
                **kwargs,
            )
        else:
            done = complete.to_numpy()
            last_done = np.flatnonzero(done).max() if done.any() else -1
            for group, color in zip(order, colors, strict=True):
                y = wide[group].to_numpy()
                label = group_label(group, labels) if by else metric_info(metric).label
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
        _shade_incomplete(ax, table, freq)
        _date_axis(ax)
        _value_axis(ax, metric, lang)
        if kind == "area" or by:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        elif not complete.all():
            ax.legend(loc="upper left")
        ax.set_ylim(bottom=min(0, float(np.nanmin(wide.to_numpy()))))
    return ax


# -- periods --------------------------------------------------------------------------------


@notes_missing_series
def plot_period_overlay(
    data: pd.DataFrame,
    *,
    metric: str = "total_amount",
    period: Any = "week",
    align: str = "calendar",
    as_of: Any = None,
    lang: str = "en",
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """The current period against the previous one on one aligned axis, the change annotated.

    The legend names both windows with their dates; the box gives the like-for-like change.

    Example:
        >>> ax = plot_period_overlay(df, period="month")                      # doctest: +SKIP
    """
    validate(data)
    check_additive(metric)
    with style_context():
        ax = _axes(ax)
        if (data["metric"] == metric).sum() == 0:
            ax.set_title(f"{metric_info(metric).label}: this {period} against the last")
            return _no_data(ax)
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
        ax.xaxis.set_major_formatter(_offset_formatter(start, period))
        if pd.isna(row["previous"]):
            text = (
                f"{format_value(row['current'], unit)} so far\nthe previous period is not in "
                f"the frame:\nfetch from {row['previous_start']:%d %b %Y} to compare"
            )
        else:
            change = (
                "n/a (nothing before)"
                if pd.isna(row["pct_change"])
                else f"{row['pct_change']:+.1%}"
            )
            sign = "+" if row["delta"] >= 0 else ""
            text = (
                f"{change} ({sign}{format_value(row['delta'], unit)}) like for like\n"
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
        )
        ax.set_title(f"{metric_info(metric).label}: {row['period']} against the period before")
        _value_axis(ax, metric, lang)
        ax.legend(loc="lower left")
        ax.set_ylim(bottom=0)
    return ax


def _offset_formatter(start: pd.Timestamp, period: Any) -> Any:
    from matplotlib.ticker import FuncFormatter

    base = start.tz_localize(None)
    if period == "day":
        return FuncFormatter(lambda d, _: f"{(base + pd.Timedelta(days=d)):%H:%M}")
    return FuncFormatter(lambda d, _: f"{(base + pd.Timedelta(days=d)):%d %b}")


# -- breakdown ------------------------------------------------------------------------------


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
        >>> ax = plot_breakdown(df, by="model_type", kind="share", freq="W-MON")  # doctest: +SKIP
    """
    validate(data)
    check_additive(metric)
    if kind not in ("bar", "share"):
        raise ValueError(f"kind must be 'bar' or 'share', not {kind!r}")
    labels = _names(names)
    with style_context():
        ax = _axes(ax)
        what = f"{metric_info(metric).label} by {_GROUP_TITLE.get(by, by)}"
        if (data["metric"] == metric).sum() == 0:
            ax.set_title(what)
            return _no_data(ax)
        if kind == "bar":
            table = breakdown(data, by, metric, top=top, period=period)
            groups = table[by].tolist()
            y = np.arange(len(groups))[::-1]
            ax.barh(y, table["current"], color=colors_for(groups), **kwargs)
            ax.set_yticks(y, [group_label(g, labels) for g in groups])
            unit = metric_info(metric).unit
            for yi, (_, r) in zip(y, table.iterrows(), strict=True):
                change = "" if pd.isna(r["pct_change"]) else f", {r['pct_change']:+.0%}"
                ax.text(r["current"], yi, f"  {r['share']:.0%}{change}", va="center", fontsize=9)
            ax.xaxis.set_major_formatter(unit_formatter(unit))
            ax.set_xlabel(metric_label(metric, lang))
            ax.grid(axis="y", visible=False)
            ax.grid(axis="x", visible=True)
            ax.set_xlim(right=float(table["current"].max()) * 1.25 or 1.0)
            window = ""
            if "current_start" in table:
                first = table.iloc[0]
                window = f", {_window_text(first['current_start'], first['current_end'])}"
                prev = _window_text(first["previous_start"], first["previous_end"])
                window += f" (change on {prev})"
            ax.set_title(what + window)
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
            labels=[group_label(g, labels) for g in order],
            lw=0,
            **kwargs,
        )
        from matplotlib.ticker import PercentFormatter

        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylim(0, 1)
        _shade_incomplete(ax, shares, "D")
        ax.set_ylabel(f"share of {metric_info(metric).label.lower()}")
        _date_axis(ax)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.set_title(f"Share of {what.lower()}")
    return ax


# -- drivers --------------------------------------------------------------------------------


@notes_missing_series
def plot_drivers(
    data: pd.DataFrame,
    *,
    by: str = "model_type",
    period: Any = "month",
    as_of: Any = None,
    align: str = "calendar",
    top: int = MAX_COLORS,
    names: Names = None,
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """A waterfall of the change in cost: each group's step, split into volume and unit cost.

    Steps run from 0 to the total change; within each, the volume effect (blue) and the
    unit-cost effect (orange) are stacked, so a group whose volume grew while prices fell shows
    both. Groups beyond ``top`` fold into "Other".

    Example:
        >>> ax = plot_drivers(df, by="client_id", names=client.departments())  # doctest: +SKIP
    """
    validate(data)
    labels = _names(names)
    with style_context():
        ax = _axes(ax)
        if (data["metric"] == "total_amount").sum() == 0:
            ax.set_title("What drove the change in cost")
            return _no_data(ax)
        table = explain_change(data, period, as_of=as_of, by=by, align=align)
        keep = table.iloc[:top]
        rest = table.iloc[top:]
        steps = [
            (group_label(g, labels), v, u)
            for g, v, u in zip(
                keep[by], keep["volume_effect"], keep["unit_cost_effect"], strict=True
            )
        ]
        if len(rest):
            steps.append(
                (OTHER, float(rest["volume_effect"].sum()), float(rest["unit_cost_effect"].sum()))
            )
        level = 0.0
        for i, (_, volume, unit_cost) in enumerate(steps):
            # volume first, then unit cost from where volume left off: side by side, so
            # effects of opposite sign never hide each other
            ax.bar(
                i - 0.17,
                volume,
                bottom=level,
                color="#0072B2",
                width=0.34,
                label="Volume effect" if i == 0 else None,
                **kwargs,
            )
            ax.bar(
                i + 0.17,
                unit_cost,
                bottom=level + volume,
                color="#E69F00",
                width=0.34,
                label="Unit-cost effect" if i == 0 else None,
                **kwargs,
            )
            step = volume + unit_cost
            ax.plot([i + 0.34, i + 0.66], [level + step] * 2, color="#666666", lw=0.8)
            top = max(level, level + volume, level + step)
            ax.annotate(
                f"{'+' if step >= 0 else ''}{format_value(step, 'CNY')}",
                (i, top),
                textcoords="offset points",
                xytext=(0, 3),
                ha="center",
                va="bottom",
                fontsize=8,
            )
            level += step
        total = level
        ax.bar(len(steps), total, color="#333333", width=0.6, label="Total change")
        ax.margins(y=0.12)
        ax.set_xticks(
            range(len(steps) + 1), [s[0] for s in steps] + ["Total"], rotation=30, ha="right"
        )
        ax.axhline(0, color="#666666", lw=0.8)
        ax.yaxis.set_major_formatter(unit_formatter("CNY"))
        ax.set_ylabel("change in cost (CNY)")
        row = table.iloc[0]
        ax.set_title(
            f"What drove the change in cost ({'+' if total >= 0 else ''}"
            f"{format_value(total, 'CNY')})\n"
            f"{_window_text(row['current_start'], row['current_end'])} against "
            f"{_window_text(row['previous_start'], row['previous_end'])}"
        )
        ax.legend(loc="upper left")
    return ax


# -- forecast -------------------------------------------------------------------------------


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
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """Actuals and the forecast with 80 % and 95 % bands; or where the month will land.

    ``view="daily"``: the last ``history`` buckets, the median forecast and its bands.
    ``view="month"``: spend so far this month (cumulative), the median path to the month's end,
    the landing with its 80 % and 95 % intervals, and ``budget`` as a line with the probability
    of going over it.

    Example:
        >>> ax = plot_forecast(df, view="month", budget=80_000)               # doctest: +SKIP
    """
    validate(data)
    check_additive(metric)
    if view not in ("daily", "month"):
        raise ValueError(f"view must be 'daily' or 'month', not {view!r}")
    with style_context():
        ax = _axes(ax)
        label = metric_info(metric).label
        if (data["metric"] == metric).sum() == 0:
            ax.set_title(f"{label}: forecast")
            return _no_data(ax)
        freq = bucket_freq(data)
        if view == "month":
            return _plot_landing(data, metric, budget, lang, ax)
        fc = forecast_frame if forecast_frame is not None else forecast(data, metric, horizon)
        table = _per_bucket(data[data["metric"] == metric], metric, None, MAX_COLORS)
        keep = history if history is not None else (56 if freq == "D" else 24 * 7)
        table = table.iloc[-keep:]
        done = table[table["complete"]]
        x_done = _local(done["timestamp"])
        ax.plot(x_done, done["value"], color="#333333", lw=1.5, label="Actual")
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
                label="Actual so far (incomplete)",
            )
        x_fc = _local(fc["timestamp"])
        ax.fill_between(
            x_fc, fc["lo_95"], fc["hi_95"], color="#56B4E9", alpha=0.25, lw=0, label="95% interval"
        )
        ax.fill_between(
            x_fc, fc["lo_80"], fc["hi_80"], color="#0072B2", alpha=0.3, lw=0, label="80% interval"
        )
        ax.plot(
            x_fc, fc["yhat"], color="#0072B2", lw=1.8, ls="--", label="Forecast (median)", **kwargs
        )
        _date_axis(ax)
        _value_axis(ax, metric, lang)
        ax.set_ylim(bottom=0)
        ax.set_title(f"{label}: forecast, {len(fc)} {'days' if freq == 'D' else 'hours'} ahead")
        ax.text(
            0.0,
            -0.18,
            str(fc["model"].iloc[0]),
            transform=ax.transAxes,
            fontsize=7,
            color="#666666",
            va="top",
        )
        ax.legend(loc="upper left", ncols=3)
    return ax


def _plot_landing(data: pd.DataFrame, metric: str, budget: float | None, lang: str, ax: Any) -> Any:
    land = month_end_landing(data, metric=metric, budget=budget).iloc[0]
    table = _per_bucket(data[data["metric"] == metric], metric, None, MAX_COLORS)
    month = table[
        (table["timestamp"] >= land["month_start"]) & (table["timestamp"] < land["as_of"])
    ]
    # spend so far is known at the end of each bucket, starting from 0 at the month's start
    ends = bucket_ends(month["timestamp"], bucket_freq(data))
    x = _local(pd.DatetimeIndex([land["month_start"], *ends]))
    cumulative = np.concatenate([[0.0], month["value"].cumsum().to_numpy()])
    ax.plot(x, cumulative, color="#333333", lw=1.8, label="Spent so far")
    end = _local(pd.DatetimeIndex([land["month_end"]]))[0]
    now = _local(pd.DatetimeIndex([land["as_of"]]))[0]
    ax.plot(
        [now, end],
        [cumulative[-1], land["landing"]],
        color="#0072B2",
        ls="--",
        lw=1.5,
        label="Median path",
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
        label="95% interval",
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
        label="80% interval",
    )
    ax.annotate(
        f"lands at {format_value(land['landing'], 'CNY')}\n"
        f"80%: {format_value(land['lo_80'], 'CNY')}"
        f" – {format_value(land['hi_80'], 'CNY')}\n95%: {format_value(land['lo_95'], 'CNY')}"
        f" – {format_value(land['hi_95'], 'CNY')}",
        (end, land["landing"]),
        textcoords="offset points",
        xytext=(-10, -40),
        ha="right",
        va="top",
        fontsize=9,
    )
    if budget is not None:
        ax.axhline(
            budget,
            color="#D55E00",
            lw=1.2,
            label=f"Budget {format_value(budget, 'CNY')}: P(over) {land['p_exceed_budget']:.0%}",
        )
    _date_axis(ax)
    _value_axis(ax, metric, lang)
    ax.set_ylim(bottom=0)
    ax.set_title(f"{metric_info(metric).label}: where {land['month']} will land")
    ax.legend(loc="upper left")
    return ax


# -- anomalies ------------------------------------------------------------------------------


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
        >>> ax = plot_anomalies(df)                                          # doctest: +SKIP
    """
    validate(data)
    check_additive(metric)
    labels = _names(names)
    with style_context():
        ax = _axes(ax)
        ax.set_title(f"{metric_info(metric).label}: anomalies (robust z beyond {threshold:g})")
        if (data["metric"] == metric).sum() == 0:
            return _no_data(ax)
        found = (
            anomalies
            if anomalies is not None
            else detect_anomalies(data, metric, threshold=threshold)
        )
        x = _local(found["timestamp"])
        ax.plot(x, found["value"], color="#333333", lw=1.3, label="Actual", **kwargs)
        ax.plot(x, found["expected"], color="#999999", lw=1.0, ls="--", label="Expected")
        flagged = found[found["anomaly"]]
        ax.scatter(
            _local(flagged["timestamp"]),
            flagged["value"],
            s=60,
            facecolors="none",
            edgecolors="#D55E00",
            linewidths=1.8,
            zorder=3,
            label=f"Anomaly ({len(flagged)})",
        )
        unit = metric_info(metric).unit
        strongest = _strongest_per_run(found, annotate)
        for _, r in strongest.iterrows():
            who = "" if r["contributor"] is None else f"{group_label(r['contributor'], labels)} "
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
        _date_axis(ax)
        _value_axis(ax, metric, lang)
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left")
    return ax


def _strongest_per_run(found: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The strongest anomaly of each run of consecutive flagged buckets, strongest runs first."""
    flags = found["anomaly"].to_numpy()
    run = np.cumsum(np.concatenate([[flags[0]], flags[1:] & ~flags[:-1]])) if len(flags) else flags
    flagged = found[flags].assign(run=run[flags], strength=found["score"].abs()[flags])
    best = flagged.sort_values("strength", ascending=False).drop_duplicates("run")
    return best.head(limit)
