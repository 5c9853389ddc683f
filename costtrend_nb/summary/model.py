"""The summary's parts (changes, landing, drivers, anomalies, departments) and its renderings:
JSON, Markdown and text."""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._version import __version__
from ..lang import check_lang, format_month
from ..tables import format_money, format_pct

if TYPE_CHECKING:
    from .conditions import Condition


#: The conditions ``Summary.alerts`` (and ``costtrend-nb summary --fail-on``) understand.
CONDITIONS: dict[str, str] = {
    "over-budget": "the month's landing is above the budget, P(over budget) is 50 % or more, or "
    "the month to date already is above it (needs a budget)",
    "anomaly": "a day that broke the pattern in the summary's range; anomaly:N looks at the "
    "last N complete days only",
    "spend-up": "spend month to date is up more than 20 % like for like; spend-up:N sets the "
    "threshold to N %",
    "week-up": "the last complete week is up more than 20 % on the week before; week-up:N sets "
    "the threshold to N %",
}
DEFAULT_UP_PCT = 20.0
TOP_DRIVERS = 3
TOP_DEPARTMENTS = 5


# -- the model ----------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _ts(value: Any) -> pd.Timestamp | None:
    if value is None or value is pd.NaT:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    return None if stamp is pd.NaT else stamp


def _iso(value: Any) -> str | None:
    stamp = _ts(value)
    return None if stamp is None else stamp.isoformat()


def _money(value: Any, decimals: int = 2) -> str:
    return format_money(value, decimals)


def _pct(value: Any, lang: str = "en", *, signed: bool = True) -> str:
    text = format_pct(value, signed=signed)
    return text.replace(" %", "%") if lang == "zh" else text


def span_text(start: Any, end: Any, lang: str = "en") -> str:
    """The days of a half-open window ``[start, end)``: ``1 – 18 Nov 2026``.

    Example:
        >>> span_text("2026-11-01", "2026-11-19"), span_text("2026-10-26", "2026-11-02")
        ('1 – 18 Nov 2026', '26 Oct – 1 Nov 2026')
        >>> span_text("2026-12-28", "2027-01-04"), span_text("2026-11-19", "2026-11-20")
        ('28 Dec 2026 – 3 Jan 2027', '19 Nov 2026')
        >>> span_text("2026-11-01", "2026-11-19", "zh")
        '2026-11-01 至 2026-11-18'
    """
    first, stop = _ts(start), _ts(end)
    if first is None or stop is None:
        return "–"
    last = stop - pd.Timedelta(days=1) if stop == stop.normalize() else stop
    last = max(last, first)
    if lang == "zh":
        one = f"{first:%Y-%m-%d}"
        return one if last.date() == first.date() else f"{one} 至 {last:%Y-%m-%d}"
    if last.date() == first.date():
        return f"{first.day} {first:%b %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day} – {last.day} {last:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"


