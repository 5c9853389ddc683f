"""Showback and chargeback: the department tree, the allocation matrix, unit costs, price steps.

- :func:`rollup` sums each department's own spend up its tree (``parent_id`` of
  ``client.departments()``), so Marketing's subtree holds Creative Studio's spend.
- :func:`allocation` is the department x model type matrix, with totals and shares, for a
  window of time, ready to export.
- :func:`unit_costs` divides each model type's cost by its own volume (:data:`.VOLUME`):
  CNY per million tokens, per image, per second of video, per hour of audio, per 10,000
  characters (:func:`unit_cost_scale`).
- :func:`price_changes` finds steps in those unit costs: medians of the windows before and after
  each bucket, after removing the weekday (daily) or hour-of-day (hourly) pattern, scored against
  the series' own noise.

Only buckets that end by "now" count (the end of the last complete bucket, or ``as_of``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import QueryError
from ..query import to_timestamp
from ._frame import (
    bucket_freq,
    check_additive,
    coverage,
    in_window,
    keeps_missing_series,
    resolve_as_of,
    tz_of,
    validate,
)
from .drivers import volume_of

__all__ = [
    "NO_DEPARTMENT",
    "TOTAL",
    "TYPE_SCALE",
    "UNIT_COST_SCALE",
    "allocation",
    "price_changes",
    "rollup",
    "unit_cost_scale",
    "unit_costs",
]

#: The label of the row and column that hold totals in :func:`allocation`.
TOTAL = "Total"
#: The label of spend without a department in :func:`allocation`.
NO_DEPARTMENT = "No department"

#: Unit costs are quoted per this many units of volume, named so: ¥ per 1M tokens, per image...
UNIT_COST_SCALE: dict[str, tuple[float, str]] = {
    "tokens": (1e6, "1M tokens"),
    "images": (1.0, "image"),
    "s": (1.0, "second"),
    "chars": (1e4, "10,000 characters"),
    "calls": (1e3, "1,000 calls"),
}
#: Model types quoted otherwise than their unit's default: speech recognition per hour of audio.
TYPE_SCALE: dict[str, tuple[float, str]] = {"ASR": (3600.0, "hour")}


def unit_cost_scale(model_type: str) -> tuple[str, float, str]:
    """A model type's volume unit, and how many of it its unit cost is quoted per, named.

    Example:
        >>> unit_cost_scale("Chat"), unit_cost_scale("ASR")
        (('tokens', 1000000.0, '1M tokens'), ('s', 3600.0, 'hour'))
    """
    unit = volume_of(model_type)[1]
    scale, per = TYPE_SCALE.get(str(model_type), UNIT_COST_SCALE.get(unit, (1.0, unit)))
    return unit, scale, per


_LABELS = {"client_id": "Department", "model_type": "Model type"}


def _bare(df: pd.DataFrame) -> pd.DataFrame:
    """The frame without its ``attrs``: pandas copies them on every step, and none is read."""
    bare = pd.DataFrame(df, copy=False)
    bare.attrs = {}
    return bare


def _window(
    df: pd.DataFrame, start: Any, end: Any, as_of: Any, *, whole: bool = True
) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """Rows of buckets wholly inside ``[start, end)`` that count at "now", and the window's
    edges (``end`` is cut at "now"). With ``whole``, a window the frame does not wholly cover
    (it starts before the frame, or has holes a filter or a concat left) is refused: a chargeback
    must never be a smaller total in silence."""
    tz = tz_of(df)
    now = resolve_as_of(df, as_of)
    first = pd.Timestamp(df["timestamp"].min())
    lo = first if start is None else to_timestamp(start, tz, name="start")
    hi = now if end is None else min(to_timestamp(end, tz, name="end"), now)
    if lo < first:
        raise QueryError(
            f"the frame starts at {first.isoformat()}, after start={lo.isoformat()}; fetch from "
            f"{lo.date()} or pass a later start."
        )
    if hi <= lo:
        raise QueryError(f"the window {lo.isoformat()} to {hi.isoformat()} holds no whole bucket.")
    freq = bucket_freq(df)
    if whole:
        share = coverage(df, lo, hi, now, freq)
        if share < 1:
            raise QueryError(
                f"the frame holds {100 * share:.1f} % of the buckets of {lo.isoformat()} to "
                f"{hi.isoformat()} (holes left by a filter or a concat); fetch the whole range "
                "so that no spend is left out."
            )
    return df[in_window(df, lo, hi, now, freq)], lo, hi


def _split_by_client(df: pd.DataFrame, name: str) -> None:
    if df["client_id"].isna().all():
        raise QueryError(
            f"{name} needs a frame split by department: fetch with by='client_id' (a split "
            "without client_ids covers every department)."
        )


def _departments(departments: Any) -> pd.DataFrame:
    if not isinstance(departments, pd.DataFrame) or not {"id", "name", "parent_id"} <= set(
        departments.columns
    ):
        raise QueryError(
            "departments must be the frame client.departments() returns (id, name, parent_id)."
        )
    deps = departments.copy()
    deps["id"] = deps["id"].astype("int64")
    deps["parent_id"] = deps["parent_id"].fillna(0).astype("int64")
    if deps["id"].duplicated().any():
        raise QueryError("departments lists an id twice.")
    known = set(deps["id"]) | {0}
    orphans = sorted(set(deps["parent_id"]) - known)
    if orphans:
        raise QueryError(f"departments names parents that are not in it: {orphans}.")
    return deps.reset_index(drop=True)


@keeps_missing_series
def rollup(
    df: pd.DataFrame,
    departments: pd.DataFrame,
    *,
    metric: str = "total_amount",
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
) -> pd.DataFrame:
    """Each department's own spend and its subtree's, in tree order.

    Returns ``client_id``, ``name``, ``parent_id``, ``level`` (as listed), ``depth`` (1 at the
    top), ``path`` ("Headquarters / Marketing / Creative Studio"), ``own``, ``subtree``,
    ``share`` (of the organisation's total) and ``all_fetched`` (every department of the subtree
    is in the frame). A department absent from the frame has ``own`` NaN; one in the frame but not
    in ``departments`` is shown at the top as "Unknown (id)". When every department was fetched,
    the top-level subtrees add up to the organisation's total. Sums cover the buckets wholly
    inside ``[start, end)`` (default: the whole frame) that ended by "now"; a window with holes
    raises :class:`QueryError`.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> client = CostTrendClient.demo()
        >>> df = client.fetch("2026-10-01", "2026-11-01", granularity="daily", by="client_id")
        >>> tree = rollup(df, client.departments())
        >>> tree.loc[tree["name"] == "Creative Studio", "path"].item()
        'Headquarters / Marketing / Creative Studio'
        >>> round(float(tree.loc[tree["depth"] == 1, "subtree"].sum()), 2)
        74380.29
    """
    validate(df, metric)
    check_additive(metric)
    _split_by_client(df, "rollup")
    df = _bare(df)
    deps = _departments(departments)
    rows, _, _ = _window(df, start, end, as_of)
    rows = rows[(rows["metric"] == metric) & rows["client_id"].notna()]
    own = rows.groupby("client_id", observed=True)["value"].sum()
    own.index = own.index.astype("int64")
    present = set(pd.unique(df["client_id"].dropna()).astype("int64"))
    unknown = sorted(present - set(deps["id"]))
    if unknown:
        extra = pd.DataFrame(
            {"id": unknown, "name": [f"Unknown ({i})" for i in unknown], "parent_id": 0}
        )
        deps = pd.concat([deps, extra], ignore_index=True)

    parent = dict(zip(deps["id"], deps["parent_id"], strict=True))
    name = dict(zip(deps["id"], deps["name"].astype(str), strict=True))
    children: dict[int, list[int]] = {}
    for i in deps["id"]:
        children.setdefault(int(parent[i]), []).append(int(i))
    order: list[tuple[int, int, str]] = []  # (id, depth, path), depth first

    def visit(node: int, depth: int, path: str, seen: frozenset[int]) -> None:
        for child in children.get(node, []):
            if child in seen:
                raise QueryError(f"departments has a cycle through {child}.")
            here = f"{path} / {name[child]}" if path else name[child]
            order.append((child, depth, here))
            visit(child, depth + 1, here, seen | {child})

    visit(0, 1, "", frozenset())
    if len(order) != len(deps):
        stuck = sorted(set(deps["id"]) - {i for i, _, _ in order})
        raise QueryError(f"departments has a cycle through {stuck}.")

    ids = [i for i, _, _ in order]
    own_values = {i: (float(own.get(i, 0.0)) if i in present else np.nan) for i in ids}
    subtree: dict[int, float] = {}
    fetched: dict[int, bool] = {}
    for i in reversed(ids):  # children come after their parent
        kids = children.get(i, [])
        values = [own_values[i]] + [subtree[k] for k in kids]
        subtree[i] = float(np.nansum(values)) if not np.isnan(values).all() else np.nan
        fetched[i] = i in present and all(fetched[k] for k in kids)
    listed = deps["level"] if "level" in deps.columns else pd.Series(np.nan, index=deps.index)
    level = dict(zip(deps["id"], listed, strict=True))
    total = float(own.sum())
    out = pd.DataFrame(
        {
            "client_id": pd.array(ids, dtype="Int64"),
            "name": [name[i] for i in ids],
            "parent_id": pd.array([parent[i] for i in ids], dtype="Int64"),
            "level": pd.array(
                [d if pd.isna(level.get(i)) else level[i] for i, d, _ in order], dtype="Int64"
            ),
            "depth": [d for _, d, _ in order],
            "path": [p for _, _, p in order],
            "own": [own_values[i] for i in ids],
            "subtree": [subtree[i] for i in ids],
            "all_fetched": [fetched[i] for i in ids],
        }
    )
    out.insert(8, "share", out["subtree"] / total if total else np.nan)
    return out


def _labels(values: pd.Series, axis: str, names: Any) -> pd.Series:
    """Readable labels for group values: department names (unique), model types as they are;
    spend without a department is "No department"."""
    if axis != "client_id":
        return values.astype(str)
    if names is None:
        mapping: dict[int, str] = {}
    elif isinstance(names, pd.DataFrame):
        mapping = dict(zip(names["id"].astype("int64"), names["name"].astype(str), strict=True))
    elif isinstance(names, Mapping):
        mapping = {int(k): str(v) for k, v in names.items()}
    else:
        raise QueryError("names must be client.departments() or a mapping of id to name.")
    labels = values.map(lambda i: NO_DEPARTMENT if pd.isna(i) else mapping.get(int(i), str(i)))
    doubled = labels.duplicated(keep=False)
    return labels.where(~doubled, labels + " (" + values.astype(str) + ")")


@keeps_missing_series
def allocation(
    df: pd.DataFrame,
    *,
    rows: str = "client_id",
    columns: str | None = "model_type",
    metric: str = "total_amount",
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
    names: Any = None,
    values: str = "amount",
) -> pd.DataFrame:
    """The chargeback matrix: ``rows`` x ``columns`` totals over ``[start, end)``, with totals.

    One plain row per group (largest first) and a last "Total" row; one column per column group
    (largest first), then "Total" and "Share" (the row's share of the grand total). The first
    column holds labels: department names with ``names=client.departments()`` (or a mapping),
    else ids. ``values`` sets what the cells hold: ``"amount"``, ``"share"`` (of the grand
    total), ``"row_share"`` or ``"column_share"``. ``end`` is cut at "now" (a running month is
    month to date) and ``attrs`` records the window and metric; a window the frame does not
    wholly cover raises :class:`QueryError`.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> client = CostTrendClient.demo()
        >>> df = client.fetch("2026-10-01", "2026-11-01", granularity="daily",
        ...                   by=["model_type", "client_id"])
        >>> table = allocation(df, names=client.departments())
        >>> table.columns[:3].tolist(), table["Department"].iloc[-1]
        (['Department', 'Chat', 'ImageGeneration'], 'Total')
        >>> round(float(table["Total"].iloc[-1]), 2), float(table["Share"].iloc[-1])
        (74380.29, 1.0)
    """
    validate(df, metric)
    check_additive(metric)
    axes = [rows] if columns is None else [rows, columns]
    if any(a not in _LABELS for a in axes) or len(set(axes)) != len(axes):
        raise QueryError(
            "rows and columns must be 'client_id' and 'model_type' (one each; columns may be "
            f"None), not {rows!r} and {columns!r}."
        )
    if values not in ("amount", "share", "row_share", "column_share"):
        raise QueryError(
            f"values must be 'amount', 'share', 'row_share' or 'column_share', not {values!r}."
        )
    if "client_id" in axes:
        _split_by_client(df, "allocation by department")
    df = _bare(df)
    picked, lo, hi = _window(df, start, end, as_of)
    picked = picked[picked["metric"] == metric]
    sums = picked.groupby(axes, observed=True, dropna=False)["value"].sum()
    matrix = sums.unstack(columns).fillna(0.0) if columns else sums.to_frame("_")
    matrix = matrix.loc[:, matrix.sum().sort_values(ascending=False, kind="stable").index]
    matrix = matrix.loc[matrix.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    heads = _labels(pd.Series(matrix.columns), columns, names).tolist() if columns else []
    ids = matrix.index
    # amounts with their totals first; every kind of share is then one division
    table = pd.DataFrame(matrix.to_numpy(dtype=float), columns=heads or ["_"])
    table[TOTAL] = table.sum(axis=1)
    table.loc[len(table)] = table.sum(axis=0)
    grand = float(table[TOTAL].iloc[-1])
    share = (table[TOTAL] / grand) if grand else table[TOTAL] * np.nan
    if values == "share":
        table = table / grand if grand else table * np.nan
    elif values == "row_share":
        table = table.div(table[TOTAL].where(table[TOTAL] != 0), axis=0)
    elif values == "column_share":
        table = table / table.iloc[-1].where(table.iloc[-1] != 0)
    if not columns:
        table = table.drop(columns="_")
    table["Share"] = share
    label = _LABELS[rows]
    table.insert(0, label, [*_labels(pd.Series(ids), rows, names), TOTAL])
    table.columns.name = None
    table.attrs.update({"metric": metric, "values": values, "start": lo, "end": hi})
    return table


def _volumes(df: pd.DataFrame) -> pd.DataFrame:
    """Each row's role: ``cost`` (total_amount), ``volume`` (its type's volume metric) or None."""
    pairs = df[["model_type", "metric"]].drop_duplicates()
    roles: list[str | None] = []
    for model_type, metric in zip(pairs["model_type"], pairs["metric"], strict=True):
        if metric == "total_amount":
            roles.append("cost")
        else:
            roles.append("volume" if metric in volume_of(str(model_type))[0] else None)
    pairs = pairs.assign(role=roles).dropna(subset=["role"])
    return df.merge(pairs, on=["model_type", "metric"], how="inner")


@keeps_missing_series
def unit_costs(
    df: pd.DataFrame,
    *,
    by: str | list[str] = "model_type",
    freq: str | None = "D",
    as_of: Any = None,
) -> pd.DataFrame:
    """Cost per unit of each model type's own volume, bucket by bucket or per ``freq``.

    Volume is what :func:`.volume_of` names (tokens for chat, images, seconds of video or audio,
    characters; calls for a frame not split by model type); ``per`` says the scale
    (:func:`unit_cost_scale`: ¥ per 1M tokens, per image, per second of video, per hour of
    audio, per 10,000 characters).
    ``freq`` resamples in the frame's time zone (``"D"``, ``"W-MON"``, ``"MS"``; ``None`` keeps
    the frame's buckets). Returns ``timestamp``, the groups, ``cost``, ``volume``,
    ``volume_unit``, ``per``, ``unit_cost`` (NaN where the volume is 0) and ``complete``.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-04-01", "2026-06-01", granularity="daily",
        ...                                   by="model_type")
        >>> chat = unit_costs(df, freq="MS").query("model_type == 'Chat'")
        >>> chat["unit_cost"].round(2).tolist(), chat["per"].iloc[0]
        ([2.45, 2.33], '1M tokens')
    """
    validate(df, "total_amount")
    groups = [by] if isinstance(by, str) else list(by)
    if "model_type" not in groups or not set(groups) <= {"model_type", "client_id"}:
        raise QueryError(
            "by must be 'model_type' or ['model_type', 'client_id']: a unit cost is per model "
            f"type, whose volume has its own unit; not {by!r}."
        )
    groups = [g for g in ("model_type", "client_id") if g in groups]
    if "client_id" in groups:
        _split_by_client(df, "unit_costs by department")
    df = _bare(df)
    rows, _, _ = _window(df, None, None, as_of, whole=False)
    types = [str(t) for t in pd.unique(rows["model_type"])]
    lacking = [
        f"{t} ({', '.join(volume_of(t)[0])})"
        for t in types
        if not rows.loc[rows["model_type"] == t, "metric"].isin(volume_of(t)[0]).any()
    ]
    if lacking:
        raise QueryError(
            f"unit_costs needs each model type's volume; the frame lacks it for "
            f"{'; '.join(lacking)}. Pass the frame fetch() returns, all metrics."
        )
    rows = _volumes(rows)
    time_key: Any = (
        "timestamp"
        if freq is None
        else pd.Grouper(key="timestamp", freq=freq, label="left", closed="left")
    )
    keys = [time_key, *groups]
    cost = rows[rows["role"] == "cost"].groupby(keys, observed=True, dropna=False)["value"].sum()
    volume = rows[rows["role"] == "volume"].groupby(keys, observed=True, dropna=False)["value"]
    done = rows.groupby(keys, observed=True, dropna=False)["complete"].all()
    out = pd.concat(
        [cost.rename("cost"), volume.sum().rename("volume"), done.rename("complete")], axis=1
    )
    out = out.reset_index()
    out[["cost", "volume"]] = out[["cost", "volume"]].fillna(0.0)
    out["complete"] = out["complete"].fillna(True).astype(bool)
    quoted = out["model_type"].astype(str).map(unit_cost_scale)
    scale = quoted.map(lambda q: q[1]).astype(float)
    out["volume_unit"] = quoted.map(lambda q: q[0])
    out["per"] = quoted.map(lambda q: q[2])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["unit_cost"] = (out["cost"] / out["volume"] * scale).where(out["volume"] > 0)
    out = out.sort_values([*groups, "timestamp"], kind="stable").reset_index(drop=True)
    if "client_id" in out:
        out["client_id"] = out["client_id"].astype("Int64")
    out["model_type"] = pd.Categorical(
        out["model_type"].astype(str), categories=list(df["model_type"].cat.categories)
    )
    columns = ["timestamp", *groups, "cost", "volume", "volume_unit", "per", "unit_cost"]
    return out[[*columns, "complete"]]


def _season_of(stamps: pd.DatetimeIndex) -> tuple[np.ndarray, int] | None:
    """The pattern to remove, as each bucket's phase and the period: hours of the day for hourly
    buckets, weekdays for daily ones, none for longer buckets."""
    if len(stamps) < 2:
        return None
    spacing = pd.Series(stamps).diff().median()
    if spacing <= pd.Timedelta(hours=1):
        return np.asarray(stamps.hour), 24
    if spacing <= pd.Timedelta(hours=25):
        return np.asarray(stamps.day_of_week), 7
    return None


def _default_window(stamps: pd.DatetimeIndex) -> int:
    spacing = pd.Series(stamps).diff().median() if len(stamps) > 1 else pd.Timedelta(days=1)
    if spacing <= pd.Timedelta(hours=1):
        return 168  # a week of hours each side
    if spacing <= pd.Timedelta(hours=25):
        return 28  # four weeks of days
    if spacing <= pd.Timedelta(days=7):
        return 6
    return 3


_SIZES = ("before", "after", "change", "pct_change", "score")


def _steps(
    series: pd.Series, window: int, min_change: float, min_score: float
) -> list[dict[str, Any]]:
    """Step changes in one unit-cost series (index: timestamps), see :func:`price_changes`."""
    s = series[series > 0].dropna()
    w = window
    if len(s) < 2 * w:
        return []
    x = np.log(s.to_numpy(dtype=float))
    season = _season_of(pd.DatetimeIndex(s.index))
    if season is not None and len(x) >= 4 * season[1]:
        phase, period = season
        trend = pd.Series(x).rolling(period, center=True, min_periods=1).median().to_numpy()
        effect = pd.Series(x - trend).groupby(phase).median()
        effect -= effect.mean()  # levels stay those of an average day (hour)
        x = x - effect.reindex(phase).to_numpy()
    # the noise of one bucket, robust to steps and trends: MAD of first differences
    sigma = max(1.4826 * float(np.median(np.abs(np.diff(x)))) / np.sqrt(2.0), 1e-9)
    se = 1.2533 * sigma * np.sqrt(2.0 / w)  # standard error of a difference of two medians
    xs = pd.Series(x)
    before = xs.rolling(w).median().shift(1).to_numpy()
    after = xs.rolling(w).median().shift(-(w - 1)).to_numpy()
    d = after - before
    score = d / se
    flagged = np.nan_to_num((np.abs(np.expm1(d)) >= min_change) & (np.abs(score) >= min_score))
    picks: list[int] = []
    i = 0
    while i < len(x):  # one pick per run of flagged buckets of the same sign: the largest
        if not flagged[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(x) and flagged[j + 1] and np.sign(d[j + 1]) == np.sign(d[i]):
            j += 1
        picks.append(i + int(np.argmax(np.abs(d[i : j + 1]))))
        i = j + 1
    found: list[dict[str, Any]] = []
    for pick in picks:
        # place the step where one level before and one after fit best (least absolute deviation)
        lo, hi = max(pick - w, 0), min(pick + w, len(x))
        seg = x[lo:hi]
        costs = [
            np.abs(seg[:k] - np.median(seg[:k])).sum() + np.abs(seg[k:] - np.median(seg[k:])).sum()
            for k in range(max(1, pick - lo - w // 2), min(len(seg) - 1, pick - lo + w // 2) + 1)
        ]
        at = max(lo + max(1, pick - lo - w // 2) + int(np.argmin(costs)), w)
        at = min(at, len(x) - w)
        b, a = x[at - w : at], x[at : at + w]
        step = float(np.median(a) - np.median(b))
        half = w // 2
        # the new level holds: each half of each window sits on its side of the step
        gaps = [
            np.median(a2) - np.median(b2)
            for b2 in (b[:half], b[half:])
            for a2 in (a[:half], a[half:])
        ]
        holds = min(np.sign(step) * np.asarray(gaps)) >= 0.5 * abs(step)
        before_cost, after_cost = float(np.exp(np.median(b))), float(np.exp(np.median(a)))
        rel = after_cost / before_cost - 1.0
        if holds and abs(rel) >= min_change and abs(step / se) >= min_score:
            found.append(
                {
                    "timestamp": s.index[at],
                    "before": before_cost,
                    "after": after_cost,
                    "change": after_cost - before_cost,
                    "pct_change": rel,
                    "score": step / se,
                    "window_start": s.index[at - w],
                    "window_end": s.index[at + w - 1],
                    "_at": at,
                }
            )
    kept: list[dict[str, Any]] = []  # two steps closer than a window: keep the stronger
    for row in sorted(found, key=lambda r: -abs(r["score"])):
        if all(abs(row["_at"] - k["_at"]) >= w for k in kept):
            kept.append(row)
    for row in kept:
        del row["_at"]
    return sorted(kept, key=lambda r: r["timestamp"])


@keeps_missing_series
def price_changes(
    df: pd.DataFrame,
    *,
    by: str | list[str] = "model_type",
    freq: str | None = "D",
    window: int | None = None,
    min_change: float = 0.03,
    min_score: float = 4.0,
    as_of: Any = None,
) -> pd.DataFrame:
    """Step changes in unit cost (:func:`unit_costs`), with their date and size.

    At each bucket the medians of the ``window`` buckets before and after are compared (28 days,
    168 hours, 6 weeks or 3 months each side by default), after removing the weekday or
    hour-of-day pattern. A step counts when it is at least ``min_change`` (relative) and
    ``min_score`` standard errors of that difference (noise measured from the series' own
    bucket-to-bucket changes), and the new level holds over both halves of each window. Returns
    one row per step: the groups, ``timestamp`` (first bucket at the new level), ``before`` and
    ``after`` (median unit costs of the windows, the weekday or hour pattern taken out),
    ``change``, ``pct_change``, ``score``, ``per`` and the
    window compared.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-03-01", "2026-07-01", granularity="daily",
        ...                                   by=["model_type", "client_id"])
        >>> steps = price_changes(df, by=["model_type", "client_id"])
        >>> [(s.model_type, int(s.client_id), str(s.timestamp.date()), round(s.pct_change, 3))
        ...  for s in steps.itertuples()]
        [('Chat', 10001, '2026-05-01', -0.22), ('Chat', 10003, '2026-05-01', -0.096)]
    """
    if isinstance(window, bool) or (
        window is not None and (not isinstance(window, int) or window < 2)
    ):
        raise QueryError(f"window must be a whole number of buckets >= 2, not {window!r}.")
    if not (isinstance(min_change, (int, float)) and 0 <= min_change < 1):
        raise QueryError(
            f"min_change must be a fraction from 0 to 1, such as 0.03, not {min_change!r}."
        )
    if not (isinstance(min_score, (int, float)) and min_score >= 0):
        raise QueryError(f"min_score must be a number >= 0, not {min_score!r}.")
    costs = unit_costs(df, by=by, freq=freq, as_of=as_of)  # checks the frame first
    groups = [g for g in ("model_type", "client_id") if g in costs.columns]
    rows = []
    for key, part in costs.groupby(groups, observed=True, dropna=False, sort=True):
        series = part.set_index("timestamp")["unit_cost"]
        w = window or _default_window(pd.DatetimeIndex(series.index))
        for step in _steps(series, w, float(min_change), float(min_score)):
            keys = key if isinstance(key, tuple) else (key,)
            rows.append(
                {**dict(zip(groups, keys, strict=True)), **step, "per": part["per"].iloc[0]}
            )
    columns = [*groups, "timestamp", *_SIZES, "per", "window_start", "window_end"]
    out = pd.DataFrame(rows, columns=columns)
    out["model_type"] = pd.Categorical(
        out["model_type"].astype(str), categories=list(df["model_type"].cat.categories)
    )
    if "client_id" in out:
        out["client_id"] = out["client_id"].astype("Int64")
    if out.empty:
        tz = tz_of(df)
        for col in ("timestamp", "window_start", "window_end"):
            out[col] = out[col].astype(f"datetime64[ns, {tz}]")
        for col in _SIZES:
            out[col] = out[col].astype(float)
    return out
