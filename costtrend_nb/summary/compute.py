"""From a daily tidy frame to a :class:`Summary`, with the analysis functions the notebooks use."""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import pandas as pd

from ..errors import QueryError
from ..lang import check_lang
from .model import (
    TOP_DEPARTMENTS,
    TOP_DRIVERS,
    Anomaly,
    Change,
    Department,
    Driver,
    Landing,
    Summary,
    _in_tz,
    _num,
    _ts,
    _utc,
    span_text,
)


def _names_map(names: Any) -> dict[int, str]:
    if names is None:
        return {}
    if isinstance(names, pd.DataFrame):
        return {int(i): str(n) for i, n in zip(names["id"], names["name"], strict=False)}
    return {int(k): str(v) for k, v in dict(names).items()}


def _change(row: pd.Series) -> Change:
    for side in ("current", "previous"):
        if _num(row[side]) is None:
            start, end = _ts(row[f"{side}_start"]), _ts(row[f"{side}_end"])
            raise ValueError(
                f"the data does not wholly cover {span_text(start, end)}; fetch from "
                f"{_ts(row['previous_start']):%Y-%m-%d} on"
            )
    return Change(
        label=str(row["period"]),
        current=_num(row["current"]),
        previous=_num(row["previous"]),
        current_start=_ts(row["current_start"]),
        current_end=_ts(row["current_end"]),
        previous_start=_ts(row["previous_start"]),
        previous_end=_ts(row["previous_end"]),
        running=bool(row["running"]),
    )


def _quietly(notes: list[str], what: str, compute: Any) -> Any:
    """``compute()``; on a refusal (too little data, a gap) None, with a note saying why."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return compute()
    except (QueryError, ValueError) as err:
        notes.append(f"{what}: not computed ({' '.join(str(err).split())})")
        return None


def _month(df: pd.DataFrame) -> Change | None:
    from ..analysis import compare_periods

    return _change(compare_periods(df, "total_amount", "month").iloc[-1])


def _week(df: pd.DataFrame) -> Change | None:
    from ..analysis import compare_periods

    rows = compare_periods(df, "total_amount", "week", history=2)
    complete = rows[~rows["running"].astype(bool)]
    return _change(complete.iloc[-1]) if len(complete) else None


def _landing(df: pd.DataFrame, budget: float | None) -> Landing | None:
    from ..analysis import month_end_landing

    row = month_end_landing(df, budget=budget, level=80).iloc[0]
    return Landing(
        month=str(row["month"]),
        to_date=_num(row["actual_to_date"]),
        rest=_num(row["forecast_remaining"]),
        landing=_num(row["landing"]),
        lo_80=_num(row["lo_80"]),
        hi_80=_num(row["hi_80"]),
        budget=_num(budget) if budget is not None else None,
        p_over_budget=_num(row["p_exceed_budget"]) if budget is not None else None,
        model=str(row["model"]),
    )


def _drivers(df: pd.DataFrame) -> tuple[Driver, ...]:
    from ..analysis import explain_change

    if "model_type" not in df or set(df["model_type"].astype(str)) <= {"all"}:
        return ()
    table = explain_change(df, "month", by="model_type")
    table = table[table["change"].abs() >= 0.005]  # a type that did not move drove nothing
    table = table.reindex(table["change"].abs().sort_values(ascending=False).index)
    return tuple(
        Driver(
            name=str(r["model_type"]),
            change=_num(r["change"]),
            volume_effect=_num(r["volume_effect"]),
            unit_cost_effect=_num(r["unit_cost_effect"]),
            share_of_change=_num(r["share_of_change"]),
        )
        for _, r in table.head(TOP_DRIVERS).iterrows()
    )


def _anomalies(df: pd.DataFrame) -> tuple[Anomaly, ...]:
    from ..analysis import detect_anomalies

    found = detect_anomalies(df)
    found = found[found["anomaly"].astype(bool)].sort_values("timestamp")
    return tuple(
        Anomaly(
            date=pd.Timestamp(r["timestamp"]),
            spend=_num(r["value"]),
            expected=_num(r["expected"]),
            contributor=None if r["contributor"] is None else str(r["contributor"]),
        )
        for _, r in found.iterrows()
    )


def _departments(by_department: pd.DataFrame, names: dict[int, str]) -> tuple[Department, ...]:
    from ..analysis import compare_periods

    table = compare_periods(by_department, "total_amount", "month", by="client_id")
    table = table[table["client_id"].notna()]
    total = float(table["current"].sum())
    table = table.sort_values("current", ascending=False).head(TOP_DEPARTMENTS)
    return tuple(
        Department(
            id=int(r["client_id"]),
            name=names.get(int(r["client_id"]), f"Department {int(r['client_id'])}"),
            spend=_num(r["current"]),
            share=_num(r["current"] / total) if total else None,
            pct_change=_num(r["pct_change"]),
        )
        for _, r in table.iterrows()
    )


def _running(df: pd.DataFrame, month: Change | None) -> float | None:
    """Spend in the month's buckets that are not complete yet (left out of every total)."""
    if month is None or month.current_start is None:
        return None
    cost = df[(df["metric"] == "total_amount") & ~df["complete"].astype(bool)]
    cost = cost[cost["timestamp"] >= month.current_start]
    return float(cost["value"].sum()) if len(cost) else 0.0


