"""Fetch what the summary needs and make it: the face between a client and :mod:`.summary`.

:func:`fetch_summary` fetches three daily frames of the same range (``days`` before the data's
latest day, 210 by default as in the forecast notebook, so the landing is the one notebook 03
shows): the total (for the windows and the landing), the split by model type (drivers and
anomalies) and the split by department (top departments), plus the department names; then
:func:`costtrend_nb.summary.summarise`. On the demo (2 cores) it takes about 0.9 s, 2 s with the
first imports; most of it is the forecast's fit and its six calibration backtests, notebook 03's
own configuration, so the landing is the same. On a busy machine OpenBLAS's spinning threads
can make those small fits ten times slower: ``OPENBLAS_NUM_THREADS=1`` keeps them fast.

Example:
    >>> from costtrend_nb import CostTrendClient
    >>> s = fetch_summary(CostTrendClient.demo())
    >>> s.demo, s.month.current_text, s.landing.month
    (True, '¥47,701.46', '2026-11')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .errors import QueryError
from .query import to_timestamp
from .summary import Summary, summarise

__all__ = ["DAYS", "fetch_summary"]

DAYS = 210  # notebook 03's history: the landing matches its table


def fetch_summary(
    client: Any,
    *,
    end: Any = None,
    tz: str = "Asia/Shanghai",
    model_types: Sequence[str] | None = None,
    client_ids: Sequence[int] | int | None = None,
    budget: float | None = None,
    lang: str = "en",
    days: int = DAYS,
    now: Any = None,
) -> Summary:
    """The summary of the ``days`` days before ``end`` (default: through the running day).

    Raises:
        QueryError: bad input (checked before any request), e.g. a negative budget.
        CostTrendError: the service's refusals and failures, as ``client.fetch`` raises them.
    """
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget >= 0
    ):
        raise QueryError(f"budget must be a number of CNY of at least 0, not {budget!r}.")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise QueryError(f"days must be a whole number of at least 1, not {days!r}.")
    if end is None:
        stop = client.now(tz).normalize() + pd.Timedelta(days=1)
    else:
        stop = to_timestamp(end, tz, name="end")
    start = (stop.normalize() - pd.Timedelta(days=days + 1)).date().isoformat()
    stop_text = stop.isoformat()
    common = {
        "granularity": "daily",
        "tz": tz,
        "model_types": list(model_types) if model_types else None,
        "client_ids": client_ids,
    }
    daily = client.fetch(start, stop_text, **common)
    by_type = client.fetch(start, stop_text, by="model_type", **common)
    month_start = (stop.normalize() - pd.Timedelta(days=1)).replace(day=1)
    previous = (month_start - pd.Timedelta(days=1)).replace(day=1).date().isoformat()
    by_department = client.fetch(previous, stop_text, by="client_id", **common)
    names = client.departments()
    return summarise(
        daily,
        by_department=by_department,
        by_model_type=by_type,
        names=names,
        budget=budget,
        demo=bool(getattr(client, "is_demo", False)),
        lang=lang,
        now=now,
    )
