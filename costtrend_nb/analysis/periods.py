"""Like-for-like period-over-period comparison.

A running period is compared with the same elapsed wall-clock time of the one before: month to
date on the 19th at 12:00 against the 1st to the 19th at 12:00 of the month before (a month back
from the 31st of March ends on the last day of February). Every window is labelled with its exact
start and end, and days start at midnight in the frame's time zone.

``align="weekday"`` instead shifts both ends back by whole weeks (7 days for a day or week, 28
for a month, 91 for a quarter, 364 for a year), so Mondays meet Mondays.

"Now" is the end of the frame's last complete bucket unless ``as_of`` says otherwise; buckets
still running or settling are never compared as if they were whole.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from .._warn import warn
from ..errors import QueryError
from ._frame import (
    PERIODS,
    WEEKDAY_SHIFT,
    Window,
    bucket_ends,
    bucket_freq,
    calendar_start,
    calendar_step,
    check_additive,
    counted,
    coverage,
    coverage_warning,
    floor_to_bucket,
    in_window,
    keeps_missing_series,
    localize,
    normalise_by,
    period_label,
    resolve_as_of,
    restore_groups,
    tz_of,
    validate,
)

__all__ = ["PeriodPair", "align_periods", "compare_periods", "period_pairs"]

Period: TypeAlias = str | pd.DateOffset | pd.Timedelta | dt.timedelta


@dataclass(frozen=True)
class PeriodPair:
    """A current window, the previous one it is compared with, and whether it is running."""

    current: Window
    previous: Window
    running: bool
    full_current_end: pd.Timestamp
    full_previous_end: pd.Timestamp


def _naive(ts: pd.Timestamp, tz: str) -> pd.Timestamp:
    return ts.tz_convert(tz).tz_localize(None)


def _rolling_offset(period: Any) -> pd.DateOffset:
    if isinstance(period, pd.DateOffset):
        return period
    try:
        delta = pd.Timedelta(period)
    except (ValueError, TypeError):
        delta = None
    if delta is None or delta is pd.NaT or delta <= pd.Timedelta(0):
        raise QueryError(
            f"period must be one of {', '.join(PERIODS)}, a pd.DateOffset or a duration such "
            f"as '14D', not {period!r}."
        )
    return pd.DateOffset(seconds=int(delta.total_seconds()))


def period_pairs(
    df: pd.DataFrame,
    period: Period = "week",
    *,
    as_of: Any = None,
    align: str = "calendar",
    history: int = 1,
) -> list[PeriodPair]:
    """The windows ``compare_periods`` compares, oldest first.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-09-01", "2026-11-21", granularity="daily")
        >>> pairs = period_pairs(df, "month")
        >>> pairs[-1].current.label, pairs[-1].running
        ('2026-11', True)
        >>> for window in (pairs[-1].current, pairs[-1].previous):   # 1-19 November, 1-19 October
        ...     print(window.label, window.start.date(), window.end.date())
        2026-11 2026-11-01 2026-11-20
        2026-10 2026-10-01 2026-10-20
    """
    validate(df)
    if align not in ("calendar", "weekday"):
        raise QueryError(f"align must be 'calendar' or 'weekday', not {align!r}.")
    if isinstance(history, bool) or not isinstance(history, int) or history < 1:
        raise QueryError(f"history must be a whole number of periods >= 1, not {history!r}.")
    tz = tz_of(df)
    now = resolve_as_of(df, as_of)
    pairs = []
    if isinstance(period, str) and period in PERIODS:
        step = calendar_step(period)
        # normalize: a period whose first midnight was skipped starts at 01:00, yet its naive
        # start (and the previous period's, a step back) is that midnight
        start0 = _naive(calendar_start(now - pd.Timedelta(1, "ns"), period, tz), tz).normalize()
        now_naive = _naive(now, tz)
        for k in range(history - 1, -1, -1):
            start = start0 - step * k if k else start0
            full_end = start + step
            running = k == 0 and now_naive < full_end
            end = now_naive if running else full_end
            if align == "weekday":
                shift = pd.Timedelta(days=WEEKDAY_SHIFT[period])
                prev_start, prev_end, prev_full = start - shift, end - shift, full_end - shift
            else:
                prev_start, prev_full = start - step, start
                # a running period meets the same elapsed wall-clock time; a whole one, a whole one
                prev_end = min(prev_start + (end - start), prev_full) if running else prev_full
            current = Window(
                localize(start, tz), localize(end, tz), period_label(start, period, end)
            )
            previous = Window(
                localize(prev_start, tz),
                localize(prev_end, tz),
                period_label(prev_start, period, prev_end),
            )
            pairs.append(
                PeriodPair(
                    current, previous, running, localize(full_end, tz), localize(prev_full, tz)
                )
            )
        return pairs
    if isinstance(period, str) and period.lower() in ("weekly", "monthly", "daily"):
        raise QueryError(f"period must be one of {', '.join(PERIODS)}, not {period!r}.")
    offset = _rolling_offset(period)
    for k in range(history - 1, -1, -1):
        end = now - offset * k if k else now
        start = end - offset
        prev_start = start - offset
        current = Window(start, end, period_label(start, offset, end))
        previous = Window(prev_start, start, period_label(prev_start, offset, start))
        pairs.append(PeriodPair(current, previous, False, end, start))
    _check_bucket_edges(df, pairs)
    return pairs


def _check_bucket_edges(df: pd.DataFrame, pairs: list[PeriodPair]) -> None:
    """Refuse rolling windows that cut a bucket: its part would be neither in nor out (a
    period shorter than a bucket would sum to nothing)."""
    freq = bucket_freq(df)
    for pair in pairs:
        for edge in (pair.current.start, pair.current.end, pair.previous.start):
            local = edge.tz_convert(tz_of(df))
            if freq == "D" and local != local.normalize():
                raise QueryError(
                    "with daily buckets the period must be whole days; a window would start or "
                    f"end at {local.isoformat()}."
                )
            if freq == "h" and floor_to_bucket(df, edge, freq) != edge:
                raise QueryError(
                    "with hourly buckets the period must be whole hours; a window would start "
                    f"or end at {local.isoformat()}, inside a bucket."
                )


def _window_sums(
    values: pd.DataFrame, by: list[str], window: Window, now: pd.Timestamp, freq: str
) -> pd.Series:
    inside = values[in_window(values, window.start, window.end, now, freq)]
    if not by:
        return pd.Series([inside["value"].sum()], index=pd.Index([0]))
    return inside.groupby(by, observed=True, dropna=False)["value"].sum()


def data_end(df: pd.DataFrame) -> pd.Timestamp:
    """The end of the frame's last bucket."""
    ends = bucket_ends(df["timestamp"], bucket_freq(df))
    return pd.Timestamp(ends.max()) if len(ends) else df["timestamp"].min()


