"""An on-disk store of settled buckets, so that a re-run fetches only what may still change.

The client keeps one file per series (its model types, departments, members, API key and
granularity) for each endpoint, account and package version. A file holds the points the
service sent over one span of buckets that were all *settled* when they were fetched (they
ended at least the query's ``settle`` before both the service's clock and this machine's: a
service clock running ahead cannot make a still-changing bucket look settled), with the metric
definitions that came with them. Buckets in that span the service left out were idle, as in
the frame.

Where the files live, how their folders are made and marked and how they are read and written
without following a link or touching anything the cache did not write is
:mod:`costtrend_nb.cachefiles`; this module decides what a file holds and when it is trusted.
A file that cannot be read, holds another key (a foreign or copied file) or fails any
check is ignored and replaced by the next fetch: the cache is never trusted over the service,
and never a crash. A folder or file that cannot be written costs a warning, not the frame.

The account is a hash of the access key id; the secret never reaches the cache. The demo
never uses it (see :class:`~costtrend_nb.CostTrendClient`).

Example:
    >>> import tempfile
    >>> store = Cache(tempfile.mkdtemp(), endpoint="https://aicontent.aliyuncs.com",
    ...               account="0123456789abcdef")
    >>> store.info()["files"]
    0
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._version import __version__
from .cachefiles import (
    CACHE_ENV,
    FORMAT,
    MARKER,
    VERSION_PATTERN,
    Folder,
    ForeignFolder,
    cache_info,
    clear_cache,
    default_cache_dir,
    version_folder,
    write_atomically,
)
from .cachefiles import write_marker as _write_marker  # looked up here: a test makes it fail
from .catalogue import Metric, metric_info
from .errors import QueryError
from .query import SeriesKey, TrendQuery, WindowRequest
from .tidy import ParsedChain

__all__ = ["CACHE_ENV", "MARKER", "Cache", "CacheUse", "default_cache_dir"]

log = logging.getLogger("costtrend_nb")

_PER_REQUEST = ("startTime", "endTime", "nextToken", "maxResults")  # not part of a series
_BUCKETS = {"hourly": 3600, "daily": 86400}


@dataclass
class _Entry:
    """What one file holds: settled points of one series over ``[start, end)``."""

    key: dict[str, Any]
    start: int
    end: int
    as_of: float  # the clock (service's or local, the earlier) when the points were read
    timestamps: np.ndarray  # int64 bucket starts, sorted, unique, inside [start, end)
    columns: dict[str, np.ndarray]  # float64, one value per timestamp
    declared: dict[str, tuple[str, str]]  # metric key -> the vendor's (unit, label)


@dataclass
class CacheUse:
    """What the cache did for one fetch: series it served, buckets it saved asking for, and
    the files it read (so that storing the fetch afterwards does not read them again)."""

    series: int = 0
    buckets: int = 0
    found: dict[SeriesKey, _Entry | None] = field(default_factory=dict, repr=False)


class Cache:
    """Settled buckets of one endpoint and account, on disk.

    Args:
        root: the cache directory (created 0700 when first written).
        endpoint: the service's URL; another endpoint never shares files.
        account: a hash of the access key id (:attr:`Credentials.account_hash`).
        version: the package version; a new version starts afresh.
        clock: this machine's wall clock (Unix seconds); a bucket is stored as settled only
            if it ended ``settle`` before both it and the service's clock.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        endpoint: str,
        account: str,
        version: str = __version__,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(root, (str, os.PathLike)) or not str(root):
            raise QueryError(f"cache_dir must be a directory path, not {root!r}.")
        if not isinstance(version, str) or not VERSION_PATTERN.fullmatch(version):
            raise QueryError(
                f"The cache version must be letters, digits and '.+_-', not {version!r}."
            )
        self.root = Path(root).expanduser()
        self.endpoint = endpoint
        self.account = account
        self.version = version
        self.clock = clock
        self._warned_folder = False

    def __repr__(self) -> str:
        root, endpoint = getattr(self, "root", None), getattr(self, "endpoint", None)
        return f"Cache({str(root) if root is not None else None!r}, endpoint={endpoint!r})"

    @property
    def directory(self) -> Path:
        """This version's files."""
        return self.root / f"v{self.version}"

    # -- a fetch's two moments -------------------------------------------------------------

    def split(
        self, query: TrendQuery, plan: Sequence[WindowRequest]
    ) -> tuple[list[WindowRequest], list[ParsedChain], CacheUse]:
        """Serve what the cache holds: the windows still to fetch, and the stored chains.

        A stored bucket is served only if it had ended at least the query's ``settle`` before
        the clock of the fetch that stored it.
        """
        bucket, settle = query.bucket_seconds, int(query.settle.total_seconds())
        remaining: list[WindowRequest] = []
        stored: list[ParsedChain] = []
        use = CacheUse()
        for series, windows in _by_series(plan).items():
            entry = use.found[series] = self._load(self.key(windows[0]))
            if entry is None:
                remaining.extend(windows)
                continue
            trusted_end = _grid_floor(entry.start, entry.as_of - settle, bucket)
            a = max(entry.start, windows[0].start)
            b = min(entry.end, trusted_end, windows[-1].end)
            if a >= b:
                remaining.extend(windows)
                continue
            for w in windows:
                remaining.extend(_minus(w, a, b))
            inside = (entry.timestamps >= a) & (entry.timestamps < b)
            stored.append(
                ParsedChain(
                    request=_window(windows[0], a, b),
                    timestamps=entry.timestamps[inside],
                    columns={k: v[inside] for k, v in entry.columns.items()},
                    declared=_metrics(entry.declared),
                )
            )
            use.series += 1
            use.buckets += (b - a) // bucket
        return remaining, stored, use

    def update(
        self,
        query: TrendQuery,
        plan: Sequence[WindowRequest],
        fetched: Iterable[ParsedChain],
        *,
        as_of: float,
        skip: Iterable[SeriesKey] = (),
        use: CacheUse | None = None,
    ) -> int:
        """Store the settled buckets of the chains just fetched, merged with what was stored.

        Args:
            query: the query fetched.
            plan: every window that was asked for (those served from the cache excluded).
            fetched: the chains that arrived complete.
            as_of: the service's clock when they were read (Unix seconds); a clock ahead of
                this machine's counts only as far as this machine's.
            skip: series that failed, left as they were.
            use: what :meth:`split` found for this fetch (files not read again).

        Returns:
            How many files were written.
        """
        as_of = self._settled_clock(as_of)
        bucket, settle = query.bucket_seconds, int(query.settle.total_seconds())
        skipped = set(skip)
        chains: dict[SeriesKey, list[ParsedChain]] = {}
        for chain in fetched:
            chains.setdefault(chain.request.series, []).append(chain)
        written = 0
        for series, windows in _by_series(plan).items():
            if series in skipped or series not in chains:
                continue
            key = self.key(windows[0])
            old = use.found[series] if use and series in use.found else self._load(key)
            spans = [(c.request.start, c.request.end) for c in chains[series]]
            if old is not None:
                spans.append((old.start, old.end))
            lo, hi = _span_around(spans, windows[0].start)
            trusted = _grid_floor(lo, as_of - settle, bucket)
            if old is not None and lo <= old.start < old.end <= hi:
                trusted = max(trusted, old.end)  # settled before; now fetched afresh or kept
            hi = min(hi, trusted)
            if hi <= lo:
                continue
            parts = ([old] if old is not None else []) + chains[series]  # later copies win
            entry = _merge(key, parts, lo, hi, as_of)
            if old is not None and _same_points(old, entry):
                continue  # nothing new: the file stays as it was
            written += self._save(entry)
        return written

    def _settled_clock(self, as_of: float) -> float:
        """The clock that decides what is settled: the service's, but never past this
        machine's (a service clock ahead would store buckets that are still changing)."""
        local = float(self.clock())
        if not math.isfinite(as_of):
            return local
        if as_of > local + 60:
            log.debug(
                "the service's clock is %.0f s ahead of this machine's; the cache counts "
                "buckets as settled by this machine's clock",
                as_of - local,
            )
        return min(float(as_of), local)

    # -- files -----------------------------------------------------------------------------

    def key(self, window: WindowRequest) -> dict[str, Any]:
        """The identity of a window's series: endpoint, account, version and parameters."""
        params = {k: v for k, v in window.params.items() if k not in _PER_REQUEST}
        return {
            "format": FORMAT,
            "endpoint": self.endpoint,
            "account": self.account,
            "version": self.version,
            "params": dict(sorted(params.items())),
        }

    def path(self, key: Mapping[str, Any]) -> Path:
        """Where the file of a series key lives."""
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
        return self.directory / f"{digest}.npz"

    def _load(self, key: dict[str, Any]) -> _Entry | None:
        path = self.path(key)
        try:
            folder = self._folder(create=False)
            if folder is None:
                return None
            with folder:
                try:
                    file = folder.open_regular(path.name)
                except FileNotFoundError:
                    return None
                with file:
                    entry = _read(file)
            if entry.key != key:
                raise ValueError("the file belongs to another series, account or endpoint")
            _check(entry, now=self.clock())
        except ForeignFolder as err:
            self._warn_foreign(err)
            return None
        except Exception as err:
            log.warning("cache file %s ignored (%s); it will be replaced", path.name, err)
            return None
        return entry

    def _save(self, entry: _Entry) -> bool:
        """Write one file atomically; a failure is a warning (the frame does not depend on it)."""
        path = self.path(entry.key)
        meta = {
            "key": entry.key,
            "start": entry.start,
            "end": entry.end,
            "as_of": entry.as_of,
            "metrics": list(entry.columns),
            "declared": entry.declared,
        }
        values = (
            np.column_stack(list(entry.columns.values()))
            if entry.columns
            else np.zeros((len(entry.timestamps), 0))
        )

        def write(f: IO[bytes]) -> None:
            np.savez(
                f,
                meta=np.array(json.dumps(meta, ensure_ascii=False)),
                timestamps=entry.timestamps.astype(np.int64),
                values=values,
            )

        try:
            folder = self._folder(create=True)
            if folder is None:  # pragma: no cover  # create=True makes it or raises
                raise FileNotFoundError(self.directory)
            with folder:
                write_atomically(folder, path.name, write)
        except ForeignFolder as err:
            self._warn_foreign(err)
            return False
        except OSError as err:  # a full disk or a read-only home must not cost the frame
            log.warning(
                "could not write the cache file %s: %s. The frame is complete; only the "
                "cache missed it. Check the free space and permissions of %s.",
                path,
                err,
                self.root,
            )
            return False
        return True

    def _folder(self, *, create: bool) -> Folder | None:
        """This version's folder, held open; made (0700, with its marker) if ``create``."""
        return version_folder(self.root, self.version, create=create, mark=_write_marker)

    def _warn_foreign(self, err: ForeignFolder) -> None:
        """Say once per store that the version folder is not ours and is left alone."""
        if self._warned_folder:
            return
        self._warned_folder = True
        log.warning(
            "the cache is off: %s, so costtrend_nb did not make it and leaves it alone. Move "
            "it away (or delete it if it is an old costtrend_nb cache), or choose another "
            "cache_dir.",
            err,
        )

    # -- costtrend-nb cache info|clear -----------------------------------------------------

    def info(self) -> dict[str, Any]:
        """The cache directory, its files and bytes, in all and for this version.

        Example:
            >>> Cache("/nonexistent", endpoint="x", account="y").info()["bytes"]
            0
        """
        return cache_info(self.root, self.version)

    def clear(self) -> int:
        """Delete the cache's own files (all versions); returns how many were removed."""
        return clear_cache(self.root)


