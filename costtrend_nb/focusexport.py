"""``costtrend-nb export --focus``: check everything first, then fetch and write month by month.

:func:`plan_export` refuses bad input (range, filters, folder) before any request;
:func:`run_export` fetches one billing month at a time (Asia/Shanghai calendar months), turns it
into FOCUS rows and hands them to the dataset writer, so memory holds one month, never the
whole range.

Example:
    >>> import tempfile
    >>> from costtrend_nb import CostTrendClient
    >>> tmp = tempfile.TemporaryDirectory()
    >>> with CostTrendClient.demo() as client:
    ...     plan = plan_export(tmp.name, "2026-10-31", "2026-11-02", model_types=["TTS"],
    ...                        demo=client.is_demo)
    ...     result = run_export(client, plan)
    >>> [label for label, _, _ in plan.periods], result.written, result.rows
    (['2026-10', '2026-11'], ['2026-10', '2026-11'], 48)
    >>> tmp.cleanup()
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import QueryError
from .focus import billing_periods, open_dataset, partition_path, to_focus, write_period
from .focus.columns import DEFAULT_ACCOUNT_ID, DEFAULT_ACCOUNT_NAME
from .focus.rows import BILLING_TZ
from .output import OutputError, require_pyarrow
from .query import RangeWidenedWarning, TrendQuery, to_timestamp

__all__ = ["ExportPlan", "ExportResult", "plan_export", "run_export"]


@dataclass
class ExportPlan:
    """What an export will fetch and where it writes; built only from valid input."""

    folder: Path
    periods: list[tuple[str, pd.Timestamp, pd.Timestamp]]
    filters: dict[str, Any]
    manifest: dict[str, Any]
    include_incomplete: bool
    account_id: str
    account_name: str
    demo: bool


@dataclass
class ExportResult:
    """What a run did: billing months written, left as they were, or with no use at all."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # no use in the range, no file before
    rows: int = 0
    billed_cost: float = 0.0
    request_count: int = 0


def plan_export(
    folder: str | Path,
    start: Any,
    end: Any,
    *,
    granularity: str = "hourly",
    tz: str = "Asia/Shanghai",
    model_types: Sequence[str] | None = None,
    client_ids: Sequence[int] | None = None,
    by: Sequence[str] = ("model_type", "client_id"),
    fmt: str = "parquet",
    include_incomplete: bool = False,
    account_id: str | None = None,
    account_name: str | None = None,
    max_results: int = 100,
    demo: bool = False,
) -> ExportPlan:
    """Check an export's input and folder before any request; returns the plan.

    The range is widened to whole buckets (hours, or Asia/Shanghai days) and cut into billing
    months.

    Raises:
        QueryError: bad range or filters, daily days that are not the billing zone's, a
            folder that is a file, holds other files, or holds an export of another query.
    """
    filters: dict[str, Any] = {
        "granularity": granularity,
        "tz": tz,
        "model_types": list(model_types) if model_types else None,
        "client_ids": list(client_ids) if client_ids else None,
        "by": list(by),
        "max_results": max_results,
    }
    TrendQuery("2025-01-01", "2025-01-02", **filters)  # every filter, whatever the range
    lo = to_timestamp(start, tz, name="--start")
    hi = to_timestamp(end, tz, name="--end")
    if lo >= hi:
        raise QueryError(
            f"--start ({lo.isoformat()}) must be before --end ({hi.isoformat()}); ranges are "
            "half-open [start, end)."
        )
    lo, hi = _whole_buckets(lo, hi, granularity, tz)
    periods = billing_periods(lo, hi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RangeWidenedWarning)
        for _, first, last in periods:  # each month's own query: dates, span, combinations
            TrendQuery(first, last, **filters)
    if fmt == "parquet":
        require_pyarrow()
    identity = {
        "data": "demo" if demo else "live",
        "granularity": granularity,
        "model_types": filters["model_types"],
        "client_ids": filters["client_ids"],
        "by": sorted(filters["by"]),
        "include_incomplete": include_incomplete,
        "account_id": account_id or DEFAULT_ACCOUNT_ID,
    }
    manifest = open_dataset(folder, identity=identity, fmt=fmt)
    return ExportPlan(
        folder=Path(folder),
        periods=periods,
        filters=filters,
        manifest=manifest,
        include_incomplete=include_incomplete,
        account_id=account_id or DEFAULT_ACCOUNT_ID,
        account_name=account_name or DEFAULT_ACCOUNT_NAME,
        demo=demo,
    )


