"""Pages of the cost trend endpoint into one tidy DataFrame, and back out to a wide one.

The tidy frame has one row per (bucket, series, metric)::

    timestamp   datetime64[ns, tz]  bucket start
    model_type  category            "all" when not split
    client_id   Int64               <NA> when not split
    metric      category            total_amount, total_calls, ...
    value       float64
    unit        category            CNY, calls, tokens, images, s, chars, models (in that order)
    complete    bool                the bucket ended at least `settle` before `as_of`

Rows come series by series, then metric by metric (catalogue order), then in time order.

How the parser treats what the service sends (see also README, "Decisions"):

* ``values`` may be a JSON object, its JSON text, or that text encoded once more;
* a metric missing from a point, or ``null``, is 0; numbers sent as text are read as numbers;
  anything else (``true``, ``"abc"``, NaN) raises :class:`~costtrend_nb.errors.ResponseError`;
* negative values are kept as sent (credits and corrections), with a warning;
* a point seen twice in a series counts once (the last copy wins);
* points outside their request's range are dropped, with a warning; points off the bucket
  grid raise :class:`~costtrend_nb.errors.ResponseError`;
* buckets before ``as_of`` that the service left out are rows of zeros; buckets starting at
  or after ``as_of`` exist only if the service sent them;
* daily data re-bucketed from hours (a zone whose midnight is not UTC+8's) has ``model_count``
  NaN: distinct counts of hours do not add up to a day's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._warn import warn
from .catalogue import METRICS, UNITS, Metric, metric_info, metrics_for, sort_metrics
from .errors import QueryError, ResponseError
from .query import (
    DAY,
    MODEL_TYPES,
    SERVICE_UTC_OFFSET,
    SeriesKey,
    TrendQuery,
    WindowRequest,
    local_midnights,
)
from .query import unix_seconds as _unix_seconds

try:  # the fastest decoder installed
    import orjson

    _loads: Any = orjson.loads
    _DecodeError: tuple[type[Exception], ...] = (orjson.JSONDecodeError, ValueError, TypeError)
except ImportError:  # pragma: no cover - orjson is a dependency, but stay correct without it
    _loads = json.loads
    _DecodeError = (ValueError, TypeError, RecursionError)

__all__ = [
    "COLUMNS",
    "Chain",
    "Page",
    "ParsedChain",
    "build_frame",
    "empty_frame",
    "loads",
    "parse_chain",
    "to_daily",
    "wide",
]

log = logging.getLogger("costtrend_nb")

COLUMNS: tuple[str, ...] = (
    "timestamp",
    "model_type",
    "client_id",
    "metric",
    "value",
    "unit",
    "complete",
)


def loads(data: bytes | str) -> Any:
    """Decode JSON with the fastest decoder installed (orjson when present)."""
    return _loads(data)


@dataclass
class Page:
    """One page of a response: its raw points and metric definitions, and where it came from."""

    points: list[Any]
    metrics: list[Any] = field(default_factory=list)
    next_token: str | None = None
    request_id: str | None = None
    index: int = 0
    served_at: float | None = None  # the service's clock (Date header), Unix seconds


@dataclass
class Chain:
    """One window request and the pages its chain of requests brought back."""

    request: WindowRequest
    pages: list[Page] = field(default_factory=list)


@dataclass
class _Series:
    key: SeriesKey
    timestamps: np.ndarray  # bucket starts, Unix seconds, sorted
    keys: tuple[str, ...]
    values: np.ndarray  # (buckets, keys)
    bucket_ends: np.ndarray


def build_frame(
    query: TrendQuery,
    chains: Sequence[Chain | ParsedChain],
    *,
    as_of: pd.Timestamp,
    attrs: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Turn the pages of every chain of ``query`` into the tidy frame.

    Args:
        query: the query the chains were planned from.
        chains: each window request with its pages (or already parsed), in any order.
        as_of: the service's time when the data was read: buckets before it that the
            service left out are zeros, and ``complete`` is judged against it.
        attrs: provenance stored in ``df.attrs``.

    Raises:
        ResponseError: a page holds something the API does not promise.
    """
    as_of = pd.Timestamp(as_of)
    if as_of.tzinfo is None:
        raise QueryError("as_of must be timezone-aware.")
    cutoff = int(np.ceil(as_of.timestamp()))
    by_series: dict[SeriesKey, list[ParsedChain]] = {}
    for chain in chains:
        parsed = chain if isinstance(chain, ParsedChain) else parse_chain(query, chain)
        by_series.setdefault(parsed.request.series, []).append(parsed)

    declared: dict[str, Metric] = {}
    ordered = sorted(by_series.items(), key=lambda item: _series_rank(query, item[0]))
    built = [_build_series(query, key, parts, cutoff, declared) for key, parts in ordered]
    if query.rebucket:
        built = [_rebucket(query, s) for s in built]
    settle = int(query.settle.total_seconds())
    frame = _assemble(query, built, declared, complete_before=as_of.timestamp() - settle)
    frame.attrs.update(attrs or {})
    return frame


