"""The exact frame a faultless fetch from the emulator must return, for tests and benchmarks.

:func:`truth` reads the synthetic organisation directly: it shares the emulator's arithmetic
(:func:`~costtrend_nb.emulator.aggregate.aggregate`) but none of its paging, encoding or
fault handling, and builds the tidy frame by its own, simpler route.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..catalogue import METRICS, UNITS, metrics_for, sort_metrics
from ..query import DAY, HOUR, SERVICE_UTC_OFFSET, TrendQuery, WindowRequest, local_midnights
from .aggregate import Selection, aggregate
from .synth import DEMO_NOW, Organisation, demo_organisation

__all__ = ["truth"]


def _selection(query: TrendQuery, window: WindowRequest) -> Selection:
    key = window.series
    types = (key.model_type,) if "model_type" in query.by else query.model_types
    clients = query.client_ids
    if key.client_id is not None:
        clients = (key.client_id,)
    members = (
        tuple(int(m) for m in query.member_user_ids) if query.member_user_ids is not None else None
    )
    return Selection(types, clients, query.api_key_id, members)


def truth(
    query: TrendQuery, *, now: int = DEMO_NOW, org: Organisation | None = None, seed: int = 0
) -> pd.DataFrame:
    """The tidy frame a faultless fetch of ``query`` from an emulator at ``now`` returns.

    Days re-bucketed from hours (a zone whose midnight is not UTC+8's) are summed here by
    pandas, so compare those with a relative tolerance of about 1e-12.

    Example:
        >>> q = TrendQuery("2026-11-16", "2026-11-18", granularity="daily", model_types=["TTS"])
        >>> truth(q).query("metric == 'total_calls'")["value"].tolist()
        [4481.0, 5342.0]
    """
    org = org if org is not None else demo_organisation(seed)
    ids = org.department_ids() if "client_id" in query.by and query.client_ids is None else None
    step = HOUR if query.fetch_granularity == "hourly" else DAY
    blocks: dict[tuple[str, int | None], list[tuple[np.ndarray, np.ndarray, tuple[str, ...]]]] = {}
    for window in query.plan(ids):
        sel = _selection(query, window)
        got = aggregate(org, sel, window.start, window.end, query.fetch_granularity, now)
        grid = np.arange(window.start, min(window.end, -(-now // step) * step), step)
        keys = metrics_for(sel.model_types)
        values = np.zeros((len(grid), len(keys)))
        where = {int(t): i for i, t in enumerate(got.starts)}
        for row, start in enumerate(grid):
            if int(start) in where:
                values[row] = got.values[where[int(start)]]
        blocks.setdefault((window.series.model_type, window.series.client_id), []).append(
            (grid, values, keys)
        )

    frames = []
    for (model_type, client_id), parts in blocks.items():
        keys = parts[0][2]
        grid = np.concatenate([p[0] for p in parts])
        values = np.concatenate([p[1] for p in parts])
        wide = pd.DataFrame(values, columns=list(keys))
        wide["start"] = grid
        if query.rebucket:
            wide = _local_days(wide, query)
        else:
            wide["end"] = wide["start"] + step
        long = wide.melt(id_vars=["start", "end"], var_name="metric", value_name="value")
        long["model_type"] = model_type
        long["client_id"] = client_id
        frames.append(long)
    if not frames:
        raise ValueError("the query plans no series")
    df = pd.concat(frames, ignore_index=True)
    settle = query.settle.total_seconds()
    present = sort_metrics(df["metric"].unique())
    units = [u for u in UNITS if u in {METRICS[m].unit for m in present}]
    tz = query.tz
    stamp = pd.to_datetime(df["start"].to_numpy(), unit="s", utc=True).tz_convert(tz)
    return pd.DataFrame(
        {
            "timestamp": pd.Series(stamp, dtype=f"datetime64[ns, {tz}]"),
            "model_type": pd.Categorical(
                df["model_type"], categories=list(dict.fromkeys(k[0] for k in blocks))
            ),
            "client_id": pd.array(df["client_id"].tolist(), dtype="Int64"),
            "metric": pd.Categorical(df["metric"], categories=list(present)),
            "value": df["value"].astype(np.float64),
            "unit": pd.Categorical([METRICS[m].unit for m in df["metric"]], categories=units),
            "complete": (df["end"] + settle <= now).to_numpy(),
        }
    )


def _local_days(hours: pd.DataFrame, query: TrendQuery) -> pd.DataFrame:
    edges = local_midnights(query.start, query.end, query.tz).as_unit("s").asi8
    day = np.searchsorted(edges, hours["start"].to_numpy(), side="right") - 1
    summed = hours.drop(columns="start").groupby(day, sort=True).sum()
    summed["model_count"] = np.nan  # distinct counts of hours do not add up to a day's
    summed["start"] = edges[summed.index]
    summed["end"] = edges[summed.index + 1]
    return summed.reset_index(drop=True)


assert SERVICE_UTC_OFFSET == 8 * HOUR  # the emulator's days start at midnight UTC+8 too
