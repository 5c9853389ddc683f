"""One table builder per analysis result: periods, drivers, breakdowns, forecasts, showback."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..lang import check_lang, t
from ._format import Names, _hourly, _names, _ratio, format_date, scope_caption, window_label
from ._table import Columns, Table, top_rows


def _caption(what: str, source: pd.DataFrame | None, names: Names = None, lang: str = "en") -> str:
    scope = scope_caption(source, names, lang)
    return f"{what} · {scope}" if scope else what


def _group_header(by: str) -> str:
    return {"model_type": "Model type", "client_id": "Department"}.get(by, by)


def _headers(columns: Columns, lang: str) -> dict[str, tuple[str, str]]:
    """``columns`` with each header in ``lang``."""
    return {c: (t(header, lang), kind) for c, (header, kind) in columns.items()}


def _named(frame: pd.DataFrame, by: str, names: Names, lang: str = "en") -> pd.DataFrame:
    if by != "client_id":
        return frame
    labels = _names(names)
    out = frame.copy()
    out[by] = [
        labels.get(int(v), t("department {id}", lang, id=v))
        if isinstance(v, (int, np.integer))
        else v
        for v in out[by].astype(object)
    ]
    return out


def period_table(
    compared: pd.DataFrame, source: pd.DataFrame | None = None, *, lang: str = "en"
) -> Table:
    """:func:`~costtrend_nb.analysis.compare_periods` (no ``by``): one row per period.

    ``lang="zh"`` gives headers, captions and totals in Chinese (as every builder here).

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> from costtrend_nb.analysis import compare_periods
        >>> df = CostTrendClient.demo().fetch("2026-10-01", "2026-11-20", granularity="daily")
        >>> period_table(compare_periods(df, "total_amount", "month"), df).formatted().iloc[0, -1]
        '+7.7 %'
        >>> period_table(compare_periods(df, "total_amount", "month"), df, lang="zh").headers[-1]
        '变化率'
    """
    lang = check_lang(lang)
    frame = compared.copy()
    frame["current_window"] = [
        window_label(s, e, lang)
        for s, e in zip(frame["current_start"], frame["current_end"], strict=True)
    ]
    frame["previous_window"] = [
        window_label(s, e, lang)
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
    return Table(
        frame,
        _headers(columns, lang),
        caption=_caption(t("Spend, like for like", lang), source, lang=lang),
        name="periods",
        lang=lang,
    )


def change_table(
    compared: pd.DataFrame,
    by: str = "model_type",
    *,
    top: int = 8,
    source: pd.DataFrame | None = None,
    names: Names = None,
    lang: str = "en",
) -> Table:
    """:func:`~costtrend_nb.analysis.compare_periods` by a group: top rows, Other and Total."""
    lang = check_lang(lang)
    noun = ("type", "types") if by == "model_type" else ("department", "departments")
    frame = top_rows(
        _named(compared, by, names, lang),
        by,
        "delta",
        top,
        noun=noun,
        ratios={"pct_change": ("delta", "previous")},
        lang=lang,
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
        window = t(
            "{current} against {previous}",
            lang,
            current=window_label(row["current_start"], row["current_end"], lang),
            previous=window_label(row["previous_start"], row["previous_end"], lang),
        )
        window = window if lang == "zh" else f" {window}"
    group = t(_group_header(by), lang)
    what = t("Change by {group},{window}", lang, group=group.lower(), window=window)
    return Table(
        frame,
        _headers(columns, lang),
        caption=_caption(what, source, names, lang),
        name=f"change-by-{by}",
        lang=lang,
    )


def drivers_table(
    drivers: pd.DataFrame,
    by: str = "model_type",
    *,
    top: int = 8,
    source: pd.DataFrame | None = None,
    names: Names = None,
    lang: str = "en",
) -> Table:
    """:func:`~costtrend_nb.analysis.explain_change`: volume and unit-cost effects, with Total."""
    lang = check_lang(lang)
    noun = ("type", "types") if by == "model_type" else ("department", "departments")
    frame = top_rows(_named(drivers, by, names, lang), by, "change", top, noun=noun, lang=lang)
    columns = {
        by: (_group_header(by), "text"),
        "previous_cost": ("Previous", "money"),
        "current_cost": ("Current", "money"),
        "change": ("Change", "money"),
        "volume_effect": ("Volume effect", "money"),
        "unit_cost_effect": ("Unit-cost effect", "money"),
        "share_of_change": ("Share of change", "pct"),
    }
    what = t("What drove the change (volume and unit-cost effects, LMDI-I)", lang)
    return Table(
        frame,
        _headers(columns, lang),
        caption=_caption(what, source, names, lang),
        name=f"drivers-by-{by}",
        lang=lang,
    )


def breakdown_table(
    parts: pd.DataFrame,
    by: str = "model_type",
    *,
    source: pd.DataFrame | None = None,
    names: Names = None,
    lang: str = "en",
) -> Table:
    """:func:`~costtrend_nb.analysis.breakdown`: its Other row counted, and a Total row."""
    lang = check_lang(lang)
    noun = t("types" if by == "model_type" else "departments", lang)
    frame = _named(parts, by, names, lang).copy()
    frame[by] = frame[by].astype(object)
    if "groups" in frame:
        other = frame[by] == "Other"
        frame.loc[other, by] = [
            t("Other ({n} {noun})", lang, n=int(n), noun=noun) for n in frame.loc[other, "groups"]
        ]
    total: dict[str, Any] = {c: None for c in frame.columns}
    for c in ("current", "share", "previous", "delta"):
        total[c] = float(frame[c].sum())
    total["pct_change"] = _ratio(total["delta"], total["previous"])
    total[by] = t("Total", lang)
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
        window = ("，" if lang == "zh" else ", ") + window_label(
            row["current_start"], row["current_end"], lang
        )
    group = t(_group_header(by), lang).lower()
    what = t(
        "Spend by {group}{window}; change against the same days before",
        lang,
        group=group,
        window=window,
    )
    return Table(
        frame,
        _headers(columns, lang),
        caption=_caption(what, source, names, lang),
        name=f"breakdown-by-{by}",
        lang=lang,
    )


def anomaly_table(
    found: pd.DataFrame, source: pd.DataFrame | None = None, *, lang: str = "en"
) -> Table:
    """The flagged rows of :func:`~costtrend_nb.analysis.detect_anomalies`."""
    lang = check_lang(lang)
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
    what = t("Days that broke the pattern ({n})", lang, n=len(frame))
    return Table(
        frame,
        _headers(columns, lang),
        caption=_caption(what, source, lang=lang),
        name="anomalies",
        lang=lang,
    )


def forecast_table(
    ahead: pd.DataFrame,
    source: pd.DataFrame | None = None,
    max_rows: int = 60,
    *,
    lang: str = "en",
) -> Table:
    """:func:`~costtrend_nb.analysis.forecast`: the whole horizon, or a note of what is hidden."""
    lang = check_lang(lang)
    columns = {
        "timestamp": ("Date", "date"),
        "yhat": ("Forecast", "money"),
        "lo_80": ("80 % low", "money"),
        "hi_80": ("80 % high", "money"),
        "lo_95": ("95 % low", "money"),
        "hi_95": ("95 % high", "money"),
    }
    n = len(ahead)
    what = t("Forecast, {n} {step}", lang, n=n, step=t("buckets" if n != 1 else "bucket", lang))
    if n:
        step = "hours" if _hourly(ahead["timestamp"]) else "days"
        day = format_date(ahead["timestamp"].iloc[0], step == "hours")
        what = t("Forecast, {n} {step} ({day} on)", lang, n=n, step=t(step, lang), day=day)
    note = t("Model: {model}", lang, model=ahead["model"].iloc[0]) if n and "model" in ahead else ""
    return Table(
        ahead,
        _headers(columns, lang),
        caption=_caption(what, source, lang=lang),
        note=note,
        name="forecast",
        max_rows=max_rows,
        lang=lang,
    )


def _step_word(source: pd.DataFrame | None) -> str:
    query = dict((getattr(source, "attrs", None) or {}).get("query") or {})
    return {"daily": "days", "hourly": "hours"}.get(str(query.get("granularity")), "buckets")


def backtest_table(
    scores: pd.DataFrame, source: pd.DataFrame | None = None, *, lang: str = "en"
) -> Table:
    """:func:`~costtrend_nb.analysis.backtest`: accuracy and interval coverage."""
    lang = check_lang(lang)
    columns = {
        "folds": ("Folds", "count"),
        "horizon": (t("Horizon ({step})", lang, step=t(_step_word(source), lang)), "count"),
        "mape": ("MAPE", "share"),
        "mase": ("MASE", "number"),
        "naive_mase": ("Seasonal-naive MASE", "number"),
        "coverage_80": ("80 % coverage", "share"),
        "coverage_95": ("95 % coverage", "share"),
    }
    return Table(
        scores,
        _headers(columns, lang),
        caption=_caption(t("Backtest", lang), source, lang=lang),
        name="backtest",
        lang=lang,
    )


def landing_table(
    landing: pd.DataFrame, source: pd.DataFrame | None = None, *, lang: str = "en"
) -> Table:
    """:func:`~costtrend_nb.analysis.month_end_landing`: to date, the rest, the landing."""
    lang = check_lang(lang)
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
        landing,
        _headers(columns, lang),
        caption=_caption(t("Where the month lands", lang), source, lang=lang),
        name="landing",
        lang=lang,
    )


def rollup_table(
    tree: pd.DataFrame,
    what: str = "Department tree",
    source: pd.DataFrame | None = None,
    *,
    lang: str = "en",
) -> Table:
    """:func:`~costtrend_nb.analysis.rollup`: own and subtree spend per department."""
    lang = check_lang(lang)
    columns = {
        "path": ("Department", "text"),
        "own": ("Own", "money"),
        "subtree": ("With those below", "money"),
        "share": ("Share", "share"),
    }
    return Table(
        tree,
        _headers(columns, lang),
        caption=_caption(t(what, lang), source, lang=lang),
        name="departments",
        lang=lang,
    )


def allocation_table(
    matrix: pd.DataFrame,
    what: str = "Chargeback",
    source: pd.DataFrame | None = None,
    *,
    lang: str = "en",
) -> Table:
    """:func:`~costtrend_nb.analysis.allocation`: departments by model type, with totals."""
    lang = check_lang(lang)
    first = matrix.columns[0]
    columns = {first: (str(first), "text")}
    columns.update({c: (str(c), "money") for c in matrix.columns[1:] if c != "Share"})
    if "Share" in matrix.columns:
        columns["Share"] = ("Share", "share")
    columns = {
        c: (t(h, lang) if h in (first, "Total", "Share") else h, k) for c, (h, k) in columns.items()
    }
    if lang != "en":  # the Total row (and any Other row) in the reader's words
        matrix = matrix.copy()
        matrix[first] = [t(v, lang) if v in ("Total", "Other") else v for v in matrix[first]]
    return Table(
        matrix,
        columns,
        caption=_caption(t(what, lang), source, lang=lang),
        name="chargeback",
        lang=lang,
    )


def price_step_table(
    steps: pd.DataFrame, source: pd.DataFrame | None = None, *, lang: str = "en"
) -> Table:
    """:func:`~costtrend_nb.analysis.price_changes`: the dates unit costs stepped."""
    lang = check_lang(lang)
    if lang != "en" and "per" in steps:  # units: "1M tokens" -> "百万 Token"
        steps = steps.assign(per=[t(str(p), lang) for p in steps["per"]])
    columns = {
        "timestamp": ("Date", "date"),
        "model_type": ("Model type", "text"),
        "before": ("Before", "money"),
        "after": ("After", "money"),
        "pct_change": ("Change %", "pct"),
        "per": ("Per", "text"),
    }
    what = t("Lasting steps in unit cost ({n})", lang, n=len(steps))
    return Table(
        steps,
        _headers(columns, lang),
        caption=_caption(what, source, lang=lang),
        name="price-steps",
        decimals={"before": 4, "after": 4},
        lang=lang,
    )