def require_coverage(df: pd.DataFrame, *windows: Window, now: Any = None) -> list[float]:
    """Each window's coverage; raise unless the frame wholly covers every window (for results
    that cannot carry a NaN). ``now`` defaults to the frame's "now"."""
    moment = resolve_as_of(df) if now is None else now
    shares = []
    for window in windows:
        share = coverage(df, window.start, window.end, moment)
        if share < 1:
            raise QueryError(
                coverage_warning(df, window.start, window.end, share, "the result", refused=True)
            )
        shares.append(share)
    return shares


@keeps_missing_series
def compare_periods(
    df: pd.DataFrame,
    metric: str = "total_amount",
    period: Period = "week",
    *,
    as_of: Any = None,
    by: str | list[str] | None = None,
    align: str = "calendar",
    history: int = 1,
) -> pd.DataFrame:
    """Compare the latest period (or the last ``history`` ones) with the period before each.

    Returns one row per group (one row when ``by`` is None) and period, oldest first: the
    group columns, ``period`` (its label), ``running``, the exact ``current_start``,
    ``current_end``, ``previous_start``, ``previous_end``, then ``current``, ``previous``,
    ``delta``, ``pct_change`` (a fraction; NaN, not inf, when ``previous`` is 0), and
    ``current_coverage``, ``previous_coverage``: the share of each window's buckets that the
    frame holds. A window not wholly covered (it reaches past the frame, or the frame has a hole
    in it) gives NaN, with a warning, never a smaller total. Only buckets that ended by "now"
    count: ``as_of="2026-11-20 14:30"`` compares the 1st to the 19th with the same days before.

    Raises:
        QueryError: not a tidy frame, an unknown metric or period, or a metric that cannot be
            summed (``model_count``).

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-10-01", "2026-11-21", granularity="daily")
        >>> row = compare_periods(df, "total_amount", "month").iloc[0]
        >>> row["period"], bool(row["running"]), str(row["previous_end"].date())
        ('2026-11', True, '2026-10-20')
    """
    validate(df, metric)
    check_additive(metric)
    groups = normalise_by(by)
    pairs = period_pairs(df, period, as_of=as_of, align=align, history=history)
    now = resolve_as_of(df, as_of)
    freq = bucket_freq(df)
    values = df[df["metric"] == metric]
    rows = []
    for pair in pairs:
        shares = {}
        for name, window in (("current", pair.current), ("previous", pair.previous)):
            shares[name] = coverage(values, window.start, window.end, now, freq)
            if shares[name] < 1:
                warn(coverage_warning(df, window.start, window.end, shares[name], "its total"))
        current = _window_sums(values, groups, pair.current, now, freq)
        previous = _window_sums(values, groups, pair.previous, now, freq)
        table = pd.concat({"current": current, "previous": previous}, axis=1)
        table = table.fillna({"current": 0.0, "previous": 0.0})
        for name, share in shares.items():
            if share < 1:
                table[name] = np.nan
        table = table.reset_index(names=groups or None)
        if not groups:
            table = table.drop(
                columns=[c for c in table.columns if c not in ("current", "previous")]
            )
        table["period"] = pair.current.label
        table["running"] = pair.running
        table["current_start"] = pair.current.start
        table["current_end"] = pair.current.end
        table["previous_start"] = pair.previous.start
        table["previous_end"] = pair.previous.end
        table["current_coverage"] = shares["current"]
        table["previous_coverage"] = shares["previous"]
        rows.append(table)
    out = pd.concat(rows, ignore_index=True)
    out["delta"] = out["current"] - out["previous"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = out["delta"] / out["previous"]
    out["pct_change"] = pct.where(out["previous"] != 0)
    order = [
        *groups,
        "period",
        "running",
        "current_start",
        "current_end",
        "previous_start",
        "previous_end",
        "current",
        "previous",
        "delta",
        "pct_change",
        "current_coverage",
        "previous_coverage",
    ]
    return restore_groups(out[order], df, groups)


@keeps_missing_series
def align_periods(
    df: pd.DataFrame,
    metric: str = "total_amount",
    period: Period = "week",
    *,
    as_of: Any = None,
    by: str | list[str] | None = None,
    align: str = "calendar",
) -> pd.DataFrame:
    """The latest period and the one before, bucket by bucket on a shared offset axis.

    Returns ``offset`` (wall-clock time since each window's start), ``current_timestamp``,
    ``current``, ``previous_timestamp`` and ``previous``, plus the group columns: the whole
    previous period, and the current one up to "now" (NaN after it), for overlays; then
    ``current_coverage`` (of the current window up to "now") and ``previous_coverage`` (of the
    whole previous period), with a warning when a bucket is missing (a missing bucket is no row,
    never a zero).

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-10-01", "2026-11-21", granularity="daily")
        >>> overlay = align_periods(df, "total_amount", "month")
        >>> overlay["offset"].iloc[0], len(overlay)
        (Timedelta('0 days 00:00:00'), 31)
    """
    validate(df, metric)
    check_additive(metric)
    groups = normalise_by(by)
    (pair,) = period_pairs(df, period, as_of=as_of, align=align, history=1)
    tz = tz_of(df)
    now = resolve_as_of(df, as_of)
    freq = bucket_freq(df)
    values = df[df["metric"] == metric]
    values = values.assign(value=values["value"].where(counted(values, now, freq)))
    keys = ["timestamp", *groups]
    summed = (
        values.groupby(keys, observed=True, dropna=False)["value"].sum(min_count=1).reset_index()
    )
    shares = {
        "current": coverage(values, pair.current.start, pair.current.end, now, freq),
        "previous": coverage(values, pair.previous.start, pair.full_previous_end, now, freq),
    }
    for name, end in (("current", pair.current.end), ("previous", pair.full_previous_end)):
        start = pair.current.start if name == "current" else pair.previous.start
        if shares[name] < 1:
            warn(coverage_warning(df, start, end, shares[name], "each missing bucket"))

    def side(
        start: pd.Timestamp, end: pd.Timestamp, limit: pd.Timestamp, name: str
    ) -> pd.DataFrame:
        part = summed[(summed["timestamp"] >= start) & (summed["timestamp"] < end)].copy()
        late = bucket_ends(part["timestamp"], freq) > limit
        part.loc[np.asarray(late, dtype=bool), "value"] = np.nan
        part["offset"] = part["timestamp"].dt.tz_convert(tz).dt.tz_localize(None) - _naive(
            start, tz
        )
        return part.rename(columns={"timestamp": f"{name}_timestamp", "value": name})

    current = side(pair.current.start, pair.full_current_end, pair.current.end, "current")
    previous = side(pair.previous.start, pair.full_previous_end, pair.full_previous_end, "previous")
    out = current.merge(previous, on=["offset", *groups], how="outer", sort=False)
    out = out.sort_values([*groups, "offset"], kind="stable").reset_index(drop=True)
    out["current_coverage"] = shares["current"]
    out["previous_coverage"] = shares["previous"]
    cols = [
        *groups,
        "offset",
        "current_timestamp",
        "current",
        "previous_timestamp",
        "previous",
        "current_coverage",
        "previous_coverage",
    ]
    return restore_groups(out[cols], df, groups)
