"""Analyst-ready tables: human headers, units formatted per column, a caption naming the scope.

A :class:`Table` wraps the raw numbers of an analysis frame with, for each column shown, a
header and a kind (``money``, ``pct``, ``share``, ``count``, ``number``, ``date``, ``text``).
In a notebook it displays as a pandas ``Styler`` table with no index and a caption, and under
it a link that downloads the raw numbers as CSV (a ``data:`` URL: no server). Its text form is
the same table as plain text.

* Money: ``¥12,345.67``; changes ``-¥12.34``; rounded to the fen first, so never ``-¥0.00``.
* Percentages: ``+7.7 %`` for changes, ``55.5 %`` for shares; counts ``12,345``.
* Dates: ``2026-11-19`` for daily data, ``2026-11-19 14:00`` for hourly.
* :func:`top_rows` cuts a table to its largest rows and adds "Other (n types)" and "Total" rows,
  so that it adds up to the headline.

Example:
    >>> import pandas as pd
    >>> t = Table(pd.DataFrame({"model_type": ["Chat"], "current": [1234.5]}),
    ...           {"model_type": ("Model type", "text"), "current": ("Current", "money")},
    ...           caption="Spend")
    >>> print(t)
    Spend
    Model type   Current
          Chat ¥1,234.50
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

__all__ = [
    "Table",
    "allocation_table",
    "anomaly_table",
    "backtest_table",
    "breakdown_table",
    "change_table",
    "drivers_table",
    "forecast_table",
    "format_count",
    "format_date",
    "format_money",
    "format_number",
    "format_pct",
    "landing_table",
    "period_table",
    "price_step_table",
    "rollup_table",
    "scope_caption",
    "top_rows",
    "window_label",
]

MISSING = "–"
KINDS = ("money", "pct", "share", "count", "number", "date", "text")
Columns: TypeAlias = Mapping[str, tuple[str, str]]
Names: TypeAlias = Mapping[int, str] | pd.DataFrame | None
_NUMERIC = {"money", "pct", "share", "count", "number"}
_CSS = [
    {"selector": "", "props": "border-collapse: collapse; font-variant-numeric: tabular-nums;"},
    {"selector": "caption", "props": "caption-side: top; text-align: left; color: #444;"},
    {
        "selector": "th",
        "props": "text-align: right; padding: 2px 10px; border-bottom: 1px solid #999;",
    },
    {"selector": "td", "props": "text-align: right; padding: 2px 10px;"},
    {"selector": "th.col_heading.level0:first-child", "props": "text-align: left;"},
]


def _missing(value: Any) -> bool:
    try:
        return value is None or value is pd.NA or not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def format_money(value: Any, decimals: int = 2) -> str:
    """Yuan with a thousands separator, rounded first so a tiny negative is ``¥0.00``.

    Example:
        >>> format_money(12345.678), format_money(-0.004), format_money(-12.5), format_money(None)
        ('¥12,345.68', '¥0.00', '-¥12.50', '–')
    """
    if _missing(value):
        return MISSING
    rounded = round(float(value), decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    sign = "-" if rounded < 0 else ""
    return f"{sign}¥{abs(rounded):,.{decimals}f}"


def format_pct(value: Any, *, signed: bool = True, decimals: int = 1) -> str:
    """A fraction as a percentage: signed for changes (``+7.7 %``), unsigned for shares.

    Example:
        >>> format_pct(0.0774), format_pct(-0.0312), format_pct(-0.00001)
        ('+7.7 %', '-3.1 %', '0.0 %')
        >>> format_pct(0.555, signed=False)
        '55.5 %'
    """
    if _missing(value):
        return MISSING
    rounded = round(float(value) * 100, decimals) + 0.0
    if rounded == 0:
        return f"{0:.{decimals}f} %"
    return f"{rounded:{'+' if signed else ''},.{decimals}f} %"


def format_count(value: Any) -> str:
    """A whole count with thousands separators.

    Example:
        >>> format_count(1234567.0), format_count(-0.3), format_count(float("nan"))
        ('1,234,567', '0', '–')
    """
    if _missing(value):
        return MISSING
    return f"{round(float(value)) + 0:,}"


def format_number(value: Any, decimals: int = 2) -> str:
    """A plain number, rounded, with separators and no ``-0.00``.

    Example:
        >>> format_number(0.74459), format_number(-0.001)
        ('0.74', '0.00')
    """
    if _missing(value):
        return MISSING
    return f"{round(float(value), decimals) + 0.0:,.{decimals}f}"


def _hourly(values: pd.Series | pd.DatetimeIndex) -> bool:
    stamps = pd.DatetimeIndex(pd.Series(values).dropna())
    return bool(len(stamps)) and bool(((stamps.hour != 0) | (stamps.minute != 0)).any())


def format_date(value: Any, hourly: bool = False) -> str:
    """A bucket's start: the date alone for daily data, with the hour for hourly data.

    Example:
        >>> ts = pd.Timestamp("2026-11-19 14:00", tz="Asia/Shanghai")
        >>> format_date(ts.normalize()), format_date(ts, hourly=True)
        ('2026-11-19', '2026-11-19 14:00')
    """
    if value is None or value is pd.NaT or _missing_time(value):
        return MISSING
    ts = pd.Timestamp(value)
    return ts.strftime("%Y-%m-%d %H:%M" if hourly else "%Y-%m-%d")


def _missing_time(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def window_label(start: Any, end: Any) -> str:
    """A half-open window ``[start, end)`` as the days (or hours) it covers.

    Example:
        >>> window_label(pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-20"))
        '2026-11-01 – 2026-11-19'
        >>> window_label(pd.Timestamp("2026-11-20 00:00"), pd.Timestamp("2026-11-20 15:00"))
        '2026-11-20 00:00 – 14:00'
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if not _hourly(pd.Series([start, end])):
        last = end - pd.Timedelta(days=1)
        return (
            format_date(start) if last <= start else f"{format_date(start)} – {format_date(last)}"
        )
    last = end - pd.Timedelta(hours=1)
    tail = f"{last:%H:%M}" if last.normalize() == start.normalize() else format_date(last, True)
    return f"{format_date(start, True)} – {tail}"


def _names(names: Names) -> dict[int, str]:
    if names is None:
        return {}
    if isinstance(names, pd.DataFrame):
        return {int(i): str(n) for i, n in zip(names["id"], names["name"], strict=False)}
    return {int(k): str(v) for k, v in names.items()}


def _listed(items: Sequence[Any], limit: int = 4) -> str:
    words = [str(i) for i in items]
    more = len(words) - limit
    return ", ".join(words[:limit]) + (f" and {more} more" if more > 0 else "")


def scope_caption(source: pd.DataFrame | None, names: Names = None) -> str:
    """What the data behind a table covers: range, granularity, filters, demo (from ``attrs``).

    Example:
        >>> df = pd.DataFrame()
        >>> df.attrs = {"source": "demo", "query": {"start": "2026-11-01T00:00:00+08:00",
        ...     "end": "2026-11-20T00:00:00+08:00", "granularity": "daily",
        ...     "model_types": ["Chat", "TTS"], "client_ids": [10002]}}
        >>> for part in scope_caption(df, {10002: "Research & Development"}).split(" · "):
        ...     print(part)
        2026-11-01 – 2026-11-19
        daily
        model types Chat, TTS
        Research & Development
        demo data
    """
    attrs = getattr(source, "attrs", None) or {}
    query = dict(attrs.get("query") or {})
    parts = []
    if query.get("start") and query.get("end"):
        parts.append(window_label(query["start"], query["end"]))
    if query.get("granularity"):
        parts.append(str(query["granularity"]))
    if query.get("model_types"):
        types = list(query["model_types"])
        parts.append(f"model type{'s' if len(types) > 1 else ''} {_listed(types)}")
    if query.get("client_ids"):
        labels = _names(names)
        ids = [int(i) for i in query["client_ids"]]
        named = [labels.get(i, f"department {i}") for i in ids]
        parts.append(_listed(named))
    if query.get("member_user_ids"):
        parts.append(f"members {_listed(list(query['member_user_ids']))}")
    if query.get("api_key_id"):
        parts.append(f"API key {query['api_key_id']}")
    if attrs.get("source") == "demo":
        parts.append("demo data")
    return " · ".join(parts)


def _ratio(num: float, den: float) -> float:
    return num / den if den else float("nan")


def top_rows(
    frame: pd.DataFrame,
    label: str,
    value: str,
    top: int = 8,
    *,
    noun: tuple[str, str] = ("type", "types"),
    ratios: Mapping[str, tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """The ``top`` rows by ``abs(value)``, then "Other (n types)" and "Total" rows.

    Numeric columns are summed into Other and Total; ``ratios`` names columns recomputed there
    as one sum over another (e.g. ``{"pct_change": ("delta", "previous")}``). The rest fold only
    when two or more rows would; Total is the sum of every row, so the table adds up.

    Example:
        >>> f = pd.DataFrame({"t": list("abcd"), "v": [5.0, -7.0, 1.0, 2.0]})
        >>> top_rows(f, "t", "v", top=2)["t"].tolist()
        ['b', 'a', 'Other (2 types)', 'Total']
        >>> top_rows(f, "t", "v", top=2)["v"].tolist()
        [-7.0, 5.0, 3.0, 1.0]
    """
    ratios = dict(ratios or {})
    ordered = frame.iloc[np.argsort(-frame[value].abs().to_numpy(), kind="stable")].copy()
    ordered[label] = ordered[label].astype(object)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in numeric if not pd.api.types.is_bool_dtype(frame[c])]

    def summary(rows: pd.DataFrame, name: str) -> dict[str, Any]:
        row: dict[str, Any] = {c: None for c in frame.columns}
        row.update({c: float(rows[c].sum()) for c in numeric})
        row.update({c: _ratio(row[n], row[d]) for c, (n, d) in ratios.items()})
        row[label] = name
        return row

    kept, rest = (
        (ordered, ordered.iloc[:0])
        if len(ordered) <= top + 1
        else (
            ordered.iloc[:top],
            ordered.iloc[top:],
        )
    )
    extra = []
    if len(rest):
        extra.append(summary(rest, f"Other ({len(rest)} {noun[1]})"))
    extra.append(summary(ordered, "Total"))
    out = pd.concat([kept, pd.DataFrame(extra, columns=frame.columns)], ignore_index=True)
    return out


# -- the display object --------------------------------------------------------------------


def _formatter(kind: str, hourly: bool, decimals: int | None) -> Any:
    if kind == "money":
        return lambda v: format_money(v, 2 if decimals is None else decimals)
    if kind in ("pct", "share"):
        return lambda v: format_pct(
            v, signed=kind == "pct", decimals=1 if decimals is None else decimals
        )
    if kind == "count":
        return format_count
    if kind == "number":
        return lambda v: format_number(v, 2 if decimals is None else decimals)
    if kind == "date":
        return lambda v: format_date(v, hourly)
    return lambda v: MISSING if v is None or _missing_time(v) else str(v)


def _csv_value(value: Any, kind: str, hourly: bool) -> Any:
    if kind == "date":
        return "" if _missing_time(value) else format_date(value, hourly)
    if kind in _NUMERIC:
        return "" if _missing(value) else float(value)
    return "" if value is None or _missing_time(value) else str(value)


class Table:
    """A table for people: headers, formats per column, a caption, no index, a CSV download.

    Args:
        data: the raw numbers, one row per table row.
        columns: ``{column: (header, kind)}`` in display order; kinds are ``money``, ``pct``
            (signed change), ``share``, ``count``, ``number``, ``date`` or ``text``.
        caption: what the table shows and its scope (see :func:`scope_caption`).
        note: a line under the table (what is hidden, how it was computed).
        name: the CSV file's name, without ``.csv``.
        decimals: ``{column: decimals}`` where the default (2 for money) does not suit.
        max_rows: rows shown before the rest are left to the CSV (the note says so).
    """

    def __init__(
        self,
        data: pd.DataFrame,
        columns: Columns,
        *,
        caption: str = "",
        note: str = "",
        name: str | None = None,
        decimals: Mapping[str, int] | None = None,
        max_rows: int | None = None,
    ) -> None:
        bad = {c: k for c, (_, k) in columns.items() if k not in KINDS}
        missing = [c for c in columns if c not in data.columns]
        if bad or missing:
            raise ValueError(f"unknown kinds {bad} or columns {missing}; kinds are {KINDS}")
        self.data = data.reset_index(drop=True)
        self.columns = dict(columns)
        self.caption = caption
        self.note = note
        self.name = name or (re.sub(r"[^a-z0-9]+", "-", caption.lower()).strip("-")[:40] or "table")
        self.decimals = dict(decimals or {})
        dates = [c for c, (_, k) in columns.items() if k == "date"]
        self.hourly = any(_hourly(self.data[c]) for c in dates)
        self.max_rows = max_rows
        if max_rows is not None and len(self.data) > max_rows:
            hidden = f"first {max_rows} of {len(self.data)} rows shown; the CSV has all"
            self.note = f"{self.note} ({hidden})" if self.note else hidden.capitalize() + "."

    @property
    def headers(self) -> list[str]:
        return [header for header, _ in self.columns.values()]

    def formatted(self) -> pd.DataFrame:
        """The rows shown, as the strings a reader sees, under their headers."""
        shown = self.data if self.max_rows is None else self.data.head(self.max_rows)
        out = {}
        for column, (header, kind) in self.columns.items():
            fmt = _formatter(kind, self.hourly, self.decimals.get(column))
            out[header] = [fmt(v) for v in shown[column].tolist()]
        return pd.DataFrame(out)

    def raw(self) -> pd.DataFrame:
        """Every row's raw numbers under the human headers (what the CSV holds)."""
        return pd.DataFrame(
            {
                header: [_csv_value(v, kind, self.hourly) for v in self.data[column].tolist()]
                for column, (header, kind) in self.columns.items()
            }
        )

    def to_csv(self) -> str:
        """The CSV download's text: raw numbers, human headers, every row."""
        return self.raw().to_csv(index=False, float_format="%.10g", lineterminator="\n")

    def csv_href(self) -> str:
        """The CSV as a ``data:`` URL (base64), to download without a server."""
        encoded = base64.b64encode(self.to_csv().encode("utf-8")).decode("ascii")
        return f"data:text/csv;charset=utf-8;base64,{encoded}"

    def styler(self) -> Any:
        """The table as a pandas ``Styler``: hidden index, caption, Other and Total rows set off."""
        shown = self.formatted()
        uid = hashlib.sha256(self.to_csv().encode() + self.caption.encode()).hexdigest()[:10]
        labels = shown.iloc[:, 0].astype(str) if len(shown.columns) else pd.Series(dtype=str)

        def row_style(row: pd.Series) -> list[str]:
            first = str(labels.iloc[row.name]) if len(labels) else ""
            if first == "Total":
                return ["font-weight: bold; border-top: 1px solid #999;"] * len(row)
            if first.startswith("Other ("):
                return ["color: #555; font-style: italic;"] * len(row)
            return [""] * len(row)

        styler = shown.style.hide(axis="index").set_uuid(uid).set_table_styles(_CSS)
        styler = styler.apply(row_style, axis=1).set_table_attributes('class="ct-table"')
        first = shown.columns[:1]
        texts = [h for h, k in self.columns.values() if k in ("text",)]
        styler = styler.set_properties(
            subset=list(dict.fromkeys([*first, *texts])), **{"text-align": "left"}
        )
        if self.caption:
            styler = styler.set_caption(html.escape(self.caption))
        return styler

    def _repr_html_(self) -> str:
        note = f'<span class="ct-table-note">{html.escape(self.note)}</span> ' if self.note else ""
        link = (
            f'<a class="ct-table-csv" download="{self.name}.csv" href="{self.csv_href()}">'
            "Download CSV</a>"
        )
        return (
            f'<div class="ct-table-wrap">{self.styler().to_html()}'
            f'<p class="ct-table-foot" style="font-size: 85%; color: #555; margin-top: 2px;">'
            f"{note}{link}</p></div>"
        )

    def __str__(self) -> str:
        body = self.formatted().to_string(index=False) if len(self.data) else "(no rows)"
        lines = [self.caption] if self.caption else []
        lines.append(body)
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


# -- tables for the analysis results --------------------------------------------------------


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