def _series_rank(query: TrendQuery, key: SeriesKey) -> tuple[int, int]:
    """Series in the order of the query's plan: model types as listed, then departments."""
    types = query.model_types or MODEL_TYPES
    kind = types.index(key.model_type) if key.model_type in types else -1
    ids = query.client_ids or ()
    where = ids.index(key.client_id) if key.client_id in ids else (key.client_id or -1)
    return kind, where


def empty_frame(tz: str = "Asia/Shanghai") -> pd.DataFrame:
    """A tidy frame with no rows and the right dtypes.

    Example:
        >>> empty_frame().dtypes["client_id"]
        Int64Dtype()
    """
    return pd.DataFrame(
        {
            "timestamp": pd.Series([], dtype=f"datetime64[ns, {tz}]"),
            "model_type": pd.Categorical([]),
            "client_id": pd.array([], dtype="Int64"),
            "metric": pd.Categorical([]),
            "value": np.array([], dtype=np.float64),
            "unit": pd.Categorical([]),
            "complete": np.array([], dtype=bool),
        }
    )


# -- one series -----------------------------------------------------------------------------


@dataclass
class ParsedChain:
    """One chain's points, decoded and checked: what the service sent, before grid filling.

    Made by :func:`parse_chain` as soon as a chain's last page arrives (the clients do it
    while other chains still wait on the network); :func:`build_frame` merges them.
    """

    request: WindowRequest
    timestamps: np.ndarray  # bucket starts in page order; a duplicate may repeat
    columns: dict[str, np.ndarray]  # one value per timestamp; a metric a point lacks is 0
    declared: dict[str, Metric]  # the metric definitions the pages carried
    dropped: int = 0  # points outside the window
    request_ids: list[str] = field(default_factory=list)
    served_at: list[float] = field(default_factory=list)