# -- helpers ---------------------------------------------------------------------------------


def _by_series(plan: Sequence[WindowRequest]) -> dict[SeriesKey, list[WindowRequest]]:
    out: dict[SeriesKey, list[WindowRequest]] = {}
    for window in plan:
        out.setdefault(window.series, []).append(window)
    for windows in out.values():
        windows.sort(key=lambda w: w.start)
    return out


def _grid_floor(origin: int, t: float, bucket: int) -> int:
    """The last bucket edge at or before ``t`` on the grid through ``origin``."""
    return origin + int((t - origin) // bucket) * bucket


def _window(template: WindowRequest, start: int, end: int) -> WindowRequest:
    params = dict(template.params, startTime=str(start), endTime=str(end))
    return replace(template, start=start, end=end, params=params)


def _minus(w: WindowRequest, a: int, b: int) -> list[WindowRequest]:
    """The parts of window ``w`` outside ``[a, b)``."""
    pieces = [(w.start, min(w.end, a)), (max(w.start, b), w.end)]
    return [_window(w, s, e) for s, e in pieces if s < e]


def _span_around(spans: list[tuple[int, int]], anchor: int) -> tuple[int, int]:
    """Of the unions of touching spans, the one holding ``anchor`` (else the longest)."""
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    for s, e in merged:
        if s <= anchor < e:
            return s, e
    s, e = max(merged, key=lambda m: m[1] - m[0])
    return s, e


def _merge(
    key: dict[str, Any], parts: Sequence[_Entry | ParsedChain], lo: int, hi: int, as_of: float
) -> _Entry:
    stamps = np.concatenate([p.timestamps for p in parts]).astype(np.int64)
    names = list(dict.fromkeys(k for p in parts for k in p.columns))
    columns = {
        k: np.concatenate([p.columns.get(k, np.zeros(len(p.timestamps))) for p in parts])
        for k in names
    }
    # the last copy of a timestamp wins (the freshest fetch), as in the frame
    reverse_unique, reverse_first = np.unique(stamps[::-1], return_index=True)
    last = len(stamps) - 1 - reverse_first
    keep = (reverse_unique >= lo) & (reverse_unique < hi)
    declared: dict[str, tuple[str, str]] = {}
    for p in parts:
        if isinstance(p, _Entry):
            declared.update(p.declared)
        else:
            declared.update({k: (m.unit_zh, m.label_zh) for k, m in p.declared.items()})
    return _Entry(
        key=key,
        start=lo,
        end=hi,
        as_of=float(as_of),
        timestamps=reverse_unique[keep],
        columns={k: v[last][keep].astype(np.float64) for k, v in columns.items()},
        declared=declared,
    )


def _same_points(a: _Entry, b: _Entry) -> bool:
    """True when two entries hold the same span, buckets and values (their clocks aside): a
    span that did not grow may still hold fresher values, re-fetched under a longer settle."""
    return (
        (a.start, a.end) == (b.start, b.end)
        and np.array_equal(a.timestamps, b.timestamps)
        and a.columns.keys() == b.columns.keys()
        and all(np.array_equal(a.columns[k], b.columns[k]) for k in a.columns)
        and a.declared == b.declared
    )


def _metrics(declared: Mapping[str, tuple[str, str]]) -> dict[str, Metric]:
    return {
        k: metric_info(k, vendor_unit=unit or None, vendor_label=label or None)
        for k, (unit, label) in declared.items()
    }


def _read(file: IO[bytes]) -> _Entry:
    try:
        with np.load(file, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"][()]))
            timestamps = np.asarray(data["timestamps"])
            values = np.asarray(data["values"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"unreadable: {type(err).__name__}") from None
    if not isinstance(meta, dict):
        raise ValueError("no metadata")
    metrics = meta.get("metrics")
    declared = meta.get("declared")
    if not isinstance(metrics, list) or not all(isinstance(k, str) for k in metrics):
        raise ValueError("bad metric list")
    if not isinstance(declared, dict):
        raise ValueError("bad metric definitions")
    if values.ndim != 2 or values.shape != (len(timestamps), len(metrics)):
        raise ValueError("arrays of different lengths")
    return _Entry(
        key=meta.get("key"),  # type: ignore[arg-type]  # checked by the caller
        start=meta.get("start"),  # type: ignore[arg-type]
        end=meta.get("end"),  # type: ignore[arg-type]
        as_of=meta.get("as_of"),  # type: ignore[arg-type]
        timestamps=timestamps,
        columns={k: values[:, j] for j, k in enumerate(metrics)},
        declared={
            str(k): (str(v[0]), str(v[1]))
            for k, v in declared.items()
            if isinstance(v, list) and len(v) == 2
        },
    )


def _check(entry: _Entry, *, now: float) -> None:
    """Everything a file promises, checked before one value of it is used; ``now`` is this
    machine's clock, which no file may claim to have been read after."""
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (entry.start, entry.end)):
        raise ValueError("bad span")
    if not isinstance(entry.as_of, (int, float)) or not np.isfinite(entry.as_of):
        raise ValueError("bad as-of time")
    if entry.as_of > now:
        raise ValueError("read after this machine's clock: a clock ahead stored it")
    if not entry.start < entry.end <= entry.as_of:
        raise ValueError("span not settled")
    bucket = _BUCKETS.get(str(entry.key.get("params", {}).get("granularity")))
    if bucket is None or (entry.end - entry.start) % bucket:
        raise ValueError("span off the bucket grid")
    ts = entry.timestamps
    if ts.dtype != np.int64 or ts.ndim != 1 or np.any((ts - entry.start) % bucket):
        raise ValueError("bad timestamps")
    if len(ts) and (ts[0] < entry.start or ts[-1] >= entry.end or np.any(np.diff(ts) <= 0)):
        raise ValueError("timestamps out of order or outside the span")
    for k, column in entry.columns.items():
        if column.dtype != np.float64 or not np.isfinite(column).all():
            raise ValueError(f"bad values of {k}")
