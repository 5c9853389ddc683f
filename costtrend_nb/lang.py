"""Chinese for Chinese readers: the words, dates and numbers of a language, and a font to draw them.

* :func:`check_lang` validates a language (``"en"`` or ``"zh"``, simplified Chinese);
  :func:`t` gives a reader-visible term in it, the English text being the key, so a caller
  writes ``t("Total", lang)`` where it wrote ``"Total"``. Metric labels and units come from
  the catalogue (``label_zh``, ``unit_zh``), never repeated here.
* :func:`format_day`, :func:`format_window`, :func:`format_month` and :func:`percent_sign`
  write dates and percentages the way each reader expects; money stays ``¥12,345.67``.
* Figures need a font with CJK glyphs: :func:`cjk_font` finds one, :func:`resolve_lang` falls
  back to English (with one :class:`CJKFontWarning` naming what to install) when there is none,
  :func:`rc_for` gives the matplotlib settings that draw Chinese, and :func:`missing_glyphs`
  lists texts of a drawn figure whose font lacks their characters (empty boxes).

Text that a browser or a terminal shows (tables, the summary, the index) needs no font of ours:
use :func:`check_lang` for it, and :func:`resolve_lang` only for figures.

Example:
    >>> t("Total", "zh"), t("Cost", "zh"), t("Other ({n} {noun})", "zh", n=5, noun=t("types", "zh"))
    ('合计', '消费金额', '其他（5 个类型）')
    >>> format_window("2026-11-01", "2026-11-19", "zh")
    '2026-11-01 至 2026-11-18'
"""

from __future__ import annotations

import functools
import logging
import os
import re
import warnings
from typing import Any

from ._warn import warn
from .catalogue import METRICS
from .errors import QueryError

__all__ = [
    "DEMO_NOTICE",
    "LANGS",
    "TERMS",
    "CJKFontWarning",
    "check_lang",
    "cjk_font",
    "format_day",
    "format_month",
    "format_window",
    "missing_glyphs",
    "percent_sign",
    "rc_for",
    "resolve_lang",
    "t",
]

_log = logging.getLogger(__name__)

LANGS: tuple[str, ...] = ("en", "zh")

# the banner of every page built from the demo (reports, index, summary); t() translates it
DEMO_NOTICE = (
    "Demo data: synthetic numbers from the built-in emulator, not an organisation's real spend."
)

# Spellings accepted for each language (case-insensitive, "-" and "_" alike). Traditional
# Chinese (zh-TW, zh-HK, zh-Hant) is refused rather than shown in simplified characters.
_ALIASES = {
    "en": "en",
    "en-us": "en",
    "en-gb": "en",
    "zh": "zh",
    "zh-cn": "zh",
    "zh-sg": "zh",
    "zh-hans": "zh",
    "zh-hans-cn": "zh",
}


def check_lang(lang: str | None) -> str:
    """The language code for ``lang``: ``"en"`` or ``"zh"`` (simplified Chinese).

    Case and ``-``/``_`` do not matter, so ``"zh-CN"``, ``"zh_CN"`` and ``"ZH"`` all mean
    ``"zh"``; ``None`` means English.

    Raises:
        QueryError: for any other language, traditional Chinese included.

    Example:
        >>> check_lang("zh_CN"), check_lang("EN"), check_lang(None)
        ('zh', 'en', 'en')
        >>> try:
        ...     check_lang("fr")
        ... except QueryError as error:
        ...     print(error)
        lang must be 'en' or 'zh' (simplified Chinese, also 'zh-CN'), not 'fr'
    """
    if lang is None:
        return "en"
    code = _ALIASES.get(str(lang).strip().lower().replace("_", "-"))
    if code is None:
        raise QueryError(
            f"lang must be 'en' or 'zh' (simplified Chinese, also 'zh-CN'), not {lang!r}"
        )
    return code


