"""An on-disk store of settled buckets, so that a re-run fetches only what may still change.

The client keeps one file per series (its model types, departments, members, API key and
granularity) for each endpoint, account and package version. A file holds the points the
service sent over one span of buckets that were all *settled* when they were fetched (they
ended at least the query's ``settle`` before the service's clock), with the metric definitions
that came with them. Buckets in that span the service left out were idle, as in the frame.

Layout: ``<cache_dir>/v<package version>/<sha256 of the series key>.npz``. A file is written
to a temporary name and renamed into place, so a reader never sees half of one. A file that
cannot be read, holds another key (a foreign or copied file) or fails any check is ignored and
replaced by the next fetch: the cache is never trusted over the service, and never a crash.

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
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .catalogue import Metric, metric_info
from .errors import QueryError
from .query import SeriesKey, TrendQuery, WindowRequest
from .tidy import ParsedChain

__all__ = ["CACHE_ENV", "Cache", "CacheUse", "default_cache_dir"]

log = logging.getLogger("costtrend_nb")

#: An environment variable that moves the default cache directory.
CACHE_ENV = "COSTTREND_NB_CACHE_DIR"
FORMAT = 1  # bump when the file layout changes
_PER_REQUEST = ("startTime", "endTime", "nextToken", "maxResults")  # not part of a series
_BUCKETS = {"hourly": 3600, "daily": 86400}


def default_cache_dir() -> Path:
    """Where the cache lives unless told: ``$COSTTREND_NB_CACHE_DIR``, else the user's cache
    directory (``$XDG_CACHE_HOME`` or ``~/.cache``, ``%LOCALAPPDATA%`` on Windows).

    Example:
        >>> default_cache_dir().name
        'costtrend_nb'
    """
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser() / "costtrend_nb"
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "costtrend_nb"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "costtrend_nb"


@dataclass
class _Entry:
    """What one file holds: settled points of one series over ``[start, end)``."""

    key: dict[str, Any]
    start: int
    end: int
    as_of: float  # the service's clock when the points were read, Unix seconds
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
        root: the cache directory (created when first written).
        endpoint: the service's URL; another endpoint never shares files.
        account: a hash of the access key id (:attr:`Credentials.account_hash`).
        version: the package version; a new version starts afresh.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        endpoint: str,
        account: str,
        version: str = __version__,
    ) -> None:
        if not isinstance(root, (str, os.PathLike)) or not str(root):
            raise QueryError(f"cache_dir must be a directory path, not {root!r}.")
        self.root = Path(root).expanduser()
        self.endpoint = endpoint
        self.account = account
        self.version = version

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r}, endpoint={self.endpoint!r})"

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
            as_of: the service's clock when they were read (Unix seconds).
            skip: series that failed, left as they were.
            use: what :meth:`split` found for this fetch (files not read again).

        Returns:
            How many files were written.
        """
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
            if hi <= lo or (old is not None and (old.start, old.end) == (lo, hi)):
                continue
            parts = ([old] if old is not None else []) + chains[series]  # later copies win
            entry = _merge(key, parts, lo, hi, as_of)
            self._save(entry)
            written += 1
        return written

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
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
        return self.directory / f"{digest}.npz"

    def _load(self, key: dict[str, Any]) -> _Entry | None:
        path = self.path(key)
        if not path.exists():
            return None
        try:
            entry = _read(path)
            if entry.key != key:
                raise ValueError("the file belongs to another series, account or endpoint")
            _check(entry)
        except Exception as err:
            log.warning("cache file %s ignored (%s); it will be replaced", path.name, err)
            return None
        return entry

    def _save(self, entry: _Entry) -> None:
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
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
            try:
                with os.fdopen(fd, "wb") as f:
                    np.savez(
                        f,
                        meta=np.array(json.dumps(meta, ensure_ascii=False)),
                        timestamps=entry.timestamps.astype(np.int64),
                        values=values,
                    )
                os.replace(temp, path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as err:  # a full disk or a read-only home must not cost the frame
            log.warning("could not write the cache file %s: %s", path, err)

    # -- costtrend-nb cache info|clear -----------------------------------------------------

    def info(self) -> dict[str, Any]:
        """The cache directory, its files and bytes, in all and for this version.

        Example:
            >>> Cache("/nonexistent", endpoint="x", account="y").info()["bytes"]
            0
        """
        return cache_info(self.root, self.version)

    def clear(self) -> int:
        """Delete every cached file (all versions); returns how many were removed."""
        return clear_cache(self.root)


def cache_info(root: str | os.PathLike[str], version: str = __version__) -> dict[str, Any]:
    """Files and bytes under a cache directory, per package version.

    Example:
        >>> cache_info("/nonexistent")["files"]
        0
    """
    root = Path(root).expanduser()
    versions: dict[str, dict[str, int]] = {}
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("v")):
            files = [p for p in folder.glob("*.npz") if not p.name.startswith(".tmp-")]
            versions[folder.name[1:]] = {
                "files": len(files),
                "bytes": sum(p.stat().st_size for p in files),
            }
    return {
        "path": str(root),
        "version": version,
        "files": sum(v["files"] for v in versions.values()),
        "bytes": sum(v["bytes"] for v in versions.values()),
        "versions": versions,
    }


def clear_cache(root: str | os.PathLike[str]) -> int:
    """Delete the cached files under ``root`` (its version folders); returns how many."""
    root = Path(root).expanduser()
    removed = 0
    if root.is_dir():
        for folder in [p for p in root.iterdir() if p.is_dir() and p.name.startswith("v")]:
            removed += sum(1 for p in folder.glob("*.npz") if not p.name.startswith(".tmp-"))
            shutil.rmtree(folder)
    return removed


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


def _metrics(declared: Mapping[str, tuple[str, str]]) -> dict[str, Metric]:
    return {
        k: metric_info(k, vendor_unit=unit or None, vendor_label=label or None)
        for k, (unit, label) in declared.items()
    }


def _read(path: Path) -> _Entry:
    try:
        with np.load(path, allow_pickle=False) as data:
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


def _check(entry: _Entry) -> None:
    """Everything a file promises, checked before one value of it is used."""
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (entry.start, entry.end)):
        raise ValueError("bad span")
    if not isinstance(entry.as_of, (int, float)) or not np.isfinite(entry.as_of):
        raise ValueError("bad as-of time")
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
