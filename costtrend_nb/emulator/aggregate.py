"""What the service computes for one query: the selected usage, bucket by bucket.

Both the emulator's handler and :func:`~costtrend_nb.emulator.truth.truth` call
:func:`aggregate`, so the numbers a test expects are summed exactly as the numbers served.

Selection semantics (the vendor's, as far as documented):

* no ``clientId``/``clientIds``: the whole organisation;
* ``memberUserIds`` absent: the department and all its members; empty: the department's own
  keys alone; a list: the department's own keys and those members';
* ``apiKeyId``: that key only (it must belong to the department).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..catalogue import MODEL_TYPE_METRICS, metrics_for
from .synth import DAY, HOUR, LOCAL, Organisation, scale

__all__ = ["Buckets", "Selection", "aggregate"]


@dataclass(frozen=True)
class Selection:
    """Which usage a request asks for."""

    model_types: tuple[str, ...] | None = None
    client_ids: tuple[int, ...] | None = None
    api_key_id: int | None = None
    member_user_ids: tuple[int, ...] | None = None

    def keys(self, org: Organisation) -> set[int]:
        """Indices of the API keys selected."""
        chosen = set()
        for i, key in enumerate(org.keys):
            if self.client_ids is not None and key.client_id not in self.client_ids:
                continue
            if self.api_key_id is not None and key.id != self.api_key_id:
                continue
            members = self.member_user_ids
            if members is not None and key.member_id is not None and key.member_id not in members:
                continue
            chosen.add(i)
        return chosen


@dataclass
class Buckets:
    """The buckets of a query: starts, metric keys, values, and which buckets saw any use."""

    starts: np.ndarray  # bucket starts, Unix seconds
    keys: tuple[str, ...]
    values: np.ndarray  # (buckets, keys)
    used: np.ndarray  # (buckets,) bool: False for idle buckets, which the service leaves out


def _hour_range(org: Organisation, start: int, end: int, step: int, now: int) -> tuple[int, int]:
    """The first and last (exclusive) hour index of the buckets overlapping [start, end)."""
    offset = LOCAL if step == DAY else 0
    first = (start + offset) // step * step - offset
    last = -((-(end + offset)) // step) * step - offset
    last = min(last, -((-(now + offset)) // step) * step - offset)  # nothing after now
    first = max(first, org.start)
    last = min(last, org.end)
    if last <= first:
        return 0, 0
    return (first - org.start) // HOUR, (last - org.start) // HOUR


def aggregate(
    org: Organisation,
    selection: Selection,
    start: int,
    end: int,
    granularity: str,
    now: int,
) -> Buckets:
    """Sum the selected usage over the buckets overlapping ``[start, end)`` before ``now``.

    The bucket holding ``now`` is partial: its last hour counts pro rata.

    Example:
        >>> from costtrend_nb.emulator.synth import demo_organisation, DEMO_NOW
        >>> b = aggregate(demo_organisation(), Selection(("TTS",)), DEMO_NOW - 86400, DEMO_NOW,
        ...               "hourly", DEMO_NOW)
        >>> b.keys, len(b.starts)
        (('total_amount', 'total_calls', 'model_count', 'characters'), 25)
    """
    step = DAY if granularity == "daily" else HOUR
    types = selection.model_types if selection.model_types is not None else tuple(org.blocks)
    keys = metrics_for(
        selection.model_types if selection.model_types is not None else tuple(MODEL_TYPE_METRICS)
    )
    h0, h1 = _hour_range(org, start, end, step, now)
    hours = h1 - h0
    column = {k: j for j, k in enumerate(keys)}
    hourly = np.zeros((hours, len(keys)), dtype=np.int64)  # whole stored units: exact sums
    models_used: dict[int, np.ndarray] = {}
    chosen = selection.keys(org)
    now_index = (now - org.start) // HOUR
    fraction = ((now - org.start) % HOUR) / HOUR
    for model_type in types:
        block = org.blocks.get(model_type)
        if block is None or hours == 0:
            continue
        rows = np.flatnonzero(np.isin(block.key_index, list(chosen)))
        if not len(rows):
            continue
        for metric, matrix in block.values.items():
            part = matrix[rows, h0:h1]
            if h0 <= now_index < h1:
                # the hour holding now counts pro rata; the hours after it have not happened
                part = part.copy()
                part[:, now_index - h0] = np.round(part[:, now_index - h0] * fraction)
                part[:, now_index - h0 + 1 :] = 0
            hourly[:, column[metric]] += part.sum(axis=0, dtype=np.int64)
            if metric == "total_calls":
                for model in np.unique(block.model_index[rows]):
                    mine = block.model_index[rows] == model
                    seen = (part[mine] > 0).any(axis=0)
                    models_used[model] = models_used.get(model, np.zeros(hours, bool)) | seen

    if step == DAY:
        days = hours // 24
        summed = hourly.reshape(days, 24, len(keys)).sum(axis=1)
        used_models = [m.reshape(days, 24).any(axis=1) for m in models_used.values()]
        starts = org.start + h0 * HOUR + DAY * np.arange(days, dtype=np.int64)
    else:
        summed = hourly
        used_models = list(models_used.values())
        starts = org.start + HOUR * np.arange(h0, h1, dtype=np.int64)
    # one division each: the float nearest the exact decimal (0.0001 CNY, 0.001 s)
    values = summed / np.array([scale(k) for k in keys], dtype=np.float64)
    count = np.sum(used_models, axis=0) if used_models else np.zeros(len(starts))
    values[:, column["model_count"]] = count
    used = (values != 0).any(axis=1)
    return Buckets(starts, keys, values, used)


def selected_departments(org: Organisation, client_ids: Sequence[int] | None) -> list[int]:
    """The departments a selection covers (all of them when none are named)."""
    return list(client_ids) if client_ids is not None else org.department_ids()