#: Every reader-visible English term of the figures, tables, summary and index, with the
#: simplified Chinese a reader of the vendor's console expects. Keys are the English text
#: (``str.format`` fields in braces); metric labels and units come from the catalogue.
#: Model types keep the API's identifiers (``Chat``, ``TTS``...), which users type in filters.
TERMS: dict[str, str] = {
    # Rows and columns of tables
    "Previous": "上期",
    "Current": "本期",
    "Change": "变化额",
    "Change %": "变化率",
    "Share": "占比",
    "Share of change": "占变化比例",
    "Model type": "模型类型",
    "Department": "部门",
    "Period": "周期",
    "Current days": "本期日期",
    "Previous days": "上期日期",
    "Date": "日期",
    "Month": "月份",
    "Spend": "消费金额",
    "Expected": "预期",
    "Score": "异常分数",
    "Moved most": "变化最大",
    "Its change": "其变化额",
    "Volume effect": "用量影响",
    "Unit-cost effect": "单价影响",
    "Folds": "回测次数",
    "Seasonal-naive MASE": "季节性朴素基准 MASE",
    "80 % coverage": "80% 区间覆盖率",
    "95 % coverage": "95% 区间覆盖率",
    "buckets": "个时段",
    "Horizon ({step})": "预测步长（{step}）",
    "Spent to date": "截至目前消费",
    "Forecast rest": "剩余预测",
    "Landing": "预计月末消费",
    "Budget": "预算",
    "Own": "本部门",
    "With those below": "含下级部门",
    "Before": "变化前",
    "After": "变化后",
    "Per": "计量单位",
    "Other": "其他",
    "Total": "合计",
    "Other ({n} {noun})": "其他（{n} 个{noun}）",
    "types": "类型",
    "departments": "部门",
    "Download CSV": "下载 CSV",
    # Table captions
    "Spend, like for like": "消费金额（同口径对比）",
    "What drove the change (volume and unit-cost effects, LMDI-I)": (
        "变化原因（用量影响与单价影响，LMDI-I）"
    ),
    "Days that broke the pattern ({n})": "偏离规律的日期（{n}）",
    "Forecast, {n} {step}": "预测，{n} {step}",
    "Model: {model}": "模型：{model}",
    "Backtest": "回测",
    "Where the month lands": "本月预计消费",
    "Department tree": "部门树",
    "Chargeback": "费用分摊",
    "Lasting steps in unit cost ({n})": "持续的单价变化（{n}）",
    # Figures: legends, notices, titles
    "Incomplete: still settling": "未完结：仍在结算",
    "No spend in this selection": "所选范围内没有消费",
    "No usage in this selection": "所选范围内没有用量",
    "Partial data: {n} series missing ({named}); totals are understated": (
        "数据不完整：缺少 {n} 个序列（{named}），合计偏低"
    ),
    "Actual": "实际",
    "Actual so far (incomplete)": "截至目前实际（未完结）",
    "Forecast": "预测",
    "Forecast (median)": "预测（中位数）",
    "80 % interval": "80% 区间",
    "95 % interval": "95% 区间",
    "80% interval": "80% 区间",
    "95% interval": "95% 区间",
    "Median path": "中位路径",
    "Spent so far": "已消费",
    "Lands at {value}": "预计月末 {value}",
    "Budget {value}: P(over) {p}": "预算 {value}：超预算概率 {p}",
    "Anomaly": "异常",
    "no anomaly": "无异常",
    "{count} anomalies": "{count} 个异常",
    "1 anomaly": "1 个异常",
    "{subject}: anomalies": "{subject}：异常",
    "{subject}: {finding}": "{subject}：{finding}",
    "Total change": "总变化",
    "What drove the change in {subject}": "{subject}变化的原因",
    "Change in cost (CNY)": "消费金额变化（元）",
    "{label} of {filters}": "{filters}的{label}",
    "{label}: forecast": "{label}：预测",
    "{label}: forecast, {n} days ahead": "{label}：未来 {n} 天预测",
    "{label}: forecast, {n} hours ahead": "{label}：未来 {n} 小时预测",
    "{subject}: where {month} will land": "{subject}：{month}预计消费",
    "spent so far this month": "本月已消费",
    "{subject}: this {period} against the last": "{subject}：本{period}与上{period}对比",
    "{subject}: {period} against the period before": "{subject}：{period}与上一周期对比",
    "Current: {window}": "本期：{window}",
    "Previous: {window}": "上期：{window}",
    "now (last complete bucket)": "当前（最后一个完整时段）",
    "{pct} ({delta}) like for like": "同口径 {pct}（{delta}）",
    "{value} so far": "截至目前 {value}",
    "new, nothing in the period before": "新增，上期无消费",
    "Share of {what}": "{what}占比",
    "Sub-departments": "下级部门",
    "Own keys": "本部门 API Key",
    "Unit cost by model type": "各模型类型单价",
    "Latest unit cost": "最新单价",
    "¥ per unit": "元/单位",
    "No step in unit cost found": "未发现单价变化",
    # Scope: filters, range, granularity
    "All model types": "全部模型类型",
    "All departments": "全部部门",
    "{items} and {more} more": "{items} 等 {more} 项",
    "department {id}": "部门 {id}",
    "member {ids}": "成员 {ids}",
    "members {ids}": "成员 {ids}",
    "API key {id}": "API Key {id}",
    "model types {types}": "模型类型 {types}",
    "demo data": "演示数据",
    # Periods
    "month": "月",
    "week": "周",
    "day": "日",
    "hour": "小时",
    "days": "天",
    "hours": "小时",
    "daily": "按天",
    "hourly": "按小时",
    "like for like": "同口径",
    "so far": "截至目前",
    # Summary and index
    "Summary": "摘要",
    "Month to date": "本月至今",
    "Last week": "上周",
    "Week before": "上上周",
    "Last complete week": "最近一个完整周",
    "Forecast month-end": "预测月末消费",
    "P(over budget)": "超预算概率",
    "Top drivers": "主要变化来源",
    "Anomalies": "异常",
    "Top departments": "消费最高的部门",
    "Demo data": "演示数据",
    "Demo data: synthetic numbers from the built-in emulator, not an organisation's real spend.": (
        "演示数据：由内置模拟器生成的合成数据，并非组织的真实消费。"
    ),
    "Generated": "生成时间",
    "Data as of": "数据截至",
    "Range": "时间范围",
    "Version": "版本",
    "Contents": "目录",
    "Reports": "报告",
    "costtrend_nb reports": "costtrend_nb 报告",
    "Made {local} ({utc} UTC) by costtrend_nb {version}.": (
        "由 costtrend_nb {version} 生成于 {local}（UTC {utc}）。"
    ),
    "none": "无",
    # Figures: more titles, subtitles and labels
    "model type": "模型类型",
    "department": "部门",
    "cost": "消费金额",
    "{subject} by {group}": "{subject}（按{group}）",
    "{current} against {previous}": "{current} 对比 {previous}",
    "{current}, change on {previous}": "{current}，对比 {previous}",
    "{current} vs {previous}": "本期 {current}，上期 {previous}",
    "{window} so far": "{window}（截至目前）",
    "{unit}, model: {model}": "{unit}，模型：{model}",
    "{unit}, spent so far this month": "{unit}，本月已消费",
    "{unit}, flagged beyond a robust z of {z}": "{unit}，稳健 z 分数超过 {z} 即标记",
    "{value} so far\nthe previous period is not in the frame:\nfetch from {day} to compare": (
        "截至目前 {value}\n上一周期不在数据中：\n请从 {day} 起获取数据以对比"
    ),
    "The frame does not cover {window}:\nfetch it to see it": (
        "数据未覆盖 {window}：\n请获取该时段的数据"
    ),
    "The frame has holes in {window}:\nfetch it whole to see it": (
        "数据在 {window} 内有缺口：\n请完整获取该时段的数据"
    ),
    "share of {what}": "{what}占比",
    "Share of {what} (%)": "{what}占比（%）",
    "change in cost (CNY)": "消费金额变化（元）",
    "Cost (CNY) by department: own keys, and with sub-departments": (
        "各部门消费金额（元）：本部门 API Key 及含下级部门"
    ),
    "Cost{filtered} by department and its sub-departments": (
        "{filtered}各部门及其下级部门的消费金额"
    ),
    "Cost{filtered} by department and model type": "{filtered}按部门和模型类型的消费金额",
    "Cost (CNY) by department and model type": "消费金额（元），按部门和模型类型",
    "Cost (CNY) by {what} and model type": "消费金额（元），按{what}和模型类型",
    "{who} pays most: {value} ({share}), mostly {what}": (
        "{who}支出最多：{value}（{share}），主要是 {what}"
    ),
    "{name} and below": "{name}及下级部门",
    "{who}: {share} of {total}": "{who}：占 {total} 的 {share}",
    "{value} fetched": "已获取的 {value}",
    "not fetched": "未获取",
    "(own {value})": "（本部门 {value}）",
    "* not every sub-department\n   was fetched: at least this": (
        "* 并非所有下级部门\n   都已获取：至少为此值"
    ),
    "{name}: {price} per {per}": "{name}：{price}/{per}",
    "{name} unit cost: {pct} from {day}": "{name}单价：自 {day} 起 {pct}",
    "({more} more step marked)": "（另标记 {more} 处变化）",
    "({more} more steps marked)": "（另标记 {more} 处变化）",
    "Too short to find price steps: {longest} of {needed} {unit}": (
        "数据太短，无法发现单价变化：{longest}/{needed} {unit}"
    ),
    "weeks": "周",
    "quarter": "季度",
    "year": "年",
    "weekly": "按周",
    "monthly": "按月",
    "¥ per {per}": "元/{per}",
    "¥ per unit of each type's own volume": "元/各类型自身用量单位",
    "¥ per unit (log scale; units in the legend)": "元/单位（对数坐标；单位见图例）",
    "1M tokens": "百万 Token",
    "image": "张图片",
    "second": "秒",
    "10,000 characters": "万字符",
    "1,000 calls": "千次调用",
    "80 % low": "80% 下限",
    "80 % high": "80% 上限",
    "95 % low": "95% 下限",
    "95 % high": "95% 上限",
    "Change by {group},{window}": "按{group}的变化，{window}",
    "Spend by {group}{window}; change against the same days before": (
        "按{group}的消费金额{window}；与此前同期对比"
    ),
    "{n} days": "{n} 天",
    "{n} hours": "{n} 小时",
    "{n} bucket": "{n} 个时段",
    "{n} buckets": "{n} 个时段",
    "Forecast, {n} {step} ({day} on)": "预测，{n} {step}（自 {day} 起）",
    "model type {types}": "模型类型 {types}",
    "first {shown} of {rows} rows shown; the CSV has all": (
        "仅显示前 {shown} 行，共 {rows} 行；CSV 含全部数据"
    ),
    # Dashboards: controls, their states and messages
    "From": "开始日期",
    "To (excl.)": "结束日期（不含）",
    "Buckets": "时间粒度",
    "Daily": "按天",
    "Hourly": "按小时",
    "Model types": "模型类型",
    "Departments": "部门",
    "Metric": "指标",
    "Day": "日",
    "Week": "周",
    "Quarter": "季度",
    "Year": "年",
    "Align": "对齐方式",
    "Calendar": "按日历",
    "Weekday": "按星期",
    "Top": "显示前几项",
    "Horizon (days)": "预测天数",
    "Budget ¥": "预算（元）",
    "no budget": "无预算",
    "All": "全部",
    "Clear": "清空",
    "{n} of {total}: {names}": "已选 {n}/{total}：{names}",
    "Updating…": "正在更新…",
    "Period over period": "周期对比",
    "Periods": "周期对比",
    "Model-type breakdown": "模型类型构成",
    "Breakdown": "构成",
    "Choose a start date before the end date.": "请选择早于结束日期的开始日期。",
    "Could not load the data: {error}": "无法获取数据：{error}",
    "Cannot draw this selection: {error}": "无法绘制所选范围：{error}",
    "The budget must be an amount in yuan above 0, such as 80000, or empty: not {text!r}.": (
        "预算须为大于 0 的金额（元），例如 80000，或留空：不能是 {text!r}。"
    ),
}

