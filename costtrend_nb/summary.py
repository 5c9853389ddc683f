"""The executive summary of a frame, and its renderings: JSON, Markdown, text and the index page.

:func:`summarise` turns a daily tidy frame into a :class:`Summary`: spend month to date with
its like-for-like change (the same elapsed days of the month before), the last complete week
against the week before, where the month will land (the median of the forecast paths, its
80 % interval and P(over budget)), the three model types that drove the month's change most,
the days that broke the pattern, and the departments that spent most this month. Only
complete buckets count: the running day is left out of every total (and its spend so far is
shown apart, as ``running``).

The numbers are the notebooks' own: the same analysis functions on the same frame
(``compare_periods`` for 01's table, ``month_end_landing`` for 03's, ``explain_change`` and
``detect_anomalies`` for 01's and 02's).

:meth:`Summary.alerts` checks the conditions a scheduled job can fail on
(:data:`CONDITIONS`); :func:`render_index` writes the reports' ``index.html`` around it.

Example:
    >>> from costtrend_nb import CostTrendClient
    >>> df = CostTrendClient.demo().fetch("2026-09-01", "2026-11-21", granularity="daily")
    >>> s = summarise(df, now="2026-11-20 07:00Z")
    >>> s.month.current_text, s.month.change_text
    ('¥47,701.46', '+7.7 %')
    >>> s.alerts(["spend-up:5"])
    ['Spend month to date is +7.7 % like for like (1 – 19 Nov 2026), above the +5.0 % threshold.']
"""

from __future__ import annotations

import datetime as dt
import html
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import pandas as pd

from ._version import __version__
from .errors import QueryError
from .lang import check_lang, format_month
from .tables._format import format_money, format_pct

__all__ = [
    "CONDITIONS",
    "Anomaly",
    "Card",
    "Change",
    "Condition",
    "Department",
    "Driver",
    "Landing",
    "Summary",
    "parse_conditions",
    "render_index",
    "summarise",
]

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
    if last < first:
        last = first
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
        return (
            f"Plus {_money(self.running)} in buckets still running or settling, not counted above"
        )

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
            out += ["> **演示数据**（合成）" if zh else "> **Demo data** (synthetic)", ""]
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
            out += ["**变化驱动因素**" if zh else "**What drove the month's change**", ""]
            out += [f"- {_md(line)}" for line in self.driver_lines(lang)]
            out.append("")
        out += [f"**{'异常' if zh else 'Anomalies'}**: {_md(self.anomaly_line(lang))}", ""]
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


# -- conditions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One ``--fail-on`` condition: its name and its number (a threshold or a count of days)."""

    name: str
    number: float | None = None

    def check(self, s: Summary) -> str | None:
        """The sentence saying that the condition holds for ``s``, or None."""
        if self.name == "over-budget":
            return _over_budget(s)
        if self.name == "anomaly":
            return _anomaly(s, self.number)
        if self.name in ("spend-up", "week-up"):
            change = s.month if self.name == "spend-up" else s.week
            limit = DEFAULT_UP_PCT if self.number is None else self.number
            pct = None if change is None else change.pct_change
            if pct is None or pct * 100 <= limit:
                return None
            what = (
                "Spend month to date is" if self.name == "spend-up" else "The last complete week is"
            )
            assert change is not None
            return (
                f"{what} {_pct(pct)} like for like ({change.span()}), above the "
                f"{_pct(limit / 100)} threshold."
            )
        return None  # pragma: no cover - parse_conditions admits known names only


def _over_budget(s: Summary) -> str | None:
    land = s.landing
    if land is None or land.budget is None:
        return None
    p, landing, budget = land.p_over_budget, land.landing, land.budget
    if land.to_date is not None and land.to_date > budget:
        return (
            f"Spend in {land.month} is already {_money(land.to_date)}, over the "
            f"{_money(budget, 0)} budget."
        )
    if (landing is not None and landing > budget) or (p is not None and p >= 0.5):
        return (
            f"{land.month} is forecast to land at {_money(landing, 0)} (80 %: "
            f"{_money(land.lo_80, 0)} to {_money(land.hi_80, 0)}), P(over the "
            f"{_money(budget, 0)} budget) {_pct(p, signed=False)}."
        )
    return None


