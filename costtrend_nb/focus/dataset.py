"""A FOCUS dataset folder: hive-partitioned by billing month, updated partition by partition.

Layout::

    DIR/_manifest.json                      provenance, identity, one entry per partition
    DIR/billing_period=2026-11/part-0.parquet   (or part-0.csv with format="csv")

Each billing month is one partition, written by :func:`write_period` from that month's FOCUS
rows. Rows of the partition outside the period's window are kept, so a run over a later range
adds its months and completes the month it starts in. A partition whose content (a hash of its
rows, kept in the manifest) did not change is not rewritten. A partition is written to a
temporary file in its own folder and renamed over the old one (``os.replace``), then the manifest
is replaced the same way (with the file's SHA-256): a crash leaves every partition either old or
new, never cut, and a partition the manifest does not yet describe is rewritten by the next run.

Example:
    >>> import tempfile
    >>> from costtrend_nb import CostTrendClient
    >>> from costtrend_nb.focus import to_focus
    >>> df = CostTrendClient.demo().fetch("2026-11-18", "2026-11-19", model_types=["TTS"])
    >>> tmp = tempfile.TemporaryDirectory()
    >>> manifest = open_dataset(tmp.name, identity={"granularity": "hourly"}, fmt="csv")
    >>> (label, lo, hi), = billing_periods(df["timestamp"].min(), df["timestamp"].max())
    >>> write_period(tmp.name, manifest, label, to_focus(df), window=(lo, hi))
    True
    >>> write_period(tmp.name, manifest, label, to_focus(df), window=(lo, hi))  # unchanged
    False
    >>> sorted(p.relative_to(tmp.name).as_posix() for p in Path(tmp.name).rglob("*"))
    ['_manifest.json', 'billing_period=2026-11', 'billing_period=2026-11/part-0.csv']
    >>> tmp.cleanup()
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import QueryError
from .columns import COLUMN_TYPES, EXTRA_COLUMNS, FOCUS_VERSION
from .rows import BILLING_TZ, billing_month_start

__all__ = [
    "FILE_FORMATS",
    "MANIFEST",
    "PARTITION_KEY",
    "billing_periods",
    "content_hash",
    "open_dataset",
    "partition_path",
    "read_partition",
    "write_manifest",
    "write_period",
]

MANIFEST = "_manifest.json"
PARTITION_KEY = "billing_period"
FILE_FORMATS = ("parquet", "csv")
_KIND = "costtrend_nb FOCUS export"
_ORDER = ["ChargePeriodStart", "x_ModelType", "x_ClientId"]
_TYPES = {**COLUMN_TYPES, **EXTRA_COLUMNS}


# -- periods ----------------------------------------------------------------------------------


def billing_periods(start: Any, end: Any) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """The billing months (Asia/Shanghai) that ``[start, end)`` touches, each clipped to it.

    Returns:
        ``(label, window start, window end)`` per month, ``label`` as ``YYYY-MM``, times in UTC.

    Example:
        >>> for label, lo, hi in billing_periods("2026-10-30T16:00Z", "2026-11-02T16:00Z"):
        ...     print(label, lo.isoformat(), hi.isoformat())
        2026-10 2026-10-30T16:00:00+00:00 2026-10-31T16:00:00+00:00
        2026-11 2026-10-31T16:00:00+00:00 2026-11-02T16:00:00+00:00
    """
    lo, hi = (pd.Timestamp(t) for t in (start, end))
    lo = lo.tz_localize(BILLING_TZ) if lo.tzinfo is None else lo
    hi = hi.tz_localize(BILLING_TZ) if hi.tzinfo is None else hi
    lo, hi = lo.tz_convert("UTC"), hi.tz_convert("UTC")
    out = []
    month = billing_month_start(pd.DatetimeIndex([lo]))[0]
    while month < hi:
        local = month.tz_convert(BILLING_TZ)
        following = (local.tz_localize(None) + pd.offsets.MonthBegin(1)).tz_localize(BILLING_TZ)
        following = following.tz_convert("UTC")
        out.append((local.strftime("%Y-%m"), max(month, lo), min(following, hi)))
        month = following
    return out


def partition_path(folder: str | os.PathLike[str], label: str, fmt: str) -> Path:
    """Where one billing month's rows live.

    Example:
        >>> partition_path("out", "2026-11", "parquet").as_posix()
        'out/billing_period=2026-11/part-0.parquet'
    """
    return Path(folder) / f"{PARTITION_KEY}={label}" / f"part-0.{fmt}"


# -- the manifest -------------------------------------------------------------------------------


def open_dataset(
    folder: str | os.PathLike[str], *, identity: Mapping[str, Any], fmt: str = "parquet"
) -> dict[str, Any]:
    """Check that ``folder`` can hold this export, before any request; returns its manifest.

    A missing or empty folder starts a new dataset; a folder holding an export with the same
    ``identity`` (its filters, granularity, split) and file format is updated.

    Raises:
        QueryError: the path is a file, the folder holds other files, or an export of another
            query or format; or the folder cannot be written.

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> open_dataset(tmp.name, identity={"by": ["model_type"]})["partitions"]
        {}
        >>> tmp.cleanup()
    """
    if fmt not in FILE_FORMATS:
        raise QueryError(f"the dataset's format must be parquet or csv, not {fmt!r}.")
    root = Path(folder)
    blocker = next((p for p in (root, *root.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise QueryError(
            f"-o {root} must be a folder for the dataset, but {blocker} is a file; choose "
            "another -o."
        )
    wanted = {"kind": _KIND, "focus_version": FOCUS_VERSION, "format": fmt, **identity}
    manifest_file = root / MANIFEST
    if manifest_file.exists():
        manifest = _read_manifest(manifest_file)
        _check_identity(root, manifest.get("identity") or {}, wanted)
    elif root.exists() and any(root.iterdir()):
        raise QueryError(
            f"-o {root} holds files but no {MANIFEST}: it is not a FOCUS export folder; name a "
            "new or empty folder."
        )
    else:
        manifest = {"identity": wanted, "partitions": {}}
    _probe(root)
    return manifest


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise QueryError(
            f"{path} cannot be read ({err}); move the folder away or name another -o."
        ) from None
    if not isinstance(manifest, dict) or (manifest.get("identity") or {}).get("kind") != _KIND:
        raise QueryError(f"{path} is not the manifest of a FOCUS export; name another -o.")
    manifest.setdefault("partitions", {})
    return manifest


def _check_identity(root: Path, found: Mapping[str, Any], wanted: Mapping[str, Any]) -> None:
    differ = [k for k in sorted(set(found) | set(wanted)) if found.get(k) != wanted.get(k)]
    if differ:
        shown = "; ".join(
            f"{k}: {json.dumps(found.get(k))} there, {json.dumps(wanted.get(k))} now"
            for k in differ
        )
        raise QueryError(
            f"-o {root} holds an export of another query ({shown}); rows of two queries would "
            "mix. Name a new folder, or repeat that export's options."
        )


def _probe(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=root, prefix=".costtrend-nb-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise QueryError(
            f"cannot write {root}: {err.strerror or type(err).__name__}; choose an -o you can "
            "write to."
        ) from None


# -- one period ---------------------------------------------------------------------------------


def write_period(
    folder: str | os.PathLike[str],
    manifest: dict[str, Any],
    label: str,
    rows: pd.DataFrame,
    *,
    window: tuple[pd.Timestamp, pd.Timestamp],
    provenance: Mapping[str, Any] | None = None,
) -> bool:
    """Put one billing month's rows for ``window`` into the dataset; True if its file changed.

    Rows of the partition outside ``window`` stay; rows inside it are replaced by ``rows``
    (only their charge periods inside the window count). ``manifest`` is updated in place and
    written after the partition.
    """
    root = Path(folder)
    fmt = manifest["identity"]["format"]
    target = partition_path(root, label, fmt)
    lo, hi = (pd.Timestamp(t).tz_convert("UTC") for t in window)
    starts = rows["ChargePeriodStart"]
    rows = rows[(starts >= lo) & (starts < hi)]
    old = read_partition(target, fmt) if target.exists() else None
    if old is not None and _covers_part(lo, hi, label):
        kept = old[(old["ChargePeriodStart"] < lo) | (old["ChargePeriodStart"] >= hi)]
        rows = pd.concat([kept, rows], ignore_index=True) if len(kept) else rows
    rows = _canonical_order(rows)
    if old is not None and label in manifest["partitions"] and _canonical_order(old).equals(rows):
        return False
    if rows.empty and old is None:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    _replace(target, lambda temp: _write_rows(rows, temp, fmt))
    manifest["partitions"][label] = _entry(target, root, rows, provenance)
    manifest["partitions"] = dict(sorted(manifest["partitions"].items()))
    write_manifest(root, manifest, provenance)
    return True


def _covers_part(lo: pd.Timestamp, hi: pd.Timestamp, label: str) -> bool:
    """True when the window is only part of its month (the old rows around it must stay)."""
    first = pd.Timestamp(f"{label}-01").tz_localize(BILLING_TZ)
    following = (first.tz_localize(None) + pd.offsets.MonthBegin(1)).tz_localize(BILLING_TZ)
    return bool(lo > first or hi < following)


def _entry(
    target: Path, root: Path, rows: pd.DataFrame, provenance: Mapping[str, Any] | None
) -> dict[str, Any]:
    starts = rows["ChargePeriodStart"]
    return {
        "path": target.relative_to(root).as_posix(),
        "rows": len(rows),
        "billed_cost": round(float(rows["BilledCost"].sum()), 6),
        "first_charge_period_start": starts.min().isoformat() if len(rows) else None,
        "last_charge_period_end": rows["ChargePeriodEnd"].max().isoformat() if len(rows) else None,
        "incomplete_rows": int((~rows["x_Complete"].astype(bool)).sum()),
        "sha256": _file_hash(target),
        "as_of": (provenance or {}).get("as_of"),
        "written_at": pd.Timestamp.now(tz="UTC").isoformat(),
    }


def write_manifest(
    folder: str | os.PathLike[str],
    manifest: dict[str, Any],
    provenance: Mapping[str, Any] | None = None,
) -> None:
    """Replace ``_manifest.json`` (atomically) with ``manifest`` and the run's provenance."""
    if provenance is not None:
        manifest["provenance"] = dict(provenance)
    manifest["package"] = "costtrend_nb"
    manifest["version"] = __version__
    manifest["columns"] = list(_TYPES)
    text = json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"
    _replace(Path(folder) / MANIFEST, lambda temp: temp.write_text(text, encoding="utf-8"))


