"""Formatting one value or one window as a reader sees it, and the scope caption of a table."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import pandas as pd

from ..lang import check_lang, percent_sign, t

MISSING = "–"
Names: TypeAlias = Mapping[int, str] | pd.DataFrame | None


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


def format_pct(
    value: Any, *, signed: bool = True, decimals: int = 1, lang: str | None = "en"
) -> str:
    """A fraction as a percentage: signed for changes (``+7.7 %``), unsigned for shares;
    ``+7.7%`` in Chinese (``lang="zh"``).

    Example:
        >>> format_pct(0.0774), format_pct(-0.0312), format_pct(-0.00001)
        ('+7.7 %', '-3.1 %', '0.0 %')
        >>> format_pct(0.555, signed=False), format_pct(0.0774, lang="zh")
        ('55.5 %', '+7.7%')
    """
    if _missing(value):
        return MISSING
    sign = percent_sign(lang)
    rounded = round(float(value) * 100, decimals) + 0.0
    if rounded == 0:
        return f"{0:.{decimals}f}{sign}"
    return f"{rounded:{'+' if signed else ''},.{decimals}f}{sign}"


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


def window_label(start: Any, end: Any, lang: str | None = "en") -> str:
    """A half-open window ``[start, end)`` as the days (or hours) it covers.

    Example:
        >>> window_label(pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-20"))
        '2026-11-01 – 2026-11-19'
        >>> window_label(pd.Timestamp("2026-11-20 00:00"), pd.Timestamp("2026-11-20 15:00"))
        '2026-11-20 00:00 – 14:00'
        >>> window_label(pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-20"), "zh")
        '2026-11-01 至 2026-11-19'
    """
    sep = " 至 " if check_lang(lang) == "zh" else " – "
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if not _hourly(pd.Series([start, end])):
        last = end - pd.Timedelta(days=1)
        return (
            format_date(start) if last <= start else f"{format_date(start)}{sep}{format_date(last)}"
        )
    last = end - pd.Timedelta(hours=1)
    tail = f"{last:%H:%M}" if last.normalize() == start.normalize() else format_date(last, True)
    return f"{format_date(start, True)}{sep}{tail}"


def _names(names: Names) -> dict[int, str]:
    if names is None:
        return {}
    if isinstance(names, pd.DataFrame):
        return {int(i): str(n) for i, n in zip(names["id"], names["name"], strict=False)}
    return {int(k): str(v) for k, v in names.items()}


def _listed(items: Sequence[Any], limit: int = 4, lang: str = "en") -> str:
    words = [str(i) for i in items]
    more = len(words) - limit
    shown = ("、" if lang == "zh" else ", ").join(words[:limit])
    return t("{items} and {more} more", lang, items=shown, more=more) if more > 0 else shown


def scope_caption(source: pd.DataFrame | None, names: Names = None, lang: str | None = "en") -> str:
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
        >>> scope_caption(df, {10002: "Research & Development"}, "zh").split(" · ")[:3]
        ['2026-11-01 至 2026-11-19', '按天', '模型类型 Chat、TTS']
    """
    lang = check_lang(lang)
    attrs = getattr(source, "attrs", None) or {}
    query = dict(attrs.get("query") or {})
    parts = []
    if query.get("start") and query.get("end"):
        parts.append(window_label(query["start"], query["end"], lang))
    if query.get("granularity"):
        parts.append(t(str(query["granularity"]), lang))
    if query.get("model_types"):
        types = list(query["model_types"])
        term = "model types {types}" if len(types) > 1 else "model type {types}"
        parts.append(t(term, lang, types=_listed(types, lang=lang)))
    if query.get("client_ids"):
        labels = _names(names)
        ids = [int(i) for i in query["client_ids"]]
        named = [labels.get(i, t("department {id}", lang, id=i)) for i in ids]
        parts.append(_listed(named, lang=lang))
    if query.get("member_user_ids"):
        members = _listed(list(query["member_user_ids"]), lang=lang)
        parts.append(t("members {ids}", lang, ids=members))
    if query.get("api_key_id"):
        parts.append(t("API key {id}", lang, id=query["api_key_id"]))
    if attrs.get("source") == "demo":
        parts.append(t("demo data", lang))
    return " · ".join(parts)


def _ratio(num: float, den: float) -> float:
    return num / den if den else float("nan")