# The catalogue's own words: metric labels (``Cost``) and units (``CNY``), to the vendor's.
_CATALOGUE: dict[str, str] = {
    **{m.unit: m.unit_zh for m in METRICS.values() if m.unit_zh},
    **{m.label: m.label_zh for m in METRICS.values() if m.label_zh},
}


def t(term: str, lang: str | None = "en", **fields: Any) -> str:
    """``term`` (its English text) in ``lang``, with ``fields`` filled in.

    A term without a Chinese entry (here or in the metric catalogue) stays English.

    Example:
        >>> t("Change %", "zh"), t("Change %", "en"), t("Calls", "zh"), t("tokens", "zh")
        ('变化率', 'Change %', '调用次数', 'Token')
        >>> t("Lands at {value}", "zh", value="¥12,345"), t("Lands at {value}", value="¥12,345")
        ('预计月末 ¥12,345', 'Lands at ¥12,345')
        >>> t("Not a term yet", "zh")
        'Not a term yet'
    """
    text = term
    if check_lang(lang) == "zh":
        found = TERMS.get(term, _CATALOGUE.get(term))
        if found is None:
            _log.debug("no Chinese for %r; left in English", term)
        else:
            text = found
    return text.format(**fields) if fields else text


# Dates and numbers -------------------------------------------------------------------------