# -- files ----------------------------------------------------------------------------------------


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _replace(target: Path, write: Any) -> None:
    """Write through a temporary file in the target's folder, then rename it into place."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    temp = Path(name)
    try:
        write(temp)
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def _write_rows(rows: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        rows.to_parquet(path, index=False, compression="zstd")
    else:
        rows.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ", lineterminator="\n")


def read_partition(path: str | os.PathLike[str], fmt: str | None = None) -> pd.DataFrame:
    """One partition's rows, with the dtypes :func:`~costtrend_nb.focus.to_focus` gives.

    Example:
        >>> import tempfile
        >>> from costtrend_nb.focus import empty_focus
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = Path(tmp.name) / "part-0.csv"
        >>> _write_rows(empty_focus(), path, "csv")
        >>> read_partition(path).dtypes["ChargePeriodStart"]
        datetime64[us, UTC]
        >>> tmp.cleanup()
    """
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".")
    if fmt == "parquet":
        rows = pd.read_parquet(path)
    else:
        text = [n for n, kind in _TYPES.items() if kind in ("string", "json")]
        rows = pd.read_csv(
            path,
            dtype={n: "str" for n in text},
            keep_default_na=False,
            na_values={n: [""] for n in _TYPES},
        )
    for name, kind in _TYPES.items():
        if kind == "datetime":
            rows[name] = pd.to_datetime(rows[name], utc=True, format="ISO8601").astype(
                "datetime64[us, UTC]"
            )
        elif kind == "decimal":
            rows[name] = rows[name].astype(np.float64)
        elif kind == "bool":
            rows[name] = rows[name].astype(bool)
        else:
            rows[name] = rows[name].astype("str")
    return rows[list(_TYPES)]


def _canonical_order(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.sort_values(_ORDER, kind="stable", na_position="first").reset_index(drop=True)


def content_hash(rows: pd.DataFrame) -> str:
    """A hash of the rows' values (not of a file's bytes), the same however they were read.

    Example:
        >>> from costtrend_nb.focus import empty_focus
        >>> content_hash(empty_focus()) == content_hash(empty_focus())
        True
    """
    digest = hashlib.sha256()
    digest.update(str(len(rows)).encode())
    for name, kind in _TYPES.items():
        column = rows[name]
        if kind == "datetime":
            values = column.astype("datetime64[us, UTC]").to_numpy(dtype="datetime64[us]")
            data = values.view(np.int64)
        elif kind == "decimal":
            data = np.nan_to_num(column.to_numpy(dtype=np.float64), nan=np.inf) + 0.0
        elif kind == "bool":
            data = column.to_numpy(dtype=bool)
        else:
            filled = column.astype("object").where(column.notna(), "\x00")
            data = pd.util.hash_pandas_object(filled, index=False).to_numpy()
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(data).tobytes())
    return digest.hexdigest()
