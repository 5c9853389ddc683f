"""Files the ``costtrend-nb`` command writes: whole or not at all, streamed, with provenance.

Every file is written to a temporary name in its own folder and renamed into place
(``os.replace``) only when it is complete, so an existing file is never replaced by a cut one;
an error or Ctrl-C removes the temporary file. CSV and JSON are written in chunks of
:data:`CHUNK_ROWS` rows into one open file, never built as one string; Parquet in row groups
of the same size. Timestamps become ISO 8601 text with their UTC offset.

Provenance (the query with every filter, time zone, as-of time, request count, demo or live,
package version, fetch time) goes into Parquet's schema metadata under :data:`PROVENANCE_KEY`
and, for CSV and JSON, into a sidecar ``<file>.meta.json`` written the same way and renamed
together with the data.

Example:
    >>> import tempfile
    >>> from costtrend_nb import CostTrendClient
    >>> df = CostTrendClient.demo().fetch("2026-11-18", "2026-11-19", model_types=["TTS"])
    >>> record = trend_provenance(df, demo=True)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp.name)
    >>> write_frame(df, folder / "tts.csv", "csv", record).name
    'tts.csv.meta.json'
    >>> sorted(p.name for p in folder.iterdir())
    ['tts.csv', 'tts.csv.meta.json']
    >>> for line in (folder / "tts.csv").read_text().splitlines()[:2]:
    ...     print(line)
    timestamp,model_type,client_id,metric,value,unit,complete
    2026-11-18T00:00:00+08:00,all,,total_amount,2.8566,CNY,True
    >>> tmp.cleanup()
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pandas as pd

from . import __version__
from .errors import QueryError

__all__ = [
    "CHUNK_ROWS",
    "FORMATS",
    "PROVENANCE_KEY",
    "OutputError",
    "check_writable",
    "departments_provenance",
    "iso_text",
    "read_parquet_provenance",
    "require_pyarrow",
    "sidecar_path",
    "single_client_id",
    "staged",
    "trend_provenance",
    "write_csv",
    "write_frame",
    "write_json",
]

FORMATS = ("csv", "json", "parquet")
#: Rows converted and written at a time: bounds the memory a write needs beyond the frame.
CHUNK_ROWS = 100_000
#: The key of the provenance record in a Parquet file's schema metadata.
PROVENANCE_KEY = "costtrend_nb"
SIDECAR_SUFFIX = ".meta.json"
# attrs copied into a file's provenance: named one by one, so nothing else can slip in
_ATTR_KEYS = (
    "query",
    "tz",
    "as_of",
    "fetched_at",
    "endpoint",
    "request_count",
    "request_ids",
    "missing_series",
    "cached_buckets",
    "widened",
)


class OutputError(OSError):
    """A file could not be written; the message names the file and the reason.

    Example:
        >>> str(OutputError("out/x.csv", OSError(28, "No space left on device")))
        'cannot write out/x.csv: No space left on device'
    """

    def __init__(self, path: str | os.PathLike[str], cause: BaseException) -> None:
        reason = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
        super().__init__(getattr(cause, "errno", None), f"cannot write {path}: {reason}")
        self.path = str(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.reason}"


# -- provenance ---------------------------------------------------------------------------------


def single_client_id(query: Mapping[str, Any] | None) -> int | None:
    """The department every row belongs to when the query named exactly one, unsplit.

    Example:
        >>> single_client_id({"client_ids": [10002], "by": []})
        10002
        >>> single_client_id({"client_ids": [10002], "by": ["client_id"]}) is None
        True
    """
    if not query:
        return None
    ids = query.get("client_ids") or []
    if len(ids) != 1 or "client_id" in (query.get("by") or []):
        return None
    return int(ids[0])


def trend_provenance(df: pd.DataFrame, *, demo: bool) -> dict[str, Any]:
    """Where a tidy frame's rows come from, as one JSON-ready record for a file.

    Only the provenance keys of ``df.attrs`` are copied (none holds a secret).

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-11-18", "2026-11-19", client_ids=10002)
        >>> record = trend_provenance(df, demo=True)
        >>> record["data"], record["query"]["client_ids"], record["client_id_filled"]
        ('demo', [10002], 10002)
    """
    attrs = df.attrs
    record: dict[str, Any] = {
        "what": "Model Router cost trend (ModelRouterQueryCostTrendMetrics), tidy rows",
        "data": "demo" if demo else "live",
        **{key: attrs.get(key) for key in _ATTR_KEYS},
        "rows": len(df),
        "columns": [str(c) for c in df.columns],
        "timestamps": "bucket starts, ISO 8601 with the UTC offset of tz",
    }
    if demo:
        record["note"] = "Synthetic data of the built-in demo organisation, not real spend."
    query = attrs.get("query") or {}
    filled = single_client_id(query)
    record["client_id_filled"] = filled
    if filled is not None:
        record["client_id_note"] = (
            f"client_id is {filled} on every row: the query asked for that one department "
            "without splitting by client_id (the tidy frame itself leaves it empty)."
        )
    elif query.get("client_ids") and "client_id" not in (query.get("by") or []):
        record["client_id_note"] = (
            "client_id is empty: each row is the total of the departments in query.client_ids."
        )
    return _stamped(record)


def departments_provenance(*, demo: bool, endpoint: str, request_count: int) -> dict[str, Any]:
    """Where a department list comes from, as one JSON-ready record for a file.

    Example:
        >>> departments_provenance(demo=True, endpoint="demo", request_count=1)["data"]
        'demo'
    """
    now = pd.Timestamp.now(tz="UTC").isoformat()
    record = {
        "what": "Model Router department list (ModelRouterQueryClients)",
        "data": "demo" if demo else "live",
        "endpoint": endpoint,
        "fetched_at": now,
        "request_count": request_count,
    }
    return _stamped(record)


def _stamped(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "package": "costtrend_nb", "version": __version__}


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The provenance file beside a CSV or JSON file.

    Example:
        >>> sidecar_path("out/week.csv").as_posix()
        'out/week.csv.meta.json'
    """
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