def _timestamp(value: Any) -> Any:
    import pandas as pd

    return pd.Timestamp(value)


def format_day(value: Any, lang: str | None = "en", *, hourly: bool = False) -> str:
    """A bucket's date (with its hour for hourly data): ISO dates in both languages, as the
    vendor's console writes them.

    Example:
        >>> format_day("2026-11-19 14:00", "zh", hourly=True), format_day("2026-11-19", "zh")
        ('2026-11-19 14:00', '2026-11-19')
    """
    check_lang(lang)
    return _timestamp(value).strftime("%Y-%m-%d %H:%M" if hourly else "%Y-%m-%d")


def format_window(start: Any, end: Any, lang: str | None = "en") -> str:
    """A half-open window ``[start, end)`` as the days (or hours, when either end has a time)
    it covers: ``2026-11-01 – 2026-11-18`` in English, ``2026-11-01 至 2026-11-18`` in Chinese.

    Example:
        >>> format_window("2026-11-01", "2026-11-19")
        '2026-11-01 – 2026-11-18'
        >>> format_window("2026-11-20 00:00", "2026-11-20 15:00", "zh")
        '2026-11-20 00:00 至 14:00'
        >>> format_window("2026-11-01", "2026-11-02", "zh")
        '2026-11-01'
    """
    import pandas as pd

    sep = " 至 " if check_lang(lang) == "zh" else " – "
    first, stop = _timestamp(start), _timestamp(end)
    hourly = any(s != s.normalize() for s in (first, stop))
    if not hourly:
        last = stop - pd.Timedelta(days=1)
        return format_day(first) if last <= first else format_day(first) + sep + format_day(last)
    last = stop - pd.Timedelta(hours=1)
    tail = (
        f"{last:%H:%M}" if last.normalize() == first.normalize() else format_day(last, hourly=True)
    )
    return format_day(first, hourly=True) + sep + tail