def _anomaly(s: Summary, days: float | None) -> str | None:
    found = list(s.anomalies)
    where = f"in {s.range_text('en')}"
    if days is not None and s.as_of is not None:
        last = _local(s.as_of, s.tz).normalize() - pd.Timedelta(days=int(days))
        found = [a for a in found if _local(a.date, s.tz) >= last]
        where = f"in the last {int(days)} complete day{'s' if days != 1 else ''}"
    if not found:
        return None
    dates = ", ".join(f"{a.date:%Y-%m-%d}" for a in found)
    return f"{len(found)} day{'s' if len(found) != 1 else ''} broke the pattern {where}: {dates}."


def parse_conditions(fail_on: Iterable[str | Condition] | str | None) -> list[Condition]:
    """The conditions named in ``fail_on`` (a list, or one comma-separated string).

    ``spend-up`` and ``week-up`` take a threshold in percent (``spend-up:20``, the default);
    ``anomaly`` takes a number of days (``anomaly:3``: the last three complete days only).

    Example:
        >>> parse_conditions("over-budget, spend-up:15")
        [Condition(name='over-budget', number=None), Condition(name='spend-up', number=15.0)]

    Raises:
        QueryError: a name not in :data:`CONDITIONS`, or a bad number.
    """
    if fail_on is None:
        return []
    items = [fail_on] if isinstance(fail_on, str) else list(fail_on)
    out = []
    for item in items:
        if isinstance(item, Condition):
            out.append(item)
            continue
        for part in str(item).split(","):
            text = part.strip().lower()
            if not text:
                continue
            name, _, number = text.partition(":")
            name = name.strip()
            if name not in CONDITIONS:
                raise QueryError(
                    f"unknown --fail-on condition {part.strip()[:40]!r}: use "
                    f"{', '.join(CONDITIONS)} (e.g. over-budget,anomaly:3,spend-up:20)."
                )
            value = None
            if number.strip():
                if name == "over-budget":
                    raise QueryError("over-budget takes no number: give the budget with --budget.")
                try:
                    value = float(number)
                except ValueError:
                    value = math.nan
                ok = math.isfinite(value) and value >= 0
                if name == "anomaly":
                    ok = ok and value >= 1 and value == int(value)
                if not ok:
                    what = (
                        "a whole number of days of at least 1"
                        if name == "anomaly"
                        else "a percentage of at least 0"
                    )
                    raise QueryError(f"{name}:N needs {what}, not {part.strip()[:40]!r}.")
            out.append(Condition(name, value))
    return out


# -- from a frame -------------------------------------------------------------------------------


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
    from .analysis import compare_periods

    return _change(compare_periods(df, "total_amount", "month").iloc[-1])


def _week(df: pd.DataFrame) -> Change | None:
    from .analysis import compare_periods

    rows = compare_periods(df, "total_amount", "week", history=2)
    complete = rows[~rows["running"].astype(bool)]
    return _change(complete.iloc[-1]) if len(complete) else None


def _landing(df: pd.DataFrame, budget: float | None) -> Landing | None:
    from .analysis import month_end_landing

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
    from .analysis import explain_change

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
    from .analysis import detect_anomalies

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
    from .analysis import compare_periods

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


# -- the index page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One notebook report on the index: a thumbnail (a ``data:`` URI, PNG), title, takeaway."""

    title: str
    href: str
    takeaway: str = ""
    thumbnail: str | None = None
    scope: str = ""