def parse_chain(query: TrendQuery, chain: Chain) -> ParsedChain:
    """Decode and check one chain's pages.

    Raises:
        ResponseError: a page holds something the API does not promise (naming the page, the
            point and the request id).
    """
    bucket = query.bucket_seconds
    req, key = chain.request, chain.request.series
    stamps: list[np.ndarray] = []
    raw_values: list[Any] = []
    origins: list[tuple[Chain, Page, int]] = []  # for error messages: first point of each page
    declared: dict[str, Metric] = {}
    dropped = 0
    for page in chain.pages:
        for definition in page.metrics:
            _declare(definition, declared, page, key)
        ts, vals = _read_points(page, key)
        if not len(ts):
            continue
        off_grid = (ts - req.start) % bucket != 0
        if off_grid.any():
            bad = int(ts[off_grid][0])
            raise ResponseError(
                f"page {page.index + 1} of series {key.label} has a point at {bad} "
                f"({_iso(bad)}), which is not the start of a {query.fetch_granularity} bucket",
                request_id=page.request_id,
            )
        inside = (ts >= req.start) & (ts < req.end)
        if not inside.all():
            dropped += int((~inside).sum())
            keep = np.flatnonzero(inside)
            ts = ts[keep]
            vals = [vals[i] for i in keep]
        origins.append((chain, page, len(raw_values)))
        stamps.append(ts)
        raw_values.extend(vals)
    timestamps = np.concatenate(stamps) if stamps else np.empty(0, dtype=np.int64)
    decoded, numbers_only = _decode_values(raw_values, origins, key)
    columns = _uniform_columns(decoded) if numbers_only else None
    if columns is None:
        seen = set().union(*decoded) if decoded else set()
        positions = np.arange(len(decoded))
        columns = {
            k: _column([d.get(k, 0) for d in decoded], k, key, origins, positions) for k in seen
        }
    return ParsedChain(
        req,
        timestamps,
        columns,
        declared,
        dropped,
        [p.request_id for p in chain.pages if p.request_id],
        [p.served_at for p in chain.pages if p.served_at is not None],
    )


def _iso(seconds: int) -> str:
    """Unix seconds as ISO text, for messages; a hostile value may lie beyond any calendar (past
    the year 9999: the same limit whichever pandas is installed, pandas 2 reaching further).

    >>> _iso(0), _iso(253_402_300_799)
    ('1970-01-01T00:00:00+00:00', '9999-12-31T23:59:59+00:00')
    >>> _iso(253_402_300_800), _iso(9_223_372_036_855)
    ('out of any calendar range', 'out of any calendar range')
    """
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()
    except (OverflowError, ValueError, OSError):
        return "out of any calendar range"


def _build_series(
    query: TrendQuery,
    key: SeriesKey,
    parts: list[ParsedChain],
    cutoff: int,
    declared: dict[str, Metric],
) -> _Series:
    bucket = query.bucket_seconds
    parts = sorted(parts, key=lambda p: p.request.start)
    grids = [
        np.arange(p.request.start, min(p.request.end, cutoff), bucket, dtype=np.int64)
        for p in parts
    ]
    dropped = sum(p.dropped for p in parts)
    if dropped:
        warn(
            f"{dropped} point(s) of series {key.label} lay outside the requested range and "
            "were dropped.",
            UserWarning,
        )
    series_declared: set[str] = set()
    for part in parts:
        series_declared.update(part.declared)
        for k, info in part.declared.items():
            declared.setdefault(k, info)
    all_ts = np.concatenate([p.timestamps for p in parts]) if parts else np.empty(0, np.int64)
    seen = set().union(*(p.columns for p in parts))
    merged = {
        k: np.concatenate([p.columns.get(k, np.zeros(len(p.timestamps))) for p in parts])
        for k in seen
    }
    if len(all_ts) < 2 or bool(np.all(all_ts[1:] > all_ts[:-1])):
        observed_ts, columns = all_ts, merged  # the usual case
    else:  # a point seen twice counts once: keep the last copy
        reverse_unique, reverse_first = np.unique(all_ts[::-1], return_index=True)
        last = len(all_ts) - 1 - reverse_first
        log.debug("series %s: %d duplicate point(s) dropped", key.label, len(all_ts) - len(last))
        observed_ts = reverse_unique
        columns = {k: v[last] for k, v in merged.items()}

    types = query.model_types if key.model_type == "all" else (key.model_type,)
    keys = sort_metrics(set(metrics_for(types)) | seen | series_declared)
    grid = np.concatenate(grids) if grids else all_ts[:0]  # sorted: windows do not overlap
    at = np.searchsorted(grid, observed_ts)
    on_grid = len(grid) > 0 and bool(  # no grid at all: the range begins after as_of
        ((at < len(grid)) & (grid[np.minimum(at, len(grid) - 1)] == observed_ts)).all()
    )
    if not on_grid:  # points the service sent after as_of
        grid = np.union1d(grid, observed_ts)
    values = np.zeros((len(grid), len(keys)), dtype=np.float64)
    rows = np.searchsorted(grid, observed_ts)
    for j, k in enumerate(keys):
        if k in columns:
            values[rows, j] = columns[k]
            _warn_negative(columns[k], k, key)
    return _Series(key, grid, keys, values, grid + bucket)