def format_month(value: Any, lang: str | None = "en") -> str:
    """The month of ``value``: ``November 2026``, or ``2026年11月``.

    Example:
        >>> format_month("2026-11-18", "en"), format_month("2026-11-18", "zh")
        ('November 2026', '2026年11月')
    """
    ts = _timestamp(value)
    if check_lang(lang) == "zh":
        return f"{ts.year}年{ts.month}月"
    return f"{ts:%B %Y}"


def percent_sign(lang: str | None = "en") -> str:
    """What follows a percentage's digits: ``+7.7 %`` in English (STYLE.md), ``+7.7%`` in Chinese.

    Example:
        >>> f"+7.7{percent_sign('en')}", f"+7.7{percent_sign('zh')}"
        ('+7.7 %', '+7.7%')
    """
    return "%" if check_lang(lang) == "zh" else " %"


# Fonts -------------------------------------------------------------------------------------

#: Families that draw simplified Chinese, best first (a name matches this or a longer name).
_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK",
    "Source Han Sans",
    "Droid Sans Fallback",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "Noto Serif SC",
    "Noto Serif CJK",
    "Source Han Serif",
    "AR PL UMing",
    "AR PL UKai",
)
# File names of such fonts, lower case without "-" or "_", for a font cache older than them.
_FILE_HINTS: tuple[str, ...] = (
    "notosanscjk",
    "notoserifcjk",
    "notosanssc",
    "notoserifsc",
    "sourcehan",
    "wqy",
    "wenquanyi",
    "droidsansfallback",
    "uming",
    "ukai",
)
_PROBE = "消费金额费用"  # characters a font must draw to count as Chinese
_INSTALL = (
    "No font with Chinese glyphs was found (looked for Noto Sans CJK, Source Han Sans, "
    "WenQuanYi, Droid Sans Fallback), so figures are drawn in English instead of lang='zh'. "
    "Install one, e.g. `apt-get install fonts-noto-cjk` (Debian, Ubuntu) or "
    "`dnf install google-noto-sans-cjk-fonts` (Fedora), then restart Python."
)
_warned = False  # whether the missing font has been reported in this process


