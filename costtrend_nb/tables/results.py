"""One table builder per analysis result: periods, drivers, breakdowns, forecasts, showback."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._format import Names, _hourly, _names, _ratio, format_date, scope_caption, window_label
from ._table import Table, top_rows


def _caption(what: str, source: pd.DataFrame | None, names: Names = None) -> str:
    scope = scope_caption(source, names)
    return f"{what} · {scope}" if scope else what


def _group_header(by: str) -> str:
    return {"model_type": "Model type", "client_id": "Department"}.get(by, by)


def _named(frame: pd.DataFrame, by: str, names: Names) -> pd.DataFrame:
    if by != "client_id":
        return frame
    labels = _names(names)
    out = frame.copy()
    out[by] = [
        labels.get(int(v), f"department {v}") if isinstance(v, (int, np.integer)) else v
        for v in out[by].astype(object)
    ]
    return out


def period_table(compared: pd.DataFrame, source: pd.DataFrame | None = None) -> Table:
    """:func:`~costtrend_nb.analysis.compare_periods` (no ``by``): one row per period.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> from costtrend_nb.analysis import compare_periods
        >>> df = CostTrendClient.demo().fetch("2026-10-01", "2026-11-20", granularity="daily")
        >>> period_table(compare_periods(df, "total_amount", "month"), df).formatted().iloc[0, -1]
        '+7.7 %'
    """
    frame = compared.copy()
    frame["current_window"] = [
        window_label(s, e)
        for s, e in zip(frame["current_start"], frame["current_end"], strict=True)
    ]
    frame["previous_window"] = [
        window_label(s, e)
        for s, e in zip(frame["previous_start"], frame["previous_end"], strict=True)
    ]
    columns = {
        "period": ("Period", "text"),
        "current_window": ("Current days", "text"),
        "previous_window": ("Previous days", "text"),
        "previous": ("Previous", "money"),
        "current": ("Current", "money"),
        "delta": ("Change", "money"),
        "pct_change": ("Change %", "pct"),
    }
    return Table(frame, columns, caption=_caption("Spend, like for like", source), name="periods")


def change_table(
    compared: pd.DataFrame,
    by: str = "model_type",
    *,
    top: int = 8,
    source: pd.DataFrame | None = None,
    names: Names = None,
) -> Table:
    """:func:`~costtrend_nb.analysis.compare_periods` by a group: top rows, Other and Total."""
    noun = ("type", "types") if by == "model_type" else ("department", "departments")
    frame = top_rows(
        _named(compared, by, names),
        by,
        "delta",
        top,
        noun=noun,
        ratios={"pct_change": ("delta", "previous")},
    )
    columns = {
        by: (_group_header(by), "text"),
        "previous": ("Previous", "money"),
        "current": ("Current", "money"),
        "delta": ("Change", "money"),
        "pct_change": ("Change %", "pct"),
    }
    window = ""
    if len(compared):
        row = compared.iloc[0]
        window = (
            f" {window_label(row['current_start'], row['current_end'])} against "
            + window_label(row["previous_start"], row["previous_end"])
        )
    what = f"Change by {_group_header(by).lower()},{window}"
    return Table(frame, columns, caption=_caption(what, source, names), name=f"change-by-{by}")


def drivers_table(
    drivers: pd.DataFrame,
    by: str = "model_type",
    *,
    top: int = 8,
    source: pd.DataFrame | None = None,
    names: Names = None,
) -> Table:
    """:func:`~costtrend_nb.analysis.explain_change`: volume and unit-cost effects, with Total."""
    noun = ("type", "types") if by == "model_type" else ("department", "departments")
    frame = top_rows(_named(drivers, by, names), by, "change", top, noun=noun)
    columns = {
        by: (_group_header(by), "text"),
        "previous_cost": ("Previous", "money"),
        "current_cost": ("Current", "money"),
        "change": ("Change", "money"),
        "volume_effect": ("Volume effect", "money"),
        "unit_cost_effect": ("Unit-cost effect", "money"),
        "share_of_change": ("Share of change", "pct"),
    }
    what = "What drove the change (volume and unit-cost effects, LMDI-I)"
    return Table(frame, columns, caption=_caption(what, source, names), name=f"drivers-by-{by}")


def breakdown_table(
    parts: pd.DataFrame,
    by: str = "model_type",
    *,
    source: pd.DataFrame | None = None,
    names: Names = None,
) -> Table:
    """:func:`~costtrend_nb.analysis.breakdown`: its Other row counted, and a Total row."""
    noun = "types" if by == "model_type" else "departments"
    frame = _named(parts, by, names).copy()
    frame[by] = frame[by].astype(object)
    if "groups" in frame:
        other = frame[by] == "Other"
        frame.loc[other, by] = [f"Other ({int(n)} {noun})" for n in frame.loc[other, "groups"]]
    total: dict[str, Any] = {c: None for c in frame.columns}
    for c in ("current", "share", "previous", "delta"):
        total[c] = float(frame[c].sum())
    total["pct_change"] = _ratio(total["delta"], total["previous"])
    total[by] = "Total"
    frame = pd.concat([frame, pd.DataFrame([total], columns=frame.columns)], ignore_index=True)
    columns = {
        by: (_group_header(by), "text"),
        "current": ("Current", "money"),
        "share": ("Share", "share"),
        "previous": ("Previous", "money"),
        "pct_change": ("Change %", "pct"),
    }
    window = ""
    if len(parts):
        row = parts.iloc[0]
        window = f", {window_label(row['current_start'], row['current_end'])}"
    what = f"Spend by {_group_header(by).lower()}{window}; change against the same days before"
    return Table(frame, columns, caption=_caption(what, source, names), name=f"breakdown-by-{by}")


def anomaly_table(found: pd.DataFrame, source: pd.DataFrame | None = None) -> Table:
    """The flagged rows of :func:`~costtrend_nb.analysis.detect_anomalies`."""
    frame = found[found["anomaly"]] if "anomaly" in found else found
    columns = {
        "timestamp": ("Date", "date"),
        "value": ("Spend", "money"),
        "expected": ("Expected", "money"),
        "score": ("Score", "number"),
        "contributor": ("Moved most", "text"),
        "contribution": ("Its change", "money"),
    }
    columns = {k: v for k, v in columns.items() if k in frame.columns}
    what = f"Days that broke the pattern ({len(frame)})"
    return Table(frame, columns, caption=_caption(what, source), name="anomalies")


def forecast_table(
    ahead: pd.DataFrame, source: pd.DataFrame | None = None, max_rows: int = 60
) -> Table:
    """:func:`~costtrend_nb.analysis.forecast`: the whole horizon, or a note of what is hidden."""
    columns = {
        "timestamp": ("Date", "date"),
        "yhat": ("Forecast", "money"),
        "lo_80": ("80 % low", "money"),
        "hi_80": ("80 % high", "money"),
        "lo_95": ("95 % low", "money"),
        "hi_95": ("95 % high", "money"),
    }
    n = len(ahead)
    what = f"Forecast, {n} bucket{'s' if n != 1 else ''}"
    if n:
        step = "hours" if _hourly(ahead["timestamp"]) else "days"
        what = (
            f"Forecast, {n} {step} ({format_date(ahead['timestamp'].iloc[0], step == 'hours')} on)"
        )
    note = f"Model: {ahead['model'].iloc[0]}" if n and "model" in ahead else ""
    return Table(
        ahead,
        columns,
        caption=_caption(what, source),
        note=note,
        name="forecast",
        max_rows=max_rows,
    )


def _step_word(source: pd.DataFrame | None) -> str:
    query = dict((getattr(source, "attrs", None) or {}).get("query") or {})
    return {"daily": "days", "hourly": "hours"}.get(str(query.get("granularity")), "buckets")


def backtest_table(scores: pd.DataFrame, source: pd.DataFrame | None = None) -> Table:
    """:func:`~costtrend_nb.analysis.backtest`: accuracy and interval coverage."""
    columns = {
        "folds": ("Folds", "count"),
        "horizon": (f"Horizon ({_step_word(source)})", "count"),
        "mape": ("MAPE", "share"),
        "mase": ("MASE", "number"),
        "naive_mase": ("Seasonal-naive MASE", "number"),
        "coverage_80": ("80 % coverage", "share"),
        "coverage_95": ("95 % coverage", "share"),
    }
    return Table(scores, columns, caption=_caption("Backtest", source), name="backtest")


def landing_table(landing: pd.DataFrame, source: pd.DataFrame | None = None) -> Table:
    """:func:`~costtrend_nb.analysis.month_end_landing`: to date, the rest, the landing."""
    columns = {
        "month": ("Month", "text"),
        "actual_to_date": ("Spent to date", "money"),
        "forecast_remaining": ("Forecast rest", "money"),
        "landing": ("Landing", "money"),
        "lo_80": ("80 % low", "money"),
        "hi_80": ("80 % high", "money"),
        "budget": ("Budget", "money"),
        "p_exceed_budget": ("P(over budget)", "share"),
    }
    return Table(
        landing, columns, caption=_caption("Where the month lands", source), name="landing"
    )


def rollup_table(
    tree: pd.DataFrame, what: str = "Department tree", source: pd.DataFrame | None = None
) -> Table:
    """:func:`~costtrend_nb.analysis.rollup`: own and subtree spend per department."""
    columns = {
        "path": ("Department", "text"),
        "own": ("Own", "money"),
        "subtree": ("With those below", "money"),
        "share": ("Share", "share"),
    }
    return Table(tree, columns, caption=_caption(what, source), name="departments")


def allocation_table(
    matrix: pd.DataFrame, what: str = "Chargeback", source: pd.DataFrame | None = None
) -> Table:
    """:func:`~costtrend_nb.analysis.allocation`: departments by model type, with totals."""
    first = matrix.columns[0]
    columns = {first: (str(first), "text")}
    columns.update({c: (str(c), "money") for c in matrix.columns[1:] if c != "Share"})
    if "Share" in matrix.columns:
        columns["Share"] = ("Share", "share")
    return Table(matrix, columns, caption=_caption(what, source), name="chargeback")


def price_step_table(steps: pd.DataFrame, source: pd.DataFrame | None = None) -> Table:
    """:func:`~costtrend_nb.analysis.price_changes`: the dates unit costs stepped."""
    columns = {
        "timestamp": ("Date", "date"),
        "model_type": ("Model type", "text"),
        "before": ("Before", "money"),
        "after": ("After", "money"),
        "pct_change": ("Change %", "pct"),
        "per": ("Per", "text"),
    }
    what = f"Lasting steps in unit cost ({len(steps)})"
    return Table(
        steps,
        columns,
        caption=_caption(what, source),
        name="price-steps",
        decimals={"before": 4, "after": 4},
    )