def _whole_buckets(
    lo: pd.Timestamp, hi: pd.Timestamp, granularity: str, tz: str
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The range widened to whole hours, or to whole Asia/Shanghai days for daily data."""
    if granularity == "hourly":
        utc = lo.tz_convert("UTC").floor("h"), hi.tz_convert("UTC").ceil("h")
        return utc[0].tz_convert(tz), utc[1].tz_convert(tz)
    local = [t.tz_convert(BILLING_TZ) for t in (lo, hi)]
    first = local[0].normalize()
    last = local[1].normalize()
    last = last if last == local[1] else last + pd.Timedelta(days=1)
    for day in (first, last):
        if day.tz_convert(tz).tz_localize(None) != day.tz_convert(tz).tz_localize(None).normalize():
            raise QueryError(
                f"a daily FOCUS export needs days that start at midnight in {BILLING_TZ} (the "
                f"billing month's zone), and midnight in {tz} is not; pass --tz {BILLING_TZ} or "
                "--granularity hourly."
            )
    return first.tz_convert(tz), last.tz_convert(tz)


def run_export(client: Any, plan: ExportPlan) -> ExportResult:
    """Fetch, convert and write each billing month of ``plan`` in turn.

    Raises:
        QueryError: a department asked for is not in the organisation (one request sent).
        CostTrendError: the service failed; months written before stay written.
        OutputError: a partition could not be written (it names it); it was left as it was.
    """
    departments = client.departments()
    known = {int(i) for i in departments["id"]}
    unknown = [i for i in plan.filters["client_ids"] or () if i not in known]
    if unknown:
        raise QueryError(
            f"no department {', '.join(map(str, unknown))} in the organisation; "
            f"`costtrend-nb departments{' --demo' if plan.demo else ''}` lists the ids."
        )
    result = ExportResult()
    began = pd.Timestamp.now(tz="UTC").isoformat()
    fetch_filters = {k: v for k, v in plan.filters.items() if k != "granularity"}
    for label, lo, hi in plan.periods:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RangeWidenedWarning)
            df = client.fetch(lo, hi, granularity=plan.filters["granularity"], **fetch_filters)
        rows = to_focus(
            df,
            departments=departments,
            account_id=plan.account_id,
            account_name=plan.account_name,
            granularity=plan.filters["granularity"],
            include_incomplete=plan.include_incomplete,
        )
        as_of = df.attrs.get("as_of")
        del df
        provenance = _provenance(client, plan, began, result.request_count)
        provenance["as_of"] = str(as_of) if as_of is not None else None
        fmt = plan.manifest["identity"]["format"]
        if rows.empty and not partition_path(plan.folder, label, fmt).exists():
            result.empty.append(label)
            continue
        try:
            changed = write_period(
                plan.folder, plan.manifest, label, rows, window=(lo, hi), provenance=provenance
            )
        except OSError as err:  # a full disk, a folder made read-only: name the partition
            raise OutputError(partition_path(plan.folder, label, fmt), err) from None
        (result.written if changed else result.unchanged).append(label)
        result.rows += len(rows)
        result.billed_cost += float(rows["BilledCost"].sum())
    result.request_count = int(client.request_count)
    return result


def _provenance(client: Any, plan: ExportPlan, began: str, requests: int) -> dict[str, Any]:
    first, last = plan.periods[0][1], plan.periods[-1][2]
    record: dict[str, Any] = {
        "what": "Model Router cost trend (ModelRouterQueryCostTrendMetrics) as FOCUS 1.0 rows",
        "data": "demo" if plan.demo else "live",
        "endpoint": "demo" if plan.demo else str(getattr(client, "endpoint", "")),
        "query": {
            **plan.filters,
            "start": first.isoformat(),
            "end": last.isoformat(),
            "billing_periods": [label for label, _, _ in plan.periods],
        },
        "run_started_at": began,
        "request_count": int(getattr(client, "request_count", requests)),
        "times": "UTC; the billing period is the Asia/Shanghai calendar month",
        "running_buckets": "kept, x_Complete false"
        if plan.include_incomplete
        else "left out until settled",
    }
    if plan.demo:
        record["note"] = "Synthetic data of the built-in demo organisation, not real spend."
    return record
