"""The reports' ``index.html``: the summary's numbers first, then one card per report."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .._version import __version__
from ..lang import DEMO_NOTICE, check_lang, t
from .model import Summary, _filters_text, _utc


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
        href = _e(_safe_href(card.href))
        picture = f'<a href="{href}"><img src="{_e(thumb)}" alt="{_e(alt)}"></a>'
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
            f'<div class="banner" role="note">{_e(t(DEMO_NOTICE, "zh" if zh else "en"))}</div>'
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