def _uniform_columns(observed: list[dict[str, Any]]) -> dict[str, np.ndarray] | None:
    """Columns in one pass when every point has the same keys and only finite numbers.

    Returns None (use the checked path) for anything else: missing keys, text, null, NaN.
    """
    if not observed:
        return {}
    keys = list(observed[0])
    count = len(observed)
    if not keys or sum(map(len, observed)) != len(keys) * count:
        return None  # points differ in how many keys they carry
    columns = {}
    for k in keys:
        try:  # a C-level pass per key: every point must have it, as a number
            column = np.fromiter(map(operator.itemgetter(k), observed), np.float64, count)
        except (KeyError, TypeError, ValueError, OverflowError):
            return None
        if not np.isfinite(column).all():
            return None
        columns[k] = column
    return columns


def _declare(definition: Any, declared: dict[str, Metric], page: Page, key: SeriesKey) -> str:
    if not isinstance(definition, Mapping) or not isinstance(definition.get("key"), str):
        raise ResponseError(
            f"page {page.index + 1} of series {key.label} has a metric definition without a "
            f"key: {str(definition)[:80]!r}",
            request_id=page.request_id,
        )
    k = definition["key"]
    if k not in declared:
        unit = definition.get("unit")
        label = definition.get("label")
        declared[k] = metric_info(
            k,
            vendor_unit=unit if isinstance(unit, str) else None,
            vendor_label=label if isinstance(label, str) else None,
        )
    return k


def _read_points(page: Page, key: SeriesKey) -> tuple[np.ndarray, list[Any]]:
    points = page.points
    try:
        ts = [p["timestamp"] for p in points]
        vals = [p["values"] for p in points]
        arr = np.array(ts) if ts else np.empty(0, dtype=np.int64)
        if arr.dtype.kind != "i":  # floats, text, bools, or ints beyond 64 bits
            raise TypeError
        arr = arr.astype(np.int64, copy=False)
    except (KeyError, TypeError, ValueError, OverflowError):
        for i, p in enumerate(points):
            if not isinstance(p, Mapping) or "timestamp" not in p or "values" not in p:
                what = "is not an object with timestamp and values"
            elif isinstance(p["timestamp"], bool) or not isinstance(p["timestamp"], int):
                what = f"has timestamp {p['timestamp']!r}, not Unix seconds"
            elif not -(2**62) < p["timestamp"] < 2**62:
                what = f"has timestamp {p['timestamp']!r}, out of range"
            else:
                continue
            raise ResponseError(
                f"page {page.index + 1} of series {key.label}: point {i} {what}",
                request_id=page.request_id,
            ) from None
        raise  # pragma: no cover - every failure above is located
    return arr, vals


_BOOLEANS = ("true", "false")  # a metric key holding either word merely takes the checked path


def _decode_values(
    raw: list[Any], origins: list[tuple[Chain, Page, int]], key: SeriesKey
) -> tuple[list[dict[str, Any]], bool]:
    """Decode every point's ``values`` in as few decoder calls as possible.

    Returns the objects, and whether their JSON text holds only numbers as values (no
    ``true``/``false``, which a float array would take for 1 and 0 without a word).
    """
    out: list[Any] = raw
    text: str | None = None
    for _ in range(3):  # the usual case: all text, decoded level by level in one call each
        try:
            joined = "[" + ",".join(out) + "]"
        except TypeError:
            break  # some values are objects already
        decoded = None
        with contextlib.suppress(*_DecodeError):
            decoded = _loads(joined)
        if not isinstance(decoded, list) or len(decoded) != len(out):
            decoded = [_decode_one(v, i, origins, key) for i, v in enumerate(out)]
            joined = ""
        out, text = decoded, joined
        if not out or not isinstance(out[0], str):
            break
    if out and set(map(type, out)) != {dict}:
        out = _decode_mixed(out, origins, key)
        text = None
    numbers_only = text is not None and text != "" and not any(t in text for t in _BOOLEANS)
    return out, numbers_only


