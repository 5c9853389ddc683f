"""The :class:`Table` display object and :func:`top_rows`, which adds "Other" and "Total"."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from ..lang import check_lang, t
from ._format import (
    MISSING,
    _hourly,
    _missing,
    _missing_time,
    _ratio,
    format_count,
    format_date,
    format_money,
    format_number,
    format_pct,
)

KINDS = ("money", "pct", "share", "count", "number", "date", "text")
Columns: TypeAlias = Mapping[str, tuple[str, str]]
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


def top_rows(
    frame: pd.DataFrame,
    label: str,
    value: str,
    top: int = 8,
    *,
    noun: tuple[str, str] = ("type", "types"),
    ratios: Mapping[str, tuple[str, str]] | None = None,
    lang: str | None = "en",
) -> pd.DataFrame:
    """The ``top`` rows by ``abs(value)``, then "Other (n types)" and "Total" rows (in
    ``lang``: "其他（2 个类型）", "合计").

    Numeric columns are summed into Other and Total; ``ratios`` names columns recomputed there
    as one sum over another (e.g. ``{"pct_change": ("delta", "previous")}``). The rest fold only
    when two or more rows would; Total is the sum of every row, so the table adds up.

    Example:
        >>> f = pd.DataFrame({"t": list("abcd"), "v": [5.0, -7.0, 1.0, 2.0]})
        >>> top_rows(f, "t", "v", top=2)["t"].tolist()
        ['b', 'a', 'Other (2 types)', 'Total']
        >>> top_rows(f, "t", "v", top=2)["v"].tolist()
        [-7.0, 5.0, 3.0, 1.0]
        >>> top_rows(f, "t", "v", top=2, lang="zh")["t"].tolist()[2:]
        ['其他（2 个类型）', '合计']
    """
    lang = check_lang(lang)
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
        other = t("Other ({n} {noun})", lang, n=len(rest), noun=t(noun[1], lang))
        extra.append(summary(rest, other))
    extra.append(summary(ordered, t("Total", lang)))
    out = pd.concat([kept, pd.DataFrame(extra, columns=frame.columns)], ignore_index=True)
    return out


# -- the display object --------------------------------------------------------------------


def _formatter(kind: str, hourly: bool, decimals: int | None, lang: str = "en") -> Any:
    if kind == "money":
        return lambda v: format_money(v, 2 if decimals is None else decimals)
    if kind in ("pct", "share"):
        return lambda v: format_pct(
            v, signed=kind == "pct", decimals=1 if decimals is None else decimals, lang=lang
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
        lang: the language of the table's own words (percent signs, the Total row's emphasis,
            the CSV link, the note on hidden rows); headers and caption come as given.
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
        lang: str | None = "en",
    ) -> None:
        self.lang = check_lang(lang)
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
            hidden = t(
                "first {shown} of {rows} rows shown; the CSV has all",
                self.lang,
                shown=max_rows,
                rows=len(self.data),
            )
            if self.lang == "zh":
                self.note = f"{self.note}（{hidden}）" if self.note else hidden + "。"
            else:
                self.note = f"{self.note} ({hidden})" if self.note else hidden.capitalize() + "."

    @property
    def headers(self) -> list[str]:
        return [header for header, _ in self.columns.values()]

    def formatted(self) -> pd.DataFrame:
        """The rows shown, as the strings a reader sees, under their headers."""
        shown = self.data if self.max_rows is None else self.data.head(self.max_rows)
        out = {}
        for column, (header, kind) in self.columns.items():
            fmt = _formatter(kind, self.hourly, self.decimals.get(column), self.lang)
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
        total = t("Total", self.lang)
        other = t("Other", self.lang) + ("（" if self.lang == "zh" else " (")  # "Other (3 types)"

        def row_style(row: pd.Series) -> list[str]:
            first = str(labels.iloc[row.name]) if len(labels) else ""
            if first == total:
                return ["font-weight: bold; border-top: 1px solid #999;"] * len(row)
            if first.startswith(other):
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
            f"{t('Download CSV', self.lang)}</a>"
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
