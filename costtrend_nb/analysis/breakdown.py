"""Who spends: totals and shares by model type or department, and shares over time."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._warn import warn
from ..errors import QueryError
from ._frame import (
    bucket_ends,
    bucket_freq,
    check_additive,
    counted,
    coverage,
    coverage_warning,
    grid,
    keeps_missing_series,
    resolve_as_of,
    totals,
    validate,
)
from .periods import Period, compare_periods

__all__ = ["OTHER", "breakdown", "share_over_time"]

#: The label of the row that folds every group below the top N.
OTHER = "Other"


def _check(by: Any, top: Any) -> None:
    if by not in ("model_type", "client_id"):
        raise QueryError(f"by must be 'model_type' or 'client_id', not {by!r}.")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise QueryError(f"top must be a whole number >= 1, not {top!r}.")


def _fold(table: pd.DataFrame, by: str, top: int, value: str) -> pd.Series:
    """Each group's label after folding all but the ``top`` largest into "Other". The group
    of a missing key (cost without a department) is one group like the others: its key may
    come back as ``pd.NA`` or ``nan`` depending on the pandas version, so it is told by
    ``pd.isna``, never by equality."""
    order = table.sort_values(value, ascending=False, kind="stable")[by].astype(object).tolist()
    kept = order[:top]
    keep_missing = any(pd.isna(g) for g in kept)
    keep = {g for g in kept if not pd.isna(g)}
    labels = [
        g if (keep_missing if pd.isna(g) else g in keep) else OTHER
        for g in table[by].astype(object)
    ]
    return pd.Series(labels, index=table.index, dtype=object)


@keeps_missing_series
def breakdown(
    df: pd.DataFrame,
    by: str = "model_type",
    metric: str = "total_amount",
    *,
    top: int = 8,
    period: Period | None = "month",
    as_of: Any = None,
    align: str = "calendar",
) -> pd.DataFrame:
    """Totals by group for the latest period, with share, rank and change on the period before.

    The ``top`` largest groups keep their rows, ranked 1..top; the rest fold into one "Other"
    row (ranked last; ``groups`` counts what it holds). ``period=None`` totals the whole frame up
    to "now", with no comparison. The window columns follow, with ``current_coverage`` and
    ``previous_coverage`` (``current_coverage`` alone for ``period=None``): a window the frame
    does not wholly cover (a hole, or past its ends) gives NaN totals with a warning, never a
    smaller total. Group labels are model types or department ids; "Other" makes
    the ``client_id`` column hold text.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-10-01", "2026-11-21", granularity="daily",
        ...                                   by="model_type")
        >>> table = breakdown(df, "model_type", top=3)
        >>> table["model_type"].tolist(), round(float(table["share"].sum()), 6)
        (['Chat', 'ImageGeneration', 'VideoGeneration', 'Other'], 1.0)
    """
    validate(df, metric)
    check_additive(metric)
    _check(by, top)
    if period is None:
        now = resolve_as_of(df, as_of)
        summed = totals(df, metric, [by], until=now).groupby(by, observed=True, dropna=False)
        table = summed["value"].sum().rename("current").reset_index()
        table["previous"] = np.nan
        values = df[df["metric"] == metric]
        start = pd.Timestamp(values["timestamp"].min())
        share = coverage(values, start, now, now)
        if share < 1:
            warn(coverage_warning(df, start, now, share, "every total"))
            table["current"] = np.nan
        windows = pd.Series({"current_coverage": share})
    else:
        table = compare_periods(df, metric, period, as_of=as_of, by=by, align=align)
        window_cols = [c for c in table.columns if c.endswith(("_start", "_end", "_coverage"))]
        windows = table[["period", "running", *window_cols]].iloc[0]
        table = table[[by, "current", "previous"]]
    table = table.astype({by: object})
    table["label"] = _fold(table, by, top, "current")
    folded = table.groupby("label", sort=False, dropna=False).agg(
        current=("current", lambda s: s.sum(min_count=1)),
        previous=("previous", lambda s: s.sum(min_count=1)),
        groups=(by, "size"),
    )
    folded = folded.reset_index().rename(columns={"label": by})
    is_other = folded[by] == OTHER
    folded = pd.concat(
        [
            folded[~is_other].sort_values("current", ascending=False, kind="stable"),
            folded[is_other],
        ],
        ignore_index=True,
    )
    total = folded["current"].sum()
    folded["share"] = folded["current"] / total if total else np.nan
    folded["rank"] = np.arange(1, len(folded) + 1)
    folded["delta"] = folded["current"] - folded["previous"]
    with np.errstate(divide="ignore", invalid="ignore"):
        folded["pct_change"] = (folded["delta"] / folded["previous"]).where(folded["previous"] != 0)
    columns = [by, "current", "share", "rank", "previous", "delta", "pct_change", "groups"]
    out = folded[columns].copy()
    for name, value in windows.items():
        out[name] = value
    if by == "model_type":
        out[by] = out[by].astype(str)
    return out


@keeps_missing_series
def share_over_time(
    df: pd.DataFrame,
    by: str = "model_type",
    metric: str = "total_amount",
    *,
    freq: str | None = None,
    top: int = 8,
    as_of: Any = None,
) -> pd.DataFrame:
    """Each group's value and share of the total, bucket by bucket (or per ``freq``).

    ``freq`` resamples in the frame's time zone: ``"D"``, ``"W-MON"`` (weeks from Monday),
    ``"MS"`` (months). The ``top`` groups over the whole span keep their names; the rest fold into
    "Other". Returns ``timestamp``, ``by``, ``value``, ``share`` (NaN where the total is 0),
    ``complete`` (every bucket inside was complete) and ``coverage``: the share of the bucket's
    or bin's buckets, within the frame's span, that the frame holds. A hole (a bucket missing
    inside the span) makes its bin's value and share NaN, with a warning, never a zero; bins cut
    by the frame's first or last bucket keep their values. With ``as_of``, only buckets that
    ended by then count; without it every bucket is shown and ``complete`` says which are whole.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-10-01", "2026-11-21", granularity="daily",
        ...                                   by="model_type")
        >>> shares = share_over_time(df, freq="W-MON", top=4)
        >>> sorted(shares["model_type"].unique())[:2]
        ['Chat', 'ImageGeneration']
    """
    validate(df, metric)
    check_additive(metric)
    _check(by, top)
    rows = df[df["metric"] == metric]
    if as_of is not None:
        rows = rows[counted(rows, resolve_as_of(df, as_of), bucket_freq(df))]
    per_group = rows.groupby(by, observed=True, dropna=False)["value"].sum().reset_index()
    folded = _fold(per_group, by, top, "value")
    labels = {k: lab for k, lab in zip(per_group[by].astype(object), folded, strict=True)
              if not pd.isna(k)}  # fmt: skip
    missing = next((lab for k, lab in zip(per_group[by], folded, strict=True) if pd.isna(k)), None)
    keys = rows[by].astype(object)
    rows = rows.assign(**{by: [missing if pd.isna(k) else labels[k] for k in keys]})
    if freq is None:
        grouped = rows.groupby(["timestamp", by], sort=True, dropna=False)
    else:
        grouped = rows.groupby(
            [pd.Grouper(key="timestamp", freq=freq, label="left", closed="left"), by],
            sort=True,
            dropna=False,
        )
    out = grouped.agg(value=("value", "sum"), complete=("complete", "all")).reset_index()
    out["coverage"] = 1.0
    held = _held_share(rows, freq)
    if len(held) and (held < 1).any():
        holes = held[held < 1]
        missing = holes.index[~holes.index.isin(out["timestamp"])]
        extra = pd.DataFrame(
            [(t, g) for t in missing for g in dict.fromkeys(labels.values())],
            columns=["timestamp", by],
        )
        extra["timestamp"] = extra["timestamp"].astype(out["timestamp"].dtype)
        extra["complete"] = False
        out = pd.concat([out, extra], ignore_index=True) if len(extra) else out
        out["coverage"] = out["timestamp"].map(held).fillna(1.0).astype(float)
        out.loc[out["coverage"] < 1, "value"] = np.nan
        out = out.sort_values(["timestamp", by], kind="stable").reset_index(drop=True)
        warn(
            f"the frame has holes (buckets missing inside its span) in {len(holes)} "
            f"{'bucket(s)' if freq is None else 'bin(s)'} from {holes.index[0].isoformat()}: "
            "their values and shares are NaN, never a zero. Fetch the whole range."
        )
    total = out.groupby("timestamp")["value"].transform("sum")
    out["share"] = (out["value"] / total).where((total != 0) & (out["coverage"] >= 1))
    return out[["timestamp", by, "value", "share", "complete", "coverage"]]


def _held_share(rows: pd.DataFrame, freq: str | None) -> pd.Series:
    """Per bucket (or ``freq`` bin): the share of its buckets in the frame's span held."""
    if not len(rows):
        return pd.Series(dtype=float)
    bucket = bucket_freq(rows)
    stamps = pd.DatetimeIndex(pd.unique(rows["timestamp"]))
    end = bucket_ends(pd.DatetimeIndex([stamps.max()]), bucket)[0]
    span = grid(rows, stamps.min(), end, bucket)
    slots = pd.DataFrame({"timestamp": span, "held": span.isin(stamps).astype(float)})
    if freq is None:
        return slots.set_index("timestamp")["held"]
    grouper = pd.Grouper(key="timestamp", freq=freq, label="left", closed="left")
    return slots.groupby(grouper)["held"].mean()