def summarise(
    daily: pd.DataFrame,
    *,
    by_department: pd.DataFrame | None = None,
    names: Any = None,
    budget: float | None = None,
    demo: bool = False,
    lang: str = "en",
    now: Any = None,
    by_model_type: pd.DataFrame | None = None,
) -> Summary:
    """The summary of a daily tidy frame (see the module).

    Args:
        daily: the organisation's (or the selection's) daily spend; the landing and the
            windows use it; split by model type, it gives the drivers and anomalies too.
        by_department: the same range split by ``client_id``, for the top departments.
        names: ``client.departments()`` or a mapping of id to name.
        budget: this month's budget in CNY, for P(over budget).
        demo: the data is the built-in demo's (also read from ``daily.attrs["source"]``).
        now: when the summary is made (default: the wall clock).
        by_model_type: the same range split by model type, when ``daily`` is not.

    Raises:
        QueryError: a negative or non-numeric budget, an unknown ``lang``.
    """
    lang = check_lang(lang)
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget >= 0:
            raise QueryError(f"budget must be a number of CNY of at least 0, not {budget!r}.")
        budget = float(budget)
    generated = _utc(now if now is not None else dt.datetime.now(dt.UTC))
    attrs = daily.attrs or {}
    query = dict(attrs.get("query") or {})
    tz = str(attrs.get("tz") or query.get("tz") or "Asia/Shanghai")
    notes: list[str] = []
    split = by_model_type if by_model_type is not None else daily
    month = _quietly(notes, "Month to date", lambda: _month(daily))
    week = _quietly(notes, "Last complete week", lambda: _week(daily))
    landing = _quietly(notes, "Month-end landing", lambda: _landing(daily, budget))
    drivers = _quietly(notes, "Drivers", lambda: _drivers(split)) or ()
    anomalies = _quietly(notes, "Anomalies", lambda: _anomalies(split)) or ()
    labels = _names_map(names)
    departments: tuple[Department, ...] = ()
    if by_department is not None:
        departments = (
            _quietly(notes, "Departments", lambda: _departments(by_department, labels)) or ()
        )
    end = _in_tz(query.get("end"), tz)
    as_of = _in_tz(attrs.get("as_of"), tz)
    if end is not None and as_of is not None:
        end = min(end, as_of)
    filters = {
        key: query.get(key)
        for key in ("model_types", "client_ids", "api_key_id", "member_user_ids")
        if query.get(key)
    }
    ids = filters.get("client_ids")
    if ids and labels:
        ids = [ids] if isinstance(ids, int) else list(ids)
        filters["departments"] = [labels.get(int(i), str(i)) for i in ids]
    return Summary(
        start=_in_tz(query.get("start"), tz),
        end=end,
        as_of=as_of,
        generated_at=generated,
        tz=tz,
        month=month,
        week=week,
        landing=landing,
        drivers=tuple(drivers),
        anomalies=tuple(anomalies),
        departments=departments,
        running=_running(daily, month),
        demo=bool(demo or attrs.get("source") == "demo"),
        filters=filters,
        lang=lang,
        notes=tuple(notes),
    )