_CSS = """
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--paper:#fff;--soft:#f6f8fa;
--up:#b35900;--down:#0a7d48;--accent:#0072B2;--warn:#fff4d6;--warnline:#d4a72c}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",
"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;color:var(--ink);
background:var(--soft)}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 .25rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
.sub{color:var(--muted);margin:.5rem 0 1rem}
.banner{background:var(--warn);border:1px solid var(--warnline);border-radius:6px;
padding:.5rem .75rem;font-weight:600;margin:.5rem 0 1rem}
.note{background:var(--paper);border:1px dashed var(--line);border-radius:6px;padding:.75rem}
.kpis{display:grid;gap:.75rem;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr))}
.kpi{background:var(--paper);border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem}
.kpi .label{color:var(--muted);font-size:.85rem;margin:0}
.kpi .value{font-size:1.6rem;font-weight:700;margin:.1rem 0;font-variant-numeric:tabular-nums}
.kpi .detail{font-size:.85rem;margin:0;color:var(--muted)}
.facts{display:grid;gap:.75rem;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));margin-top:.75rem}
.fact{background:var(--paper);border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem}
.fact h3{font-size:.95rem;margin:0 0 .35rem}.fact ul{margin:0;padding-left:1.1rem}
.fact p{margin:0}
.cards{list-style:none;padding:0;margin:0;display:grid;gap:1rem;
grid-template-columns:repeat(auto-fill,minmax(16rem,1fr))}
.card{background:var(--paper);border:1px solid var(--line);border-radius:8px;overflow:hidden;
display:flex;flex-direction:column}
.card img{display:block;width:100%;height:auto;border-bottom:1px solid var(--line);background:#fff}
.card .body{padding:.75rem 1rem;flex:1}
.card h3{font-size:1.05rem;margin:0 0 .35rem}
.card a{color:var(--accent);text-decoration:none}.card a:hover{text-decoration:underline}
.card p{margin:0 0 .35rem}.card .scope{color:var(--muted);font-size:.8rem}
footer{color:var(--muted);font-size:.8rem;margin:2rem 0 1rem;border-top:1px solid var(--line);
padding-top:.5rem}
@media (max-width:30rem){main{padding:.5rem}.kpi .value{font-size:1.35rem}}
"""


def _e(text: Any) -> str:
    """Escaped text; a percentage's sign stays with its digits (``7.7\u00a0%``)."""
    return html.escape(str(text), quote=True).replace(" %", "\u00a0%")


def _safe_href(href: str) -> str:
    """A relative link as given; anything with a scheme (http:, javascript:) becomes "#"."""
    text = str(href).strip()
    head = text.split("/", 1)[0]
    return "#" if ":" in head else text


def _card_html(card: Any, lang: str) -> str:
    picture = ""
    thumb = getattr(card, "thumbnail", None)
    if thumb and str(thumb).startswith("data:image/"):
        alt = f"{card.title} 的关键图表" if lang == "zh" else f"Key figure of {card.title}"
        if card.takeaway:
            alt += f": {card.takeaway}"
        picture = (
            f'<a href="{_e(_safe_href(card.href))}"><img src="{_e(thumb)}" alt="{_e(alt)}"></a>'
        )
    takeaway = f"<p>{_e(card.takeaway)}</p>" if card.takeaway else ""
    scope = f'<p class="scope">{_e(card.scope)}</p>' if getattr(card, "scope", "") else ""
    link = "打开报告" if lang == "zh" else "Open the report"
    return (
        f'<li class="card">{picture}<div class="body"><h3><a href="{_e(_safe_href(card.href))}">'
        f"{_e(card.title)}</a></h3>{takeaway}{scope}"
        f'<p><a href="{_e(_safe_href(card.href))}">{link} →</a></p></div></li>'
    )


def _facts_html(s: Summary, lang: str) -> str:
    zh = lang == "zh"
    blocks = []
    if s.drivers:
        items = "".join(f"<li>{_e(line)}</li>" for line in s.driver_lines(lang))
        title = "本月变化的主要驱动因素" if zh else "What drove the month's change"
        blocks.append(f'<div class="fact"><h3>{title}</h3><ul>{items}</ul></div>')
    title = "异常日期" if zh else "Days that broke the pattern"
    blocks.append(f'<div class="fact"><h3>{title}</h3><p>{_e(s.anomaly_line(lang))}</p></div>')
    if s.departments:
        items = "".join(f"<li>{_e(line)}</li>" for line in s.department_lines(lang))
        title = _e(s.departments_title(lang))
        blocks.append(f'<div class="fact"><h3>{title}</h3><ul>{items}</ul></div>')
    return f'<div class="facts">{"".join(blocks)}</div>'