class CJKFontWarning(UserWarning):
    """No installed font draws Chinese: figures fall back to English."""


def _rank(name: str) -> int | None:
    for i, family in enumerate(_FAMILIES):
        if name.startswith(family):
            return i
    return None


def _load(path: str, index: int = 0) -> Any:
    """The FreeType face ``index`` of a font file (matplotlib < 3.10 reads only the first)."""
    from matplotlib.ft2font import FT2Font

    if index == 0:
        return FT2Font(path)
    return FT2Font(path, face_index=index)


def _has_glyphs(path: str, index: int = 0, text: str = _PROBE) -> bool:
    try:
        font = _load(path, index)
    except (OSError, RuntimeError, TypeError, ValueError):
        return False
    return all(font.get_char_index(ord(c)) != 0 for c in text)


def _candidates() -> list[Any]:
    from matplotlib import font_manager

    ranked = [(_rank(f.name), f) for f in font_manager.fontManager.ttflist]
    entries = [(r, f) for r, f in ranked if r is not None]
    entries.sort(key=lambda rf: (rf[0], rf[1].weight != 400, rf[1].style != "normal"))
    return [f for _, f in entries]


def _add_system_fonts() -> None:
    """Register CJK font files matplotlib's font cache does not know (installed after it)."""
    from matplotlib import font_manager

    known = {os.path.realpath(f.fname) for f in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        flat = os.path.basename(path).lower().replace("-", "").replace("_", "")
        if any(h in flat for h in _FILE_HINTS) and os.path.realpath(path) not in known:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError) as exc:
                _log.debug("cannot add font %s: %s", path, exc)


@functools.cache
def cjk_font() -> str | None:
    """The family name of an installed font that draws Chinese, or ``None`` (cached).

    Looks in matplotlib's font list, then among the system's font files (a font installed
    after matplotlib built its cache), and checks that the font has the glyphs.

    Example:
        >>> name = cjk_font()
        >>> name is None or isinstance(name, str)
        True
    """
    for attempt in range(2):
        for entry in _candidates():
            if _has_glyphs(entry.fname, getattr(entry, "index", 0)):
                return str(entry.name)
        if attempt == 0:
            _add_system_fonts()
    return None