def _decode_mixed(
    values: list[Any], origins: list[tuple[Chain, Page, int]], key: SeriesKey
) -> list[dict[str, Any]]:
    out = list(values)
    for _ in range(3):  # an object, its text, or its text encoded again
        pending = [i for i, v in enumerate(out) if isinstance(v, str)]
        if not pending:
            break
        for i in pending:
            out[i] = _decode_one(out[i], i, origins, key)
    for i, v in enumerate(out):
        if not isinstance(v, dict):
            _raise_at(i, origins, key, f"values is {type(v).__name__}, not a JSON object")
    return out


def _decode_one(text: str, i: int, origins: list[tuple[Chain, Page, int]], key: SeriesKey) -> Any:
    try:
        return _loads(text)
    except _DecodeError:
        _raise_at(i, origins, key, f"values is not JSON: {text[:60]!r}")


def _raise_at(i: int, origins: list[tuple[Chain, Page, int]], key: SeriesKey, what: str) -> None:
    page, first = origins[0][1], 0
    for _, candidate, start in origins:
        if start > i:
            break
        page, first = candidate, start
    raise ResponseError(
        f"page {page.index + 1} of series {key.label}: point {i - first}: {what}",
        request_id=page.request_id,
    )


def _column(
    col: list[Any],
    name: str,
    key: SeriesKey,
    origins: list[tuple[Chain, Page, int]],
    positions: np.ndarray,
) -> np.ndarray:
    kinds = set(map(type, col))
    if kinds <= {int, float}:
        try:
            arr = np.array(col, dtype=np.float64)
        except OverflowError:
            arr = None
        if arr is not None and np.isfinite(arr).all():
            return arr
    arr = np.empty(len(col), dtype=np.float64)
    for i, v in enumerate(col):
        number: float | None
        if v is None:
            number = 0.0
        elif isinstance(v, bool):
            number = None
        elif isinstance(v, (int, float)):
            try:  # the same numbers as the one-pass path above: finite as a float
                number = float(v)
            except OverflowError:
                number = None
        elif isinstance(v, str):
            try:
                number = float(v)
            except ValueError:
                number = None
        else:
            number = None
        if number is None or not np.isfinite(number):
            _raise_at(int(positions[i]), origins, key, f"metric {name} is {v!r}, not a number")
        arr[i] = number
    return arr


def _warn_negative(arr: np.ndarray, name: str, key: SeriesKey) -> None:
    negative = int((arr < 0).sum())
    if negative:
        warn(
            f"series {key.label}: {negative} negative value(s) of {name}, kept as sent "
            "(credits or corrections).",
            UserWarning,
        )


# -- daily from hourly ------------------------------------------------------------------------


def _rebucket(query: TrendQuery, s: _Series) -> _Series:
    edges = _unix_seconds(local_midnights(query.start, query.end, query.tz))
    if not len(s.timestamps):
        return _Series(s.key, s.timestamps, s.keys, s.values, s.bucket_ends)
    day = np.searchsorted(edges, s.timestamps, side="right") - 1
    present = np.unique(day)
    values = np.empty((len(present), len(s.keys)), dtype=np.float64)
    for j, k in enumerate(s.keys):
        if METRICS.get(k, None) is not None and not METRICS[k].additive:
            values[:, j] = np.nan
        else:
            values[:, j] = np.bincount(day, weights=s.values[:, j], minlength=len(edges))[present]
    return _Series(s.key, edges[present], s.keys, values, edges[present + 1])


