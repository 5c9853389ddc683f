"""Fast building blocks of FOCUS rows: a tidy frame pivoted to one row per bucket and series,
and text columns built from a few distinct values.

A month of 104 hourly series is half a million tidy rows; these keep its conversion in numpy
(and pyarrow, when installed) instead of Python loops over rows.

Example:
    >>> from costtrend_nb import CostTrendClient
    >>> df = CostTrendClient.demo().fetch("2026-11-18", "2026-11-19", model_types=["TTS"])
    >>> table, series = pivot(df)
    >>> len(table), series, list(table.columns[:4])
    (24, [('all', None)], ['timestamp', 'series', 'complete', 'total_amount'])
    >>> list(texts(["a", None], np.array([0, 1, 0])))
    ['a', nan, 'a']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..catalogue import sort_metrics
from ..errors import QueryError

__all__ = ["pivot", "texts"]


def pivot(df: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, int | None]]]:
    """One row per (bucket, series), in time order then series order; a column per metric.

    Returns:
        The table (``timestamp``, ``series``: an index into the second value, ``complete``:
        all the row's tidy rows are, then the metrics, NaN where a series has none) and the
        series as ``(model type, department id or None)``.

    Raises:
        QueryError: a (bucket, series, metric) appears twice.
    """
    stamps = pd.DatetimeIndex(df["timestamp"])
    t_codes, t_values = pd.factorize(stamps.asi8, sort=True)
    kinds = df["model_type"].astype("category")
    k_codes = kinds.cat.codes.to_numpy(dtype=np.int64)
    ids = df["client_id"].astype("Int64").to_numpy(dtype=np.int64, na_value=-1)
    c_codes, c_values = pd.factorize(ids, sort=True)
    metrics = df["metric"].astype("category")
    m_codes = metrics.cat.codes.to_numpy(dtype=np.int64)
    width = len(c_values)
    series_code = k_codes * width + c_codes
    key = t_codes.astype(np.int64) * (len(kinds.cat.categories) * width) + series_code
    rows, keys = pd.factorize(key, sort=True)
    n, m = len(keys), len(metrics.cat.categories)
    cells = rows.astype(np.int64) * m + m_codes
    if len(cells) and np.bincount(cells, minlength=n * m).max() > 1:
        raise QueryError(
            "the frame has several rows for one (timestamp, model_type, client_id, metric); "
            "aggregate it first."
        )
    flat = np.full(n * m, np.nan)
    flat[cells] = df["value"].to_numpy(dtype=np.float64)
    values = flat.reshape(n, m)
    complete = np.ones(n, dtype=bool)
    complete[rows[~df["complete"].to_numpy(dtype=bool)]] = False
    used, series_of_row = np.unique(keys % (len(kinds.cat.categories) * width), return_inverse=True)
    series = [
        (
            str(kinds.cat.categories[code // width]),
            None if c_values[code % width] < 0 else int(c_values[code % width]),
        )
        for code in used
    ]
    times = pd.DatetimeIndex(t_values[keys // (len(kinds.cat.categories) * width)], tz="UTC")
    table = pd.DataFrame(
        {
            "timestamp": times.tz_convert(stamps.tz),
            "series": series_of_row.astype(np.int64),
            "complete": complete,
        }
    )
    names = [str(c) for c in metrics.cat.categories]
    order = sort_metrics(names)
    metric_frame = pd.DataFrame(values, columns=names)[list(order)]
    return pd.concat([table, metric_frame], axis=1), series


def texts(values: Sequence[str | None], codes: np.ndarray) -> pd.Series:
    """A ``str`` column: ``values[code]`` per row, null for None; built in C, not per row.

    Example:
        >>> list(texts(["CNY"], np.zeros(2, dtype=np.int64)))
        ['CNY', 'CNY']
    """
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow comes with the parquet and test extras
        return pd.Series(np.asarray(values, dtype=object)[codes], dtype="str")
    taken = pa.array(list(values), pa.large_string()).take(pa.array(codes))
    return pd.Series(pd.array(taken, dtype="str"))