def resolve_lang(lang: str | None) -> str:
    """The language a figure can be drawn in: ``"zh"`` when a Chinese font is installed,
    else ``"en"``, saying so once per process with a :class:`CJKFontWarning`.

    Example:
        >>> resolve_lang("en")
        'en'
    """
    global _warned
    code = check_lang(lang)
    if code == "zh" and cjk_font() is None:
        if not _warned:
            _warned = True
            warn(_INSTALL, CJKFontWarning)
        return "en"
    return code


def rc_for(lang: str | None) -> dict[str, Any]:
    """The matplotlib settings that draw ``lang``: for Chinese, the CJK font first with DejaVu
    Sans behind it, and an ASCII minus; nothing for English or when no Chinese font exists.

    Example:
        >>> rc_for("en")
        {}
        >>> rc = rc_for("zh")
        >>> rc == {} or (rc["font.family"][-1] == "DejaVu Sans" and not rc["axes.unicode_minus"])
        True
    """
    font = cjk_font() if check_lang(lang) == "zh" else None
    if font is None:
        return {}
    import matplotlib as mpl

    sans = [f for f in mpl.rcParams["font.sans-serif"] if f not in (font, "DejaVu Sans")]
    return {
        "font.family": [font, "DejaVu Sans"],
        "font.sans-serif": [font, "DejaVu Sans", *sans],
        "axes.unicode_minus": False,
    }


# Checking a drawn figure -------------------------------------------------------------------

_LAST_RESORT = re.compile(r"lastresort", re.IGNORECASE)


def _fallback_fonts(prop: Any, loaded: dict[tuple[str, int], Any]) -> list[tuple[str, Any]]:
    """The fonts matplotlib draws ``prop`` with, in fallback order, Last Resort (boxes) left out."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    find = getattr(manager, "_find_fonts_by_props", None)  # matplotlib >= 3.6: a fallback list
    paths = find(prop) if find is not None else [font_manager.findfont(prop)]
    fonts = []
    for path in paths:
        key = (str(path), int(getattr(path, "face_index", 0)))
        if _LAST_RESORT.search(os.path.basename(key[0])):
            continue
        if key not in loaded:
            loaded[key] = _load(*key)
        fonts.append((loaded[key].family_name, loaded[key]))
    return fonts


def missing_glyphs(fig: Any) -> list[str]:
    """Texts of ``fig`` with characters no font in their fallback chain draws (empty boxes).

    Draws the figure, then checks every visible text: titles, labels, tick labels, legends,
    annotations. Mathtext (``$...$``) and TeX texts are skipped. ``[]`` means every character
    has a glyph.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> _ = ax.set_title("Cost (CNY)")
        >>> missing_glyphs(fig)
        []
        >>> plt.close(fig)
    """
    from matplotlib.text import Text

    with warnings.catch_warnings():  # matplotlib's own "Glyph ... missing": reported below
        warnings.filterwarnings(
            "ignore", message="Glyph .* missing from font", category=UserWarning
        )
        fig.draw_without_rendering()
    loaded: dict[tuple[str, int], Any] = {}
    found = []
    for text in fig.findobj(lambda a: isinstance(a, Text) and a.get_visible()):
        content = text.get_text()
        if not content.strip() or text.get_usetex() or text._preprocess_math(content)[1]:
            continue
        fonts = _fallback_fonts(text.get_fontproperties(), loaded)
        lacking = sorted(
            {
                c
                for c in content
                if not c.isspace() and not any(f.get_char_index(ord(c)) for _, f in fonts)
            }
        )
        if lacking:
            names = ", ".join(name for name, _ in fonts) or "no font"
            found.append(f"{content!r} lacks {''.join(lacking)!r} in {names}")
    return found