# -- the frame ------------------------------------------------------------------------------


def _assemble(
    query: TrendQuery,
    series: list[_Series],
    declared: dict[str, Metric],
    complete_before: float,
) -> pd.DataFrame:
    tz = query.tz
    unknown = sorted({k for s in series for k in s.keys if k not in METRICS})
    if unknown:
        warn(
            f"the service sent metric key(s) not in the catalogue: {', '.join(unknown)}; "
            "they are kept and treated as additive.",
            UserWarning,
        )
    metric_keys = sort_metrics(k for s in series for k in s.keys)
    if not series or not metric_keys:
        return empty_frame(tz)
    infos = [declared.get(k) if k not in METRICS else METRICS[k] for k in metric_keys]
    units = [(info or metric_info(k)).unit for k, info in zip(metric_keys, infos, strict=True)]
    unit_names = [u for u in UNITS if u in units] + sorted(set(units) - set(UNITS))
    metric_code = {k: i for i, k in enumerate(metric_keys)}
    unit_code = np.array([unit_names.index(u) for u in units], dtype=np.int8)
    type_names = list(dict.fromkeys(s.key.model_type for s in series))

    ts_parts, metric_parts, value_parts, complete_parts = [], [], [], []
    type_parts, client_parts = [], []
    for s in series:
        n, m = len(s.timestamps), len(s.keys)
        if n == 0:
            continue
        ts_parts.append(np.tile(s.timestamps, m))
        codes = np.array([metric_code[k] for k in s.keys], dtype=np.int16)
        metric_parts.append(np.repeat(codes, n))
        value_parts.append(s.values.ravel(order="F"))
        complete_parts.append(np.tile(s.bucket_ends <= complete_before, m))
        type_parts.append(np.full(n * m, type_names.index(s.key.model_type), dtype=np.int16))
        client = -1 if s.key.client_id is None else s.key.client_id
        client_parts.append(np.full(n * m, client, dtype=np.int64))
    if not ts_parts:
        frame = empty_frame(tz)
        frame["model_type"] = pd.Categorical([], categories=type_names)
        frame["metric"] = pd.Categorical([], categories=list(metric_keys))
        frame["unit"] = pd.Categorical([], categories=unit_names)
        return frame

    seconds = np.concatenate(ts_parts)
    metric_codes = np.concatenate(metric_parts)
    clients = np.concatenate(client_parts)
    timestamp = pd.DatetimeIndex(seconds.astype("datetime64[s]").astype("datetime64[ns]"))
    return pd.DataFrame(
        {
            "timestamp": timestamp.tz_localize("UTC").tz_convert(tz),
            "model_type": pd.Categorical.from_codes(
                np.concatenate(type_parts), categories=type_names
            ),
            "client_id": pd.arrays.IntegerArray(clients, clients < 0),
            "metric": pd.Categorical.from_codes(metric_codes, categories=list(metric_keys)),
            "value": np.concatenate(value_parts),
            "unit": pd.Categorical.from_codes(unit_code[metric_codes], categories=unit_names),
            "complete": np.concatenate(complete_parts),
        }
    )