# -- where files go ------------------------------------------------------------------------------


def check_writable(path: str | os.PathLike[str], *, folder: bool = False) -> Path:
    """Make sure a file (or, with ``folder=True``, files) can be written there; before any work.

    Creates missing folders, and a temporary file that it removes again.

    Raises:
        QueryError: the place is not writable (the message names it and says what to do).

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> home = Path(tmp.name)
        >>> check_writable(home / "reports", folder=True) == home / "reports"
        True
        >>> (home / "reports").is_dir()   # made; the probe file is gone again
        True
        >>> list((home / "reports").iterdir())
        []
        >>> tmp.cleanup()
    """
    target = Path(path)
    where = target if folder else target.parent
    if not folder and target.is_dir():
        raise QueryError(f"-o {target} is a folder; name a file, e.g. -o {target / 'trend.csv'}.")
    blocker = next((p for p in (where, *where.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise QueryError(
            f"cannot write {target}: {blocker} is a file, not a folder; choose another -o."
        )
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=where, prefix=".costtrend-nb-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise QueryError(
            f"cannot write {target}: {reason}; choose an -o you can write to."
        ) from None
    return target


def _new_file_mode(existing: Path) -> int:
    try:
        return existing.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


@contextlib.contextmanager
def staged(*targets: Path) -> Iterator[list[Path]]:
    """Temporary files beside each target, renamed into place together when the block ends.

    If the block raises (an error, a full disk, Ctrl-C), the temporary files are removed and
    the targets are left as they were.
    """
    temps: list[Path] = []
    try:
        for target in targets:
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            os.fchmod(fd, _new_file_mode(target))
            os.close(fd)
            temps.append(Path(name))
        yield temps
        for temp, target in zip(temps, targets, strict=True):
            os.replace(temp, target)
    except BaseException:
        for temp in temps:
            with contextlib.suppress(OSError):
                temp.unlink()
        raise


# -- writing --------------------------------------------------------------------------------------


def write_frame(
    df: pd.DataFrame,
    path: str | os.PathLike[str] | None,
    fmt: str,
    provenance: dict[str, Any],
    *,
    chunk_rows: int | None = None,
    stderr: IO[str] | None = None,
) -> Path | None:
    """Write a frame as csv, json (an array of records) or parquet, with its provenance.

    ``path`` None or ``"-"`` is standard output (csv or json); the provenance then goes to
    ``stderr`` as one line of JSON. When ``provenance["client_id_filled"]`` is an id, the
    rows written carry it in ``client_id``. ``chunk_rows`` defaults to :data:`CHUNK_ROWS`.

    Returns:
        The sidecar's path (csv, json), or None (parquet, standard output).

    Raises:
        QueryError: parquet to standard output, or pyarrow missing.
        OutputError: the file could not be written (it names the file); the old one is kept.

    Example:
        >>> import io
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-11-18", "2026-11-19", granularity="daily",
        ...                                   model_types=["TTS"])
        >>> cost = df[df["metric"] == "total_amount"]
        >>> record = io.StringIO()   # standard error when not given
        >>> write_frame(cost, "-", "csv", trend_provenance(cost, demo=True), stderr=record)
        timestamp,model_type,client_id,metric,value,unit,complete
        2026-11-18T00:00:00+08:00,all,,total_amount,180.6598,CNY,True
        >>> json.loads(record.getvalue())["data"]
        'demo'
    """
    chunk_rows = chunk_rows or CHUNK_ROWS
    fill = provenance.get("client_id_filled")
    if path is None or str(path) == "-":
        if fmt == "parquet":
            raise QueryError("parquet cannot go to standard output; pass -o FILE.parquet.")
        _write_text(df, sys.stdout, fmt, fill, chunk_rows)
        sys.stdout.flush()
        print(json.dumps(provenance, ensure_ascii=False), file=stderr or sys.stderr, flush=True)
        return None
    target = Path(path)
    if fmt == "parquet":
        require_pyarrow()
        _guarded(target, lambda: _write_parquet_file(df, target, provenance, fill, chunk_rows))
        return None
    sidecar = sidecar_path(target)
    _guarded(
        target,
        lambda: _write_text_and_sidecar(df, target, sidecar, fmt, provenance, fill, chunk_rows),
    )
    return sidecar


def _guarded(target: Path, write: Any) -> None:
    try:
        write()
    except OutputError:
        raise
    except OSError as err:
        raise OutputError(target, err) from None


def _write_text_and_sidecar(
    df: pd.DataFrame,
    target: Path,
    sidecar: Path,
    fmt: str,
    provenance: dict[str, Any],
    fill: int | None,
    chunk_rows: int,
) -> None:
    with staged(target, sidecar) as (data_temp, meta_temp):
        with open(data_temp, "w", encoding="utf-8", newline="") as handle:
            _write_text(df, handle, fmt, fill, chunk_rows)
            _sync(handle)
        try:
            with open(meta_temp, "w", encoding="utf-8") as handle:
                json.dump(provenance, handle, ensure_ascii=False, indent=1)
                handle.write("\n")
                _sync(handle)
        except OSError as err:
            raise OutputError(sidecar, err) from None


def _sync(handle: IO[Any]) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _write_text(
    df: pd.DataFrame, handle: IO[str], fmt: str, fill: int | None, chunk_rows: int
) -> None:
    if fmt == "csv":
        write_csv(df, handle, fill_client_id=fill, chunk_rows=chunk_rows)
    else:
        write_json(df, handle, fill_client_id=fill, chunk_rows=chunk_rows)


def _chunks(df: pd.DataFrame, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Slices of ``chunk_rows`` rows; an empty frame gives one empty slice (for the header)."""
    for begin in range(0, max(len(df), 1), chunk_rows):
        yield df.iloc[begin : begin + chunk_rows]


def _as_text_table(chunk: pd.DataFrame, fill: int | None) -> pd.DataFrame:
    """A chunk ready for text: timestamps as ISO text, the one department's id filled in."""
    columns: dict[str, Any] = {}
    for name in chunk.columns:
        column = chunk[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            columns[name] = iso_text(column)
        elif name == "client_id" and fill is not None:
            columns[name] = column.fillna(fill)
        else:
            columns[name] = column
    return pd.DataFrame(columns, index=chunk.index, copy=False)


def write_csv(
    df: pd.DataFrame,
    handle: IO[str],
    *,
    fill_client_id: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> None:
    """Write a frame as CSV into an open text file, ``chunk_rows`` rows at a time.

    Example:
        >>> import io
        >>> buffer = io.StringIO()
        >>> write_csv(pd.DataFrame({"a": [1, 2]}), buffer)
        >>> buffer.getvalue()
        'a\\n1\\n2\\n'
    """
    for begin, chunk in enumerate(_chunks(df, chunk_rows)):
        table = _as_text_table(chunk, fill_client_id)
        table.to_csv(handle, index=False, header=begin == 0, lineterminator="\n")


def write_json(
    df: pd.DataFrame,
    handle: IO[str],
    *,
    fill_client_id: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> None:
    """Write a frame as a JSON array of records, one record a line, ``chunk_rows`` at a time.

    Example:
        >>> import io
        >>> buffer = io.StringIO()
        >>> write_json(pd.DataFrame({"a": [1, 2]}), buffer)
        >>> buffer.getvalue()
        '[\\n{"a":1},\\n{"a":2}\\n]\\n'
    """
    handle.write("[")
    first = True
    for chunk in _chunks(df, chunk_rows):
        if chunk.empty:
            continue
        table = _as_text_table(chunk, fill_client_id)
        lines = table.to_json(orient="records", lines=True, force_ascii=False).rstrip("\n")
        handle.write(("\n" if first else ",\n") + lines.replace("\n", ",\n"))
        first = False
    handle.write("\n]\n" if not first else "]\n")


def iso_text(values: pd.Series) -> pd.Categorical:
    """Tz-aware timestamps as ISO 8601 text with their UTC offset; NaT stays missing.

    Each distinct time is formatted once (a tidy frame repeats every bucket for each series
    and metric), so the text costs a few bytes a row.

    Example:
        >>> s = pd.Series(pd.to_datetime(["2026-11-16"] * 2).tz_localize("Asia/Shanghai"))
        >>> list(iso_text(s))
        ['2026-11-16T00:00:00+08:00', '2026-11-16T00:00:00+08:00']
    """
    codes, uniques = pd.factorize(values)
    return pd.Categorical.from_codes(codes, categories=[t.isoformat() for t in uniques])


# -- parquet --------------------------------------------------------------------------------------


def require_pyarrow() -> None:
    """Raise :class:`QueryError` with the install hint when pyarrow is missing."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise QueryError(
            "parquet output needs pyarrow: pip install 'costtrend_nb[parquet]', or use "
            "--format csv."
        ) from None


def _write_parquet_file(
    df: pd.DataFrame, target: Path, provenance: dict[str, Any], fill: int | None, chunk_rows: int
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def table_of(chunk: pd.DataFrame) -> Any:
        if fill is not None and "client_id" in chunk.columns:
            chunk = chunk.assign(client_id=chunk["client_id"].fillna(fill))
        return pa.Table.from_pandas(chunk, preserve_index=False)

    with staged(target) as (temp,):
        writer = None
        try:
            for chunk in _chunks(df, chunk_rows):
                table = table_of(chunk)
                if writer is None:
                    metadata = dict(table.schema.metadata or {})
                    metadata[PROVENANCE_KEY.encode()] = json.dumps(provenance).encode()
                    schema = table.schema.with_metadata(metadata)
                    writer = pq.ParquetWriter(str(temp), schema)
                writer.write_table(table.cast(schema))
        finally:
            if writer is not None:
                writer.close()
        _fsync_file(temp)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_parquet_provenance(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The provenance record stored in a Parquet file written by :func:`write_frame`.

    Example:
        >>> import tempfile
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-11-18", "2026-11-19", model_types=["TTS"])
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = Path(tmp.name) / "tts.parquet"
        >>> write_frame(df, path, "parquet", trend_provenance(df, demo=True)) is None
        True
        >>> record = read_parquet_provenance(path)
        >>> record["data"], record["rows"]
        ('demo', 96)
        >>> tmp.cleanup()
    """
    import pyarrow.parquet as pq

    metadata = pq.read_schema(str(path)).metadata or {}
    raw = metadata.get(PROVENANCE_KEY.encode())
    return json.loads(raw) if raw else None
