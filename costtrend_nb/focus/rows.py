"""A tidy frame into FOCUS 1.0 rows: one per charge period, series and model type.

A row's charge period is one bucket of the trend (an hour, or a local day), in UTC; its
billing period is the Asia/Shanghai calendar month that holds the bucket's start, in UTC too.
BilledCost is the bucket's ``total_amount``; EffectiveCost, ListCost and ContractedCost equal it
(the endpoint reports what was billed and no price list, so no discount can be shown).

Running and settling buckets (``complete`` False: they may still be revised) are left out
unless ``include_incomplete=True``, which keeps them with ``x_Complete`` False. Buckets with no
cost and no use at all are left out unless ``keep_idle=True``: they add nothing to any sum.

Example:
    >>> from costtrend_nb import CostTrendClient
    >>> df = CostTrendClient.demo().fetch("2026-11-18", "2026-11-19", by="model_type",
    ...                                   model_types=["TTS", "ImageGeneration"])
    >>> rows = to_focus(df)
    >>> len(rows), rows["ChargePeriodStart"].iloc[0].isoformat()
    (48, '2026-11-17T16:00:00+00:00')
    >>> rows[["BilledCost", "ConsumedQuantity", "ConsumedUnit", "x_ModelType"]].iloc[[0, 1]]
       BilledCost  ConsumedQuantity ConsumedUnit      x_ModelType
    0      2.8566           14283.0   Characters              TTS
    1      1.5800              10.0       Images  ImageGeneration
    >>> cost = df.loc[df["metric"] == "total_amount", "value"].sum()
    >>> bool(abs(rows["BilledCost"].sum() - cost) < 1e-6)
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd

from ..catalogue import BASE_METRICS
from ..errors import QueryError
from ..query import SERVICE_UTC_OFFSET
from ..tidy import COLUMNS
from .columns import (
    CHARGE_CATEGORY,
    CHARGE_FREQUENCY,
    COLUMN_TYPES,
    CURRENCY,
    DEFAULT_ACCOUNT_ID,
    DEFAULT_ACCOUNT_NAME,
    EXTRA_COLUMNS,
    FOCUS_COLUMNS,
    PRICING_CATEGORY,
    PROVIDER,
    SERVICE_CATEGORY,
    SERVICE_NAME,
    SKU_PREFIX,
    VOLUME_METRICS,
)
from .pivot import pivot, texts

__all__ = ["BILLING_TZ", "billing_month_start", "empty_focus", "to_focus"]

#: The billing month is this zone's calendar month.
BILLING_TZ = "Asia/Shanghai"
_ALL = "all"
_TIME = "datetime64[us, UTC]"


def to_focus(
    df: pd.DataFrame,
    *,
    departments: pd.DataFrame | None = None,
    account_id: str = DEFAULT_ACCOUNT_ID,
    account_name: str = DEFAULT_ACCOUNT_NAME,
    granularity: str | None = None,
    include_incomplete: bool = False,
    keep_idle: bool = False,
    api_key_id: int | str | None = None,
    member_user_ids: Sequence[int | str] | None = None,
) -> pd.DataFrame:
    """FOCUS 1.0 rows of a tidy frame (hourly or daily, split or not), in time order.

    Args:
        df: a tidy frame (``client.fetch``).
        departments: ``client.departments()``: names SubAccountName and the department path
            in Tags; without it SubAccountName is null.
        account_id, account_name: BillingAccountId and BillingAccountName.
        granularity: ``"hourly"`` or ``"daily"``; None reads it from the timestamps.
        include_incomplete: keep running and settling buckets, with ``x_Complete`` False.
        keep_idle: keep buckets with no cost and no use.
        api_key_id, member_user_ids: the fetch's filters, for Tags.

    Raises:
        QueryError: not a tidy frame, the granularity cannot be told, or a local day crosses
            the Asia/Shanghai month (daily data in a zone whose midnight is not UTC+8's).

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> client = CostTrendClient.demo()
        >>> df = client.fetch("2026-11-18", "2026-11-20", granularity="daily", client_ids=10004,
        ...                   by=("model_type", "client_id"), model_types=["Chat"])
        >>> row = to_focus(df, departments=client.departments()).iloc[0]
        >>> row["SubAccountId"], row["SubAccountName"], row["ChargePeriodEnd"].isoformat()
        ('10004', 'Search', '2026-11-18T16:00:00+00:00')
        >>> import json
        >>> json.loads(row["Tags"])["department"]
        'Headquarters / Research & Development / Search'
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise QueryError(f"to_focus() needs a tidy frame; the columns {missing} are missing.")
    if df.empty:
        return empty_focus()
    table, series = pivot(df)
    if not include_incomplete:
        table = table[table["complete"].to_numpy(dtype=bool)]
    if not keep_idle:
        table = table[_used(table)]
    if table.empty:
        return empty_focus()
    table = table.reset_index(drop=True)
    granularity = granularity or _granularity(table["timestamp"])
    start, end = _charge_periods(table["timestamp"], granularity)
    billing_start, billing_end = _billing_periods(start)
    if bool((end > billing_end).any()):
        raise QueryError(
            "a day of this daily frame crosses an Asia/Shanghai month, the billing month: fetch "
            "it hourly, or daily with tz='Asia/Shanghai', to export it."
        )
    n = len(table)
    code = table["series"].to_numpy(dtype=np.int64)
    every = np.zeros(n, dtype=np.int64)
    labels = _series_labels(
        series, _department_names(departments), granularity, api_key_id, member_user_ids
    )
    cost = table["total_amount"].to_numpy(dtype=np.float64)
    columns: dict[str, Any] = {name: _nulls(COLUMN_TYPES[name], n) for name in FOCUS_COLUMNS}
    for name, value in {
        "BillingCurrency": CURRENCY,
        "ChargeCategory": CHARGE_CATEGORY,
        "ChargeFrequency": CHARGE_FREQUENCY,
        "PricingCategory": PRICING_CATEGORY,
        "ProviderName": PROVIDER,
        "PublisherName": PROVIDER,
        "InvoiceIssuerName": PROVIDER,
        "BillingAccountId": str(account_id),
        "BillingAccountName": str(account_name),
        "ServiceCategory": SERVICE_CATEGORY,
        "ServiceName": SERVICE_NAME,
        "x_Granularity": granularity,
    }.items():
        columns[name] = texts([value], every)
    for name, values in labels.items():
        columns[name] = texts(values, code)
    quantity, unit = _volumes(table, series)
    columns.update(
        BilledCost=cost,
        EffectiveCost=cost.copy(),
        ListCost=cost.copy(),
        ContractedCost=cost.copy(),
        ChargePeriodStart=start,
        ChargePeriodEnd=end,
        BillingPeriodStart=billing_start,
        BillingPeriodEnd=billing_end,
        ConsumedQuantity=quantity,
        ConsumedUnit=unit,
        PricingQuantity=quantity.copy(),
        PricingUnit=unit.copy(),
        x_Calls=table["total_calls"].to_numpy(dtype=np.float64),
        x_Usage=pd.Series(_usage_json(table, series), dtype="str"),
        x_Complete=table["complete"].to_numpy(dtype=bool),
    )
    out = pd.DataFrame(columns, index=table.index)
    for name in ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd"):
        out[name] = out[name].astype(_TIME)
    out = out[[*FOCUS_COLUMNS, *EXTRA_COLUMNS]]
    out.attrs = dict(df.attrs)  # provenance travels; nothing computes from it
    return out


def empty_focus() -> pd.DataFrame:
    """FOCUS rows with no row, every column of its type.

    Example:
        >>> empty_focus().shape
        (0, 49)
    """
    types = {**COLUMN_TYPES, **EXTRA_COLUMNS}
    return pd.DataFrame({name: _nulls(kind, 0) for name, kind in types.items()})


def billing_month_start(times: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The start (in UTC) of the Asia/Shanghai month holding each time.

    Example:
        >>> t = pd.DatetimeIndex(["2026-10-31T16:00:00Z", "2026-10-31T15:59:00Z"])
        >>> [s.isoformat() for s in billing_month_start(t)]
        ['2026-10-31T16:00:00+00:00', '2026-09-30T16:00:00+00:00']
    """
    local = pd.DatetimeIndex(times).tz_convert(BILLING_TZ).tz_localize(None)
    months = local.to_period("M").to_timestamp()
    return pd.DatetimeIndex(months).tz_localize(BILLING_TZ).tz_convert("UTC")


# -- pieces ---------------------------------------------------------------------------------------


def _used(table: pd.DataFrame) -> np.ndarray:
    """Rows with some cost or some use (model_count, a distinct count, does not count)."""
    metrics = [c for c in table.columns if c not in ("timestamp", "series", "complete")]
    metrics = [c for c in metrics if c != "model_count"]
    values = table[metrics].fillna(0.0).to_numpy(dtype=np.float64)
    return np.asarray((values != 0).any(axis=1))


def _granularity(timestamps: pd.Series) -> str:
    """hourly or daily, from the bucket starts of one frame."""
    times = pd.DatetimeIndex(timestamps.unique()).sort_values()
    local = times.tz_localize(None) if times.tz is not None else times
    if (local != local.normalize()).any():
        return "hourly"
    steps = np.diff(times.asi8) if len(times) > 1 else np.array([], dtype=np.int64)
    if len(steps) and steps.min() < 23 * 3600 * 10**9:
        return "hourly"
    if len(steps):
        return "daily"
    raise QueryError(
        "cannot tell hourly from daily with one bucket at midnight; pass granularity=."
    )


def _charge_periods(timestamps: pd.Series, granularity: str) -> tuple[pd.Series, pd.Series]:
    start = timestamps.dt.tz_convert("UTC")
    if granularity == "hourly":
        end = start + pd.Timedelta(hours=1)
    elif granularity == "daily":
        unique = pd.DatetimeIndex(timestamps.unique())
        nxt = pd.DatetimeIndex([t + pd.DateOffset(days=1) for t in unique]).tz_convert("UTC")
        lookup = pd.Series(nxt, index=unique.tz_convert("UTC"))
        end = pd.Series(lookup.reindex(pd.DatetimeIndex(start)).to_numpy(), index=start.index)
        end = end.dt.tz_convert("UTC") if end.dt.tz is not None else end.dt.tz_localize("UTC")
    else:
        raise QueryError(f"granularity must be 'hourly' or 'daily', not {granularity!r}.")
    return start, end


def _billing_periods(start: pd.Series) -> tuple[pd.Series, pd.Series]:
    unique = pd.DatetimeIndex(start.unique())
    first = billing_month_start(unique)
    local = first.tz_convert(BILLING_TZ).tz_localize(None)
    following = (local.to_period("M") + 1).to_timestamp()
    last = pd.DatetimeIndex(following).tz_localize(BILLING_TZ).tz_convert("UTC")
    where = unique.get_indexer(pd.DatetimeIndex(start))
    index = start.index
    return pd.Series(first[where], index=index), pd.Series(last[where], index=index)


def _department_names(departments: pd.DataFrame | None) -> dict[str, tuple[str | None, str]]:
    """Department id (text) -> (name, path from the top: 'Headquarters / R&D / Search')."""
    if departments is None or departments.empty:
        return {}
    name = {int(i): str(n) for i, n in zip(departments["id"], departments["name"], strict=True)}
    parent = {
        int(i): int(p) if pd.notna(p) else 0
        for i, p in zip(departments["id"], departments["parent_id"], strict=True)
    }
    out: dict[str, tuple[str | None, str]] = {}
    for ident in name:
        path, seen, node = [], set(), ident
        while node in name and node not in seen:
            seen.add(node)
            path.append(name[node])
            node = parent.get(node, 0)
        out[str(ident)] = (name[ident], " / ".join(reversed(path)))
    return out


def _series_labels(
    series: Sequence[tuple[str, int | None]],
    names: Mapping[str, tuple[str | None, str]],
    granularity: str,
    api_key_id: int | str | None,
    member_user_ids: Sequence[int | str] | None,
) -> dict[str, list[str | None]]:
    """The text columns that depend only on the series, one value per series."""
    out: dict[str, list[str | None]] = {
        k: []
        for k in (
            "SubAccountId",
            "SubAccountName",
            "ChargeDescription",
            "Tags",
            "SkuId",
            "SkuPriceId",
            "x_ModelType",
            "x_ClientId",
        )
    }
    for kind, client in series:
        ident = None if client is None else str(client)
        tags: dict[str, str] = {"model_type": kind}
        what = "all model types" if kind == _ALL else kind
        name = None
        if ident is not None:
            name, path = names.get(ident, (None, ""))
            tags["department_id"] = ident
            if path:
                tags["department"] = path
            who = f"department {name} ({ident})" if name else f"department {ident}"
        else:
            who = "the departments asked for"
        if api_key_id is not None:
            tags["api_key_id"] = str(api_key_id)
        if member_user_ids is not None:
            tags["member_user_ids"] = ",".join(str(m) for m in member_user_ids)
        values = {
            "SubAccountId": ident,
            "SubAccountName": name,
            "ChargeDescription": f"{SERVICE_NAME} usage, {what}, {who}, {granularity}",
            "Tags": orjson.dumps(tags, option=orjson.OPT_SORT_KEYS).decode(),
            "SkuId": SKU_PREFIX + kind,
            "SkuPriceId": SKU_PREFIX + kind,
            "x_ModelType": kind,
            "x_ClientId": ident,
        }
        for key, value in values.items():
            out[key].append(value)
    return out


def _volumes(
    table: pd.DataFrame, series: Sequence[tuple[str, int | None]]
) -> tuple[np.ndarray, pd.Series]:
    """ConsumedQuantity and ConsumedUnit: the type's one volume metric; null for the others."""
    code = table["series"].to_numpy(dtype=np.int64)
    quantity = np.full(len(table), np.nan)
    units: list[str | None] = [None]
    unit_code = np.zeros(len(table), dtype=np.int64)
    for i, (kind, _) in enumerate(series):
        if kind not in VOLUME_METRICS or VOLUME_METRICS[kind][0] not in table.columns:
            continue
        metric, label = VOLUME_METRICS[kind]
        rows = code == i
        quantity[rows] = table[metric].to_numpy(dtype=np.float64)[rows]
        if label not in units:
            units.append(label)
        unit_code[rows] = units.index(label)
    return quantity, texts(units, unit_code)


def _usage_json(table: pd.DataFrame, series: Sequence[tuple[str, int | None]]) -> list[str]:
    """Each row's volume metrics (those its series reports) as a JSON object."""
    skip = {"timestamp", "series", "complete", *BASE_METRICS}
    metrics = [c for c in table.columns if c not in skip]
    code = table["series"].to_numpy(dtype=np.int64)
    out: list[str] = ["{}"] * len(table)
    if not metrics:
        return out
    values = table[metrics].to_numpy(dtype=np.float64)
    for i in range(len(series)):
        rows = np.flatnonzero(code == i)
        block = values[rows]
        present = [j for j in range(len(metrics)) if not np.isnan(block[:, j]).all()]
        keys = [metrics[j] for j in present]
        dumps = orjson.dumps
        for r, row in zip(rows.tolist(), block[:, present].tolist(), strict=True):
            out[r] = dumps(dict(zip(keys, row, strict=True))).decode()
    return out


def _nulls(kind: str, n: int) -> Any:
    if kind == "decimal":
        return np.full(n, np.nan)
    if kind == "datetime":
        return pd.Series(pd.NaT, index=range(n), dtype=_TIME)
    if kind == "bool":
        return np.zeros(n, dtype=bool)
    return texts([None], np.zeros(n, dtype=np.int64))


# the billing zone is the service's zone: months split where the service's days do
assert pd.Timestamp("2026-01-01", tz=BILLING_TZ).utcoffset() == pd.Timedelta(
    seconds=SERVICE_UTC_OFFSET
)