@dataclass(frozen=True)
class Change:
    """One window against the one before: spend in each (CNY, complete buckets only)."""

    label: str
    current: float | None
    previous: float | None
    current_start: pd.Timestamp | None
    current_end: pd.Timestamp | None
    previous_start: pd.Timestamp | None
    previous_end: pd.Timestamp | None
    running: bool = False

    @property
    def delta(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def pct_change(self) -> float | None:
        """The change as a fraction of ``previous``; None when there was nothing before."""
        delta = self.delta
        if delta is None or not self.previous:
            return None
        return delta / self.previous

    @property
    def current_text(self) -> str:
        return _money(self.current)

    @property
    def change_text(self) -> str:
        return _pct(self.pct_change) if self.pct_change is not None else "n/a"

    def span(self, lang: str = "en") -> str:
        return span_text(self.current_start, self.current_end, lang)

    def previous_span(self, lang: str = "en") -> str:
        return span_text(self.previous_start, self.previous_end, lang)


@dataclass(frozen=True)
class Landing:
    """Where the month will land: to date plus the forecast rest (medians), its 80 % interval."""

    month: str
    to_date: float | None
    rest: float | None
    landing: float | None
    lo_80: float | None
    hi_80: float | None
    budget: float | None = None
    p_over_budget: float | None = None
    model: str = ""


@dataclass(frozen=True)
class Driver:
    """One model type's share of the month's change, split into volume and unit-cost effects."""

    name: str
    change: float | None
    volume_effect: float | None
    unit_cost_effect: float | None
    share_of_change: float | None


@dataclass(frozen=True)
class Anomaly:
    """A day that broke the pattern, what was expected and the group that moved most."""

    date: pd.Timestamp
    spend: float | None
    expected: float | None
    contributor: str | None = None


@dataclass(frozen=True)
class Department:
    """A department's spend this month to date, its share and its like-for-like change."""

    id: int
    name: str
    spend: float | None
    share: float | None
    pct_change: float | None


_PARTS = {"month": Change, "week": Change, "landing": Landing}
_LISTS = {"drivers": Driver, "anomalies": Anomaly, "departments": Department}


@dataclass(frozen=True)
class Summary:
    """The numbers of the index page and of ``costtrend-nb summary``.

    A part that could not be computed is None (or empty) and ``notes`` says why.
    """

    start: pd.Timestamp | None
    end: pd.Timestamp | None
    as_of: pd.Timestamp | None
    generated_at: pd.Timestamp
    tz: str = "Asia/Shanghai"
    month: Change | None = None
    week: Change | None = None
    landing: Landing | None = None
    drivers: tuple[Driver, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()
    departments: tuple[Department, ...] = ()
    running: float | None = None
    demo: bool = False
    filters: Mapping[str, Any] = field(default_factory=dict)
    currency: str = "CNY"
    version: str = __version__
    lang: str = "en"
    notes: tuple[str, ...] = ()

    # -- machine forms --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: ISO times, None for what is unknown (no NaN); derived figures too.

        Example:
            >>> import json
            >>> s = Summary(None, None, None, pd.Timestamp("2026-11-20T06:30Z"), demo=True)
            >>> json.loads(json.dumps(s.to_dict()))["generated_at"]
            '2026-11-20T06:30:00+00:00'
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _PARTS:
                out[f.name] = None if value is None else _plain(value)
                if isinstance(value, Change):
                    out[f.name]["delta"] = value.delta
                    out[f.name]["pct_change"] = value.pct_change
            elif f.name in _LISTS:
                out[f.name] = [_plain(item) for item in value]
            elif f.name in ("start", "end", "as_of", "generated_at"):
                out[f.name] = _iso(value)
            elif f.name == "filters":
                out[f.name] = {k: _json_value(v) for k, v in dict(value).items()}
            elif f.name == "notes":
                out[f.name] = list(value)
            elif f.name == "running":
                out[f.name] = _num(value)
            else:
                out[f.name] = value
        out["generated_at_utc"] = _iso(_utc(self.generated_at))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        """The summary back from :meth:`to_dict` (derived figures are recomputed)."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name in _PARTS and value is not None:
                kind = _PARTS[f.name]
                kwargs[f.name] = _build(kind, value)
            elif f.name in _LISTS:
                kwargs[f.name] = tuple(_build(_LISTS[f.name], item) for item in value or ())
            elif f.name in ("start", "end", "as_of", "generated_at"):
                kwargs[f.name] = _ts(value)
            elif f.name == "notes":
                kwargs[f.name] = tuple(value or ())
            else:
                kwargs[f.name] = value
        return cls(**kwargs)

    # -- reader forms ---------------------------------------------------------------------------

    def headline(self, lang: str | None = None) -> list[tuple[str, str, str]]:
        """The headline as (label, value, detail) rows, for every rendering."""
        lang = check_lang(lang or self.lang)
        zh = lang == "zh"
        rows: list[tuple[str, str, str]] = []
        m = self.month
        if m is not None:
            label = "本月截至目前" if zh else "Month to date"
            if not m.running:
                month = format_month(m.current_start, lang)
                label = f"{month} 全月" if zh else f"{month} (whole month)"
            detail = (
                f"{m.change_text} 同口径（{m.span(lang)} 对比 {m.previous_span(lang)}）"
                if zh
                else f"{m.change_text} like for like ({m.span()} against {m.previous_span()})"
            )
            rows.append((label, m.current_text, _pct_lang(detail, lang)))
        w = self.week
        if w is not None:
            label = "上一完整周" if zh else "Last complete week"
            detail = (
                f"{w.change_text} 对比前一周（{w.span(lang)} 对比 {w.previous_span(lang)}）"
                if zh
                else f"{w.change_text} on the week before ({w.span()} against {w.previous_span()})"
            )
            rows.append((label, w.current_text, _pct_lang(detail, lang)))
        land = self.landing
        if land is not None:
            label = ("预计月末消费" if zh else "Month-end landing") + f" ({land.month})"
            detail = (
                f"80 % 区间 {_money(land.lo_80, 0)} 至 {_money(land.hi_80, 0)}"
                if zh
                else f"80 % interval {_money(land.lo_80, 0)} to {_money(land.hi_80, 0)}"
            )
            if not land.rest and land.lo_80 == land.hi_80:
                detail = "本月已结束，无需预测" if zh else "the month is over: nothing to forecast"
            if land.budget is not None:
                p = _pct(land.p_over_budget, lang, signed=False)
                detail += (
                    f"；超出 {_money(land.budget, 0)} 预算的概率 {p}"
                    if zh
                    else f"; P(over the {_money(land.budget, 0)} budget) {p}"
                )
            rows.append((label, _money(land.landing, 0), _pct_lang(detail, lang)))
        return rows

    def driver_lines(self, lang: str | None = None) -> list[str]:
        lang = check_lang(lang or self.lang)
        out = []
        for d in self.drivers:
            if lang == "zh":
                out.append(
                    f"{d.name}：{_money(d.change)}（用量 {_money(d.volume_effect)}，"
                    f"单价 {_money(d.unit_cost_effect)}）"
                )
            else:
                out.append(
                    f"{d.name}: {_money(d.change)} (volume {_money(d.volume_effect)}, "
                    f"unit cost {_money(d.unit_cost_effect)})"
                )
        return out

    def anomaly_line(self, lang: str | None = None) -> str:
        lang = check_lang(lang or self.lang)
        n = len(self.anomalies)
        days = ", ".join(f"{a.date:%Y-%m-%d}" for a in self.anomalies[:8])
        more = n - 8
        if lang == "zh":
            if not n:
                return f"{self.range_text(lang)} 无异常日期"
            return f"{n} 个异常日期：{days}" + (f" 等（另 {more} 个）" if more > 0 else "")
        if not n:
            return f"No day broke the pattern in {self.range_text(lang)}"
        noun = "day" if n == 1 else "days"
        return f"{n} {noun} broke the pattern: {days}" + (f" and {more} more" if more > 0 else "")

    def department_lines(self, lang: str | None = None) -> list[str]:
        lang = check_lang(lang or self.lang)
        out = []
        for d in self.departments:
            share = _pct(d.share, lang, signed=False)
            change = _pct(d.pct_change, lang) if d.pct_change is not None else "n/a"
            if lang == "zh":
                out.append(f"{d.name}：{_money(d.spend)}（占 {share}，同口径 {change}）")
            else:
                out.append(f"{d.name}: {_money(d.spend)} ({share}, {change} like for like)")
        return out

    def departments_title(self, lang: str | None = None) -> str:
        """``Top departments, 1 – 19 Nov 2026`` (the month's window, as the headline's)."""
        zh = check_lang(lang or self.lang) == "zh"
        if self.month is None:
            return "消费最多的部门" if zh else "Top departments"
        span = self.month.span("zh" if zh else "en")
        return f"消费最多的部门（{span}）" if zh else f"Top departments, {span}"

    def running_line(self, lang: str | None = None) -> str:
        """The spend of the month's buckets still running or settling (in no total above)."""
        if check_lang(lang or self.lang) == "zh":
            return f"另有 {_money(self.running)} 仍在结算，未计入以上数字"
        running = _money(self.running)
        return f"Plus {running} in buckets still running or settling, not counted above"

    def range_text(self, lang: str | None = None) -> str:
        return span_text(self.start, self.end, check_lang(lang or self.lang))

    def footer(self, lang: str | None = None) -> str:
        """Range, as-of, generation time (local and UTC), version, demo."""
        lang = check_lang(lang or self.lang)
        local = _local(self.generated_at, self.tz)
        utc = _utc(self.generated_at)
        as_of = _local(self.as_of, self.tz) if self.as_of is not None else None
        as_of_text = f"{as_of:%Y-%m-%d %H:%M} {self.tz}" if as_of is not None else "–"
        scope = _filters_text(self.filters, lang)
        if lang == "zh":
            text = (
                f"范围 {self.range_text(lang)}；数据截至 {as_of_text}；生成于 "
                f"{local:%Y-%m-%d %H:%M} {self.tz}（{utc:%Y-%m-%d %H:%M} UTC）；"
                f"costtrend_nb {self.version}"
            )
            text += f"；{scope}" if scope else ""
            return text + ("；演示数据" if self.demo else "")
        text = (
            f"Range {self.range_text(lang)}; data as of {as_of_text}; generated "
            f"{local:%Y-%m-%d %H:%M} {self.tz} ({utc:%Y-%m-%d %H:%M} UTC); "
            f"costtrend_nb {self.version}"
        )
        text += f"; {scope}" if scope else ""
        return text + ("; demo data" if self.demo else "")

    def to_text(self, lang: str | None = None) -> str:
        """A short readable block for a terminal."""
        lang = check_lang(lang or self.lang)
        zh = lang == "zh"
        lines = []
        if self.demo:
            lines.append("演示数据（合成）" if zh else "DEMO DATA (synthetic)")
        scope = _filters_text(self.filters, lang)
        if scope:
            lines.append(("范围：" if zh else "Only ") + scope)
        for label, value, detail in self.headline(lang):
            lines.append(f"{label}: {value}  {detail}")
        if self.running:
            lines.append(self.running_line(lang))
        if self.drivers:
            lines.append("变化驱动因素：" if zh else "What drove the month's change:")
            lines += [f"  {line}" for line in self.driver_lines(lang)]
        lines.append(self.anomaly_line(lang))
        if self.departments:
            lines.append(self.departments_title(lang) + ("：" if zh else ":"))
            lines += [f"  {line}" for line in self.department_lines(lang)]
        lines += list(self.notes)
        lines.append(self.footer(lang))
        return "\n".join(lines)

    def to_markdown(self, lang: str | None = None) -> str:
        """Markdown for a CI job summary or a chat message (one table, then lists).

        Example:
            >>> s = Summary(None, None, None, pd.Timestamp("2026-11-20T06:30Z"), demo=True)
            >>> s.to_markdown().splitlines()[0]
            '## Model Router spend'
        """
        lang = check_lang(lang or self.lang)
        zh = lang == "zh"
        out = ["## 模型路由消费摘要" if zh else "## Model Router spend", ""]
        if self.demo:
            out += [
                "> **演示数据**（合成）" if zh else "> **Demo data** (synthetic)",
                "",
            ]
        scope = _filters_text(self.filters, lang)
        if scope:
            out += [_md(("范围：" if zh else "Only ") + scope), ""]
        rows = self.headline(lang)
        if rows:
            out.append("| 指标 | 金额 | 说明 |" if zh else "| | Spend | |")
            out.append("| --- | ---: | --- |")
            out += [f"| {_md(a)} | **{_md(b)}** | {_md(c)} |" for a, b, c in rows]
            out.append("")
        if self.running:
            out += [_md(self.running_line(lang)), ""]
        if self.drivers:
            out += [
                "**变化驱动因素**" if zh else "**What drove the month's change**",
                "",
            ]
            out += [f"- {_md(line)}" for line in self.driver_lines(lang)]
            out.append("")
        out += [
            f"**{'异常' if zh else 'Anomalies'}**: {_md(self.anomaly_line(lang))}",
            "",
        ]
        if self.departments:
            out += [f"**{_md(self.departments_title(lang))}**", ""]
            out += [f"- {_md(line)}" for line in self.department_lines(lang)]
            out.append("")
        out += [f"_{_md(note)}_" for note in self.notes]
        out += [f"<sub>{html.escape(self.footer(lang))}</sub>", ""]
        return "\n".join(out)

    # -- alerts ---------------------------------------------------------------------------------

    def alerts(self, fail_on: Iterable[str | Condition] | str) -> list[str]:
        """The conditions of ``fail_on`` that hold, each as a sentence (see :data:`CONDITIONS`).

        Raises:
            QueryError: an unknown condition, or ``over-budget`` without a budget.
        """
        out = []
        from .conditions import (
            parse_conditions,  # conditions read the model: imported late
        )

        for cond in parse_conditions(fail_on):
            sentence = cond.check(self)
            if sentence:
                out.append(sentence)
        return out


def _pct_lang(text: str, lang: str) -> str:
    return text.replace(" %", "%") if lang == "zh" else text


def _md(text: str) -> str:
    return html.escape(str(text), quote=False).replace("|", "\\|")


def _plain(item: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in asdict(item).items():
        if isinstance(value, (pd.Timestamp, dt.datetime)):
            out[key] = _iso(value)
        elif isinstance(value, float):
            out[key] = _num(value)
        else:
            out[key] = value
    return out


def _build(kind: type, data: Mapping[str, Any]) -> Any:
    names = {f.name: f for f in fields(kind)}
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            continue
        if key.endswith(("_start", "_end")) or key == "date":
            value = _ts(value)
        kwargs[key] = value
    return kind(**kwargs)


def _json_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return _iso(value)
    if isinstance(value, float):
        return _num(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _in_tz(value: Any, tz: str) -> pd.Timestamp | None:
    stamp = _ts(value)
    return None if stamp is None else _local(stamp, tz)


def _local(value: Any, tz: str) -> pd.Timestamp:
    return _utc(value).tz_convert(tz)


def _filters_text(filters: Mapping[str, Any], lang: str) -> str:
    parts = []
    types = filters.get("model_types")
    if types:
        parts.append(("模型类型 " if lang == "zh" else "model types ") + ", ".join(map(str, types)))
    ids = filters.get("client_ids")
    if ids:
        named = filters.get("departments") or [str(i) for i in ids]
        parts.append(("部门 " if lang == "zh" else "departments ") + ", ".join(map(str, named)))
    return ("，" if lang == "zh" else "; ").join(parts)
