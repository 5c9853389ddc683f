"""Which groups drove a change in cost, and whether through volume or unit cost.

The change in cost between two like-for-like windows (see :mod:`.periods`) is split, within
each (model type, department) cell, with the **additive log-mean Divisia index (LMDI-I)**:

    change = L(C1, C0) * ln(V1 / V0)  +  L(C1, C0) * ln(P1 / P0)
             volume effect               unit-cost effect

where C is cost, V volume in the model type's natural unit (tokens, images, seconds of video or
audio, characters; calls when a cell mixes model types), P = C / V the unit cost, and
L(a, b) = (a - b) / (ln a - ln b) the logarithmic mean (L(a, a) = a). Both effects are in CNY,
so they add across cells; per cell they add up exactly to the change, and the cells to the total.

Zeros follow the limits of the small-value replacement of Ang & Liu (2007): the whole change
goes to the factor that is zero, and the other effect is 0.

- A cell that appears or vanishes (zero volume in one window) is all volume effect.
- Free to paid, or paid to free (zero cost in one window, volume in both): the unit cost went
  from or to 0, so the whole change is unit-cost effect. From ¥0 to ¥10 on unchanged volume is
  +¥10 of unit cost and ¥0 of volume: as C0 -> 0, L(C1, C0) -> 0 and with it the volume effect.
- Cost without volume (a fee, a rounding remainder) has no unit cost (NaN): in a cell with no
  volume in either window the whole change is unit-cost effect (nothing but price moved); where
  volume appears or vanishes it is volume effect, as above. No effect is ever infinite.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..catalogue import MODEL_TYPE_METRICS
from ..errors import QueryError
from ._frame import (
    Window,
    bucket_freq,
    in_window,
    keeps_missing_series,
    resolve_as_of,
    validate,
)
from .periods import Period, period_pairs, require_coverage

__all__ = ["VOLUME", "explain_change", "volume_of"]

_TOKENS = ("input_tokens", "output_tokens", "reasoning_tokens")  # cached ones are input tokens
_MODAL = MODEL_TYPE_METRICS["ChatFullmodal"]  # every input and output token of every medium
_EMBED = ("billing_tokens", "image_tokens")

#: Each model type's volume: the metrics summed, and their unit.
VOLUME: dict[str, tuple[tuple[str, ...], str]] = {
    "Chat": (_TOKENS, "tokens"),
    "ChatMultimodal": (_MODAL, "tokens"),
    "ChatFullmodal": (_MODAL, "tokens"),
    "ImageGeneration": (("image_count",), "images"),
    "ImageEdit": (("image_count",), "images"),
    "VideoGeneration": (("video_duration",), "s"),
    "VideoImageGeneration": (("video_duration",), "s"),
    "Embedding": (_EMBED, "tokens"),
    "Rerank": (_EMBED, "tokens"),
    "MultimodalEmbedding": (_EMBED, "tokens"),
    "MultimodalRerank": (_EMBED, "tokens"),
    "TTS": (("characters",), "chars"),
    "ASR": (("asr_duration",), "s"),
}
_CALLS = (("total_calls",), "calls")


def volume_of(model_type: str) -> tuple[tuple[str, ...], str]:
    """The metrics that measure a model type's volume, and their unit (calls for ``"all"``).

    Example:
        >>> volume_of("TTS")
        (('characters',), 'chars')
    """
    return VOLUME.get(str(model_type), _CALLS)


def _log_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L(a, b) = (a - b) / ln(a / b) for positive a and b, and L(a, a) = a.

    ln(a / b) is taken as log1p of the relative difference, not as ln a - ln b: two logs of
    nearly equal values differ only in their last bits, and their difference can be off by half
    or more (costs ten units in the last place apart gave L = 1.6 a).

    Example:
        >>> _log_mean(np.array([100.0, 100.0, np.e]), np.array([100.0, 100.0 + 1e-12, 1.0]))
        array([100.        , 100.        ,   1.71828183])
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = a - b
        out = diff / np.log1p(diff / b)
    return np.where(diff == 0, a, out)


def _cell_sums(df: pd.DataFrame, window: Window, now: pd.Timestamp) -> pd.DataFrame:
    """Each (model type, department) cell's sum of every metric in ``window``: the cells the
    frame holds there, not every pairing of its model types and departments."""
    inside = df[in_window(df, window.start, window.end, now, bucket_freq(df))]
    keys = ["model_type", "client_id", "metric"]
    summed = inside.groupby(keys, observed=True, dropna=False)["value"].sum()
    table = summed.unstack("metric")
    table.columns = [str(c) for c in table.columns]
    return table


def _volume_effect(
    c0: np.ndarray, c1: np.ndarray, vol0: np.ndarray, vol1: np.ndarray
) -> np.ndarray:
    """Each cell's volume effect; the unit-cost effect is the rest of the change.

    LMDI-I where cost and volume are positive in both windows; at the zeros, the limits of
    Ang & Liu (2007): volume appearing or vanishing is all volume effect; cost going from or to
    0 on volume in both windows (free to paid), or moving without any volume, has none.
    """
    change = c1 - c0
    splittable = (c0 > 0) & (c1 > 0) & (vol0 > 0) & (vol1 > 0)
    volume_moved = (vol0 > 0) != (vol1 > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lmdi = _log_mean(c1, c0) * np.log(vol1 / vol0)
    return np.where(splittable, lmdi, np.where(volume_moved, change, 0.0))


@keeps_missing_series
def explain_change(
    df: pd.DataFrame,
    period: Period = "month",
    *,
    as_of: Any = None,
    by: str = "model_type",
    align: str = "calendar",
    detail: bool = False,
) -> pd.DataFrame:
    """Split the change in cost into each group's contribution, volume and unit-cost effects.

    Returns one row per group, largest change first: ``by``, ``previous_cost``,
    ``current_cost``, ``change``, ``volume_effect``, ``unit_cost_effect`` (CNY),
    ``share_of_change``, the exact windows compared and their ``current_coverage`` and
    ``previous_coverage`` (always 1: a window with a hole or outside the frame raises, because a
    split of a partial total would mislead). Only buckets that ended by "now" count. Zeros
    follow Ang & Liu's limits (see the module): ¥0 to ¥10 on unchanged volume is all unit cost,
    and cost without volume never gives an infinite effect. With ``detail=True``, one row per
    (model type, department) cell instead, with its volumes, volume unit and unit costs.
    ``df.attrs["method"]`` names the decomposition.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-04-01", "2026-06-01", granularity="daily",
        ...                                   by="model_type")
        >>> drivers = explain_change(df, "month")
        >>> bool(abs(drivers["change"].sum() - (drivers["current_cost"].sum()
        ...      - drivers["previous_cost"].sum())) < 1e-6)
        True
    """
    validate(df, "total_amount")
    if by not in ("model_type", "client_id"):
        raise QueryError(f"by must be 'model_type' or 'client_id', not {by!r}.")
    (pair,) = period_pairs(df, period, as_of=as_of, align=align)
    now = resolve_as_of(df, as_of)
    shares = require_coverage(df, pair.current, pair.previous, now=now)
    before = _cell_sums(df, pair.previous, now)
    after = _cell_sums(df, pair.current, now)
    cells = before.index.union(after.index)
    before = before.reindex(cells).fillna(0.0)
    after = after.reindex(cells).fillna(0.0)

    units, v0, v1 = [], [], []
    for row, (model_type, _) in enumerate(cells):
        keys, unit = volume_of(model_type)
        missing = [k for k in keys if k not in before.columns and k not in after.columns]
        if missing:
            raise QueryError(
                f"explain_change needs the volume of {model_type} ({', '.join(keys)}); the "
                f"frame lacks {', '.join(missing)}. Pass the frame fetch() returns, all metrics."
            )
        units.append(unit)
        v0.append(sum(before[k].iloc[row] if k in before else 0.0 for k in keys))
        v1.append(sum(after[k].iloc[row] if k in after else 0.0 for k in keys))
    c0 = before["total_amount"].to_numpy(dtype=float)
    c1 = after["total_amount"].to_numpy(dtype=float)
    vol0, vol1 = np.asarray(v0, dtype=float), np.asarray(v1, dtype=float)
    change = c1 - c0
    volume_effect = _volume_effect(c0, c1, vol0, vol1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.where(vol0 > 0, c0 / vol0, np.nan)
        p1 = np.where(vol1 > 0, c1 / vol1, np.nan)
    unit_cost_effect = change - volume_effect  # exact: the two parts sum to the change

    cell = pd.DataFrame(
        {
            "model_type": cells.get_level_values(0),
            "client_id": cells.get_level_values(1),
            "volume_unit": units,
            "previous_volume": vol0,
            "current_volume": vol1,
            "previous_unit_cost": p0,
            "current_unit_cost": p1,
            "previous_cost": c0,
            "current_cost": c1,
            "change": change,
            "volume_effect": volume_effect,
            "unit_cost_effect": unit_cost_effect,
        }
    )
    total_change = float(change.sum())
    if detail:
        out = cell
    else:
        sums = ["previous_cost", "current_cost", "change", "volume_effect", "unit_cost_effect"]
        out = cell.groupby(by, observed=True, dropna=False, sort=False)[sums].sum().reset_index()
    out["share_of_change"] = out["change"] / total_change if total_change else np.nan
    out["period"] = pair.current.label
    out["running"] = pair.running
    out["current_start"], out["current_end"] = pair.current.start, pair.current.end
    out["previous_start"], out["previous_end"] = pair.previous.start, pair.previous.end
    out["current_coverage"], out["previous_coverage"] = shares
    out = out.reindex(out["change"].abs().sort_values(ascending=False, kind="stable").index)
    out = out.reset_index(drop=True)
    if "client_id" in out:
        out["client_id"] = out["client_id"].astype("Int64")
    if "model_type" in out:
        out["model_type"] = pd.Categorical(
            out["model_type"].astype(str), categories=list(df["model_type"].cat.categories)
        )
    out.attrs["method"] = "LMDI-I (additive log-mean Divisia index), per (model type, department)"
    return out