def wide(df: pd.DataFrame) -> pd.DataFrame:
    """Pivot a tidy frame to one column per metric.

    The result has ``timestamp``, ``model_type``, ``client_id`` and ``complete`` columns, then
    one float column per metric in catalogue order.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-11-18", "2026-11-21", granularity="daily",
        ...                                   model_types=["TTS"])
        >>> w = wide(df)
        >>> list(w.columns[4:])
        ['total_amount', 'total_calls', 'model_count', 'characters']
        >>> w[["timestamp", "total_amount", "total_calls", "complete"]]
                          timestamp  total_amount  total_calls  complete
        0 2026-11-18 00:00:00+08:00      180.6598       5035.0      True
        1 2026-11-19 00:00:00+08:00      175.4750       4890.0      True
        2 2026-11-20 00:00:00+08:00       88.8807       2339.0     False
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise QueryError(
            f"wide() needs a tidy frame; the columns {', '.join(missing)} are missing."
        )
    index = ["timestamp", "model_type", "client_id"]
    keyed = df.assign(
        model_type=df["model_type"].astype("object"),
        client_id=df["client_id"].astype("object"),
        metric=df["metric"].astype("object"),
    )
    if keyed.duplicated([*index, "metric"]).any():
        raise QueryError(
            "the frame has several rows for one (timestamp, model_type, client_id, metric); "
            "aggregate it first."
        )
    client_na = keyed["client_id"].isna()
    keyed["client_id"] = keyed["client_id"].where(~client_na, -1)
    values = keyed.set_index([*index, "metric"])["value"].unstack("metric")
    complete = keyed.groupby(index, sort=False)["complete"].all()
    values = values[list(sort_metrics(values.columns))]
    values.columns = pd.Index(list(values.columns), name=None)
    out = values.join(complete).reset_index()
    out["model_type"] = pd.Categorical(out["model_type"], categories=_categories(df["model_type"]))
    out = out.sort_values(["model_type", "client_id", "timestamp"], kind="stable")
    out = out.reset_index(drop=True)
    ids = out["client_id"].to_numpy(dtype=np.int64)
    out["client_id"] = pd.arrays.IntegerArray(ids, ids < 0)
    ordered = ["timestamp", "model_type", "client_id", "complete"]
    out = out[ordered + [c for c in out.columns if c not in ordered]]
    out.attrs = dict(df.attrs)
    return out


def to_daily(df: pd.DataFrame) -> pd.DataFrame:
    """Sum a tidy frame's buckets into local days of its time zone (23 or 25 hours on DST days).

    A day is complete when all its buckets are; ``model_count`` (a distinct count) is NaN.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> hours = CostTrendClient.demo().fetch("2026-11-18", "2026-11-21", model_types=["TTS"])
        >>> days = to_daily(hours)
        >>> days[days["metric"] == "total_amount"][["timestamp", "value", "complete"]]
                          timestamp     value  complete
        0 2026-11-18 00:00:00+08:00  180.6598      True
        1 2026-11-19 00:00:00+08:00  175.4750      True
        2 2026-11-20 00:00:00+08:00   88.8807     False
        >>> bool(days.loc[days["metric"] == "model_count", "value"].isna().all())
        True
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise QueryError(f"to_daily() needs a tidy frame; {', '.join(missing)} missing.")
    tz = df["timestamp"].dt.tz
    day = df["timestamp"].dt.tz_localize(None).dt.normalize()
    day = day.dt.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    keys = ["timestamp", "model_type", "client_id", "metric", "unit"]
    grouped = df.assign(timestamp=day).groupby(keys, observed=True, dropna=False, sort=False)
    out = grouped.agg(value=("value", "sum"), complete=("complete", "all")).reset_index()
    additive = out["metric"].astype(str).map(lambda k: metric_info(k).additive)
    out["value"] = out["value"].where(additive.to_numpy(dtype=bool))
    out = out.sort_values(["model_type", "client_id", "metric", "timestamp"], kind="stable")
    out = out[list(COLUMNS)].reset_index(drop=True)
    out["timestamp"] = out["timestamp"].astype(df["timestamp"].dtype)
    out.attrs = dict(df.attrs)
    return out


def _categories(col: pd.Series) -> list[Any]:
    if isinstance(col.dtype, pd.CategoricalDtype):
        return list(col.cat.categories)
    return list(dict.fromkeys(col.dropna()))


def metric_units(keys: Iterable[str]) -> dict[str, str]:
    """Each key's unit from the catalogue (unknown keys: ``"unknown"``)."""
    return {k: metric_info(k).unit for k in keys}


__all__ += ["DAY", "SERVICE_UTC_OFFSET", "metric_units"]