def render_index(
    summary: Summary | None,
    cards: Sequence[Any],
    *,
    generated_at: dt.datetime | None = None,
    lang: str = "en",
) -> str:
    """The reports' whole ``index.html``: self-contained (inline CSS, no script, no URL).

    A "Demo data" banner when the summary is the demo's, the headline numbers, then one card
    per report, then a footer with the range, the data's as-of time, when the page was made
    (local and UTC) and the version. With ``summary=None`` the page has the cards and a note
    that the summary could not be computed.

    Example:
        >>> page = render_index(None, [Card("01 Period over period", "01.html", "Up <b>")])
        >>> "Up &lt;b&gt;" in page, "http" in page, 'name="viewport"' in page
        (True, False, True)
    """
    lang = check_lang(lang)
    zh = lang == "zh"
    if generated_at is not None:
        made = _utc(generated_at)
    elif summary is not None:
        made = _utc(summary.generated_at)
    else:
        made = _utc(dt.datetime.now(dt.UTC))
    parts = []
    title = "模型路由消费报告" if zh else "Model Router spend reports"
    demo = bool(summary is not None and summary.demo)
    if demo:
        parts.append(
            '<div class="banner" role="note">'
            + (
                "演示数据：内置模拟器的合成组织，并非真实消费。"
                if zh
                else "Demo data: the built-in emulator's synthetic organisation, not real spend."
            )
            + "</div>"
        )
    parts.append(f"<h1>{_e(title)}</h1>")
    if summary is None:
        note = (
            "摘要无法计算；以下是各报告。"
            if zh
            else "The summary could not be computed; the reports are below."
        )
        parts.append(f'<p class="note">{_e(note)}</p>')
        footer = (
            f"生成于 {made.tz_convert(None):%Y-%m-%d %H:%M} UTC；costtrend_nb {__version__}"
            if zh
            else f"Generated {made:%Y-%m-%d %H:%M} UTC; costtrend_nb {__version__}"
        )
    else:
        summary = _with_generated(summary, made)
        parts.append(f'<p class="sub">{_e(_subtitle(summary, lang))}</p>')
        kpis = "".join(
            f'<div class="kpi"><p class="label">{_e(a)}</p><p class="value">{_e(b)}</p>'
            f'<p class="detail">{_e(c)}</p></div>'
            for a, b, c in summary.headline(lang)
        )
        if kpis:
            parts.append(f'<section class="kpis">{kpis}</section>')
        if summary.running:
            parts.append(f'<p class="sub">{_e(summary.running_line(lang))}</p>')
        parts.append(_facts_html(summary, lang))
        parts += [f'<p class="note">{_e(note)}</p>' for note in summary.notes]
        footer = summary.footer(lang)
    heading = "报告" if zh else "Reports"
    parts.append(f"<h2>{heading}</h2>")
    if cards:
        parts.append(f'<ul class="cards">{"".join(_card_html(c, lang) for c in cards)}</ul>')
    else:
        parts.append(f'<p class="note">{"没有报告。" if zh else "No reports."}</p>')
    parts.append(f"<footer>{_e(footer)}</footer>")
    head_title = _e(title + (" – 演示数据" if zh and demo else " – demo data" if demo else ""))
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if zh else "en"}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{head_title}</title><style>{_CSS}</style></head>"
        f"<body><main>{''.join(parts)}</main></body></html>\n"
    )


def _with_generated(s: Summary, made: pd.Timestamp) -> Summary:
    from dataclasses import replace

    return replace(s, generated_at=made)


def _subtitle(s: Summary, lang: str) -> str:
    scope = _filters_text(s.filters, lang)
    if lang == "zh":
        text = f"{s.range_text(lang)}，按日"
        return text + (f"，{scope}" if scope else "，全部消费")
    text = f"{s.range_text(lang)}, daily"
    return text + (f"; {scope}" if scope else "; all spend")
