"""A report's page: the exporter, its compact stylesheet, and what is added around the notebook.

:func:`exporter` is nbconvert's ``HTMLExporter(exclude_input=True)`` on the lab template, with
nothing fetched from a CDN (no require.js, widget renderer, MathJax or mermaid) and, instead of
the lab theme's 263 KB of CSS, :data:`STYLE`: a few KB for what the exported cells use (output
areas, tables with captions and CSV links, images, headings, the contents list, the footer),
readable at phone width and in print. Images carry the alt text and size the report kernel put
in their metadata. :func:`decorate` adds the demo banner, the scope header under the title (range,
granularity, time zone, filters), the partial-data alert, the contents list and the footer.

Example:
    >>> record = {"source": "Demo data: the built-in emulator.", "tz": "Asia/Shanghai",
    ...           "query": {"start": "2026-11-01T00:00:00+08:00", "granularity": "daily",
    ...                     "end": "2026-11-20T00:00:00+08:00", "model_types": ["Chat", "TTS"]}}
    >>> scope_text(record)
    '2026-11-01 – 2026-11-19 · daily · Asia/Shanghai · model types Chat, TTS · all departments'
    >>> is_demo(record)
    True
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from typing import Any

from .lang import DEMO_NOTICE, t

__all__ = ["STYLE", "decorate", "demo_banner", "exporter", "is_demo", "scope_text"]

STYLE = """
:root{--ink:#1b1b1b;--muted:#555;--line:#ddd;--accent:#0b5cad;--soft:#f5f6f7}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#fff;color:var(--ink);font:16px/1.5 system-ui,-apple-system,"Segoe UI",
Roboto,"Noto Sans","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif}
main{max-width:62rem;margin:0 auto;padding:1rem 1.25rem 2rem}
h1{font-size:1.9rem;line-height:1.2;margin:.75rem 0 .25rem}
h2{font-size:1.35rem;line-height:1.3;margin:2rem 0 .5rem;padding-top:.75rem;
border-top:1px solid var(--line)}
h3{font-size:1.1rem;margin:1.5rem 0 .5rem}
p,ul,ol{margin:.5rem 0}
a{color:var(--accent)}
a.anchor-link,.jp-Collapser,.jp-InputPrompt,.jp-OutputPrompt{display:none}
.jp-mod-noOutputs.jp-mod-noInput{display:none}
.jp-OutputArea-output{margin:.5rem 0;max-width:100%;overflow-x:auto}
.jp-RenderedImage img,img{max-width:100%;height:auto}
.jp-RenderedImage img{display:block}
pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
pre{margin:0;padding:.5rem .75rem;background:var(--soft);border-radius:4px;
white-space:pre-wrap;overflow-wrap:anywhere}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.9rem;margin:.25rem 0}
caption{caption-side:top;text-align:left;color:#444;font-weight:600;padding:.25rem 0}
th,td{padding:.2rem .6rem;text-align:right;vertical-align:top}
thead th{border-bottom:1px solid #999}
tbody tr:nth-child(even){background:#fafafa}
.ct-table-wrap{max-width:100%;overflow-x:auto}
.ct-table-wrap td{white-space:nowrap}
.ct-table-foot{font-size:.85rem;color:var(--muted)}
.costtrend-demo{margin:0 0 .5rem;padding:.4rem .75rem;border:1px solid #c77700;border-radius:4px;
background:#fff4e0;color:#6b3d00;font-weight:600}
.costtrend-scope{margin:.25rem 0 1rem;color:var(--muted);font-size:.95rem}
.costtrend-partial{border:2px solid #b00020;color:#b00020;padding:.5rem 1rem;margin:1rem 0;
font-weight:700}
.costtrend-toc{margin:1rem 0 2rem;padding:.5rem .75rem;background:var(--soft);border-radius:4px}
.costtrend-toc ul{list-style:none;padding-left:0;margin:.25rem 0 0}
.costtrend-toc li.sub{margin-left:1.5em}
.costtrend-footer{margin:2.5rem 0 1rem;padding-top:1rem;border-top:1px solid var(--line);
color:var(--muted);font-size:.85rem}
.costtrend-provenance th{text-align:left;padding-right:1em;font-weight:600}
.costtrend-provenance td{text-align:left;overflow-wrap:anywhere}
@media (max-width:600px){body{font-size:15px}main{padding:.75rem}h1{font-size:1.5rem}
h2{font-size:1.2rem}th,td{padding:.15rem .4rem}}
@page{margin:1.5cm}
@media print{main{max-width:none;padding:0}.costtrend-toc,.ct-table-foot{display:none}
a{color:inherit;text-decoration:none}h2,h3{break-after:avoid}
.jp-RenderedImage,table,.costtrend-demo{break-inside:avoid}
.costtrend-demo{border-width:2px}.jp-OutputArea-output{overflow:visible}}
"""

# the lab template's page with our stylesheet in place of its CSS and scripts: nothing fetched
# from a CDN (require.js, the widget renderer, MathJax, mermaid), no widget views; images take
# their alt text from the output's metadata
_TEMPLATE = (
    """{%- extends 'index.html.j2' -%}
{%- block html_head -%}
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ nb.metadata.get('title', resources.metadata.name) | escape_html_keep_quotes }}</title>
<style>{% raw %}"""
    + STYLE
    + """{% endraw %}</style>
{%- endblock html_head -%}
{%- block data_widget_view -%}{%- endblock data_widget_view -%}
{%- block footer_js -%}{%- endblock footer_js -%}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
{%- set alt = output | get_metadata('alt', 'image/png') -%}
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
alt="{{ (alt or 'A chart') | escape_html }}"
{%- set width = output | get_metadata('width', 'image/png') -%}
{%- if width is not none %} width="{{ width | escape_html }}"{%- endif -%}
{%- set height = output | get_metadata('height', 'image/png') -%}
{%- if height is not none %} height="{{ height | escape_html }}"{%- endif -%}
>
</div>
{%- endblock data_png %}
"""
)


def exporter() -> Any:
    """nbconvert's ``HTMLExporter(exclude_input=True)`` on the offline, compact template."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="lab", template_file="costtrend-offline.html.j2",
        extra_loaders=[DictLoader({"costtrend-offline.html.j2": _TEMPLATE})],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
    )  # fmt: skip


def is_demo(record: dict[str, Any] | None) -> bool:
    """Whether a provenance record comes from the demo emulator.

    Example:
        >>> is_demo({"source": "Live data: example.com."})
        False
    """
    if not record:
        return False
    return str(record.get("source", "")).startswith("Demo data")


def _stamp(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def _range_text(query: dict[str, Any]) -> str:
    start, end = _stamp(query.get("start")), _stamp(query.get("end"))
    if start is None or end is None:
        return f"{query.get('start')} to {query.get('end')}"
    if query.get("granularity") == "hourly" or start.time() != dt.time() or end.time() != dt.time():
        return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} (end exclusive)"
    last = end - dt.timedelta(days=1)
    return f"{start:%Y-%m-%d} – {last:%Y-%m-%d}"


def _listed(values: Sequence[Any] | None, name: str, everything: str) -> str:
    if not values:
        return everything
    return f"{name} {', '.join(map(str, values))}"


def scope_text(record: dict[str, Any] | None) -> str:
    """What a report covers, from its provenance: range, granularity, time zone and filters.

    Example:
        >>> text = scope_text({"tz": "UTC", "query": {"start": "2026-11-18T00:00:00+00:00",
        ...     "end": "2026-11-18T06:00:00+00:00", "granularity": "hourly", "client_ids": [3],
        ...     "member_user_ids": ["u1"], "api_key_id": 7}})
        >>> for part in text.split(" · "):
        ...     print(part)
        2026-11-18 00:00 – 2026-11-18 06:00 (end exclusive)
        hourly
        UTC
        all model types
        department 3
        members u1
        API key 7
    """
    if not record:
        return ""
    query = dict(record.get("query") or {})
    departments = query.get("client_ids")
    one = departments is not None and len(departments) == 1
    parts = [
        _range_text(query),
        str(query.get("granularity") or ""),
        str(record.get("tz") or ""),
        _listed(query.get("model_types"), "model types", "all model types"),
        _listed(departments, "department" if one else "departments", "all departments"),
    ]
    if query.get("member_user_ids"):
        parts.append(_listed(query["member_user_ids"], "members", ""))
    if query.get("api_key_id") is not None:
        parts.append(f"API key {query['api_key_id']}")
    return " · ".join(p for p in parts if p)


_HEADING = re.compile(r'<h([23]) id="([^"]+)">(.*?)<a class="anchor-link"', re.S)
_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\ssrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.S)


def demo_banner(lang: str = "en") -> str:
    """The banner every page built from the demo starts with, in ``lang``.

    Example:
        >>> demo_banner()[:55]
        "<div class='costtrend-demo' role='note'>Demo data: synt"
    """
    return f"<div class='costtrend-demo' role='note'>{html.escape(t(DEMO_NOTICE, lang))}</div>"


def _contents(body: str) -> str:
    entries = "".join(
        f"<li{' class=sub' if level == '3' else ''}><a href='#{anchor}'>"
        f"{re.sub(r'<[^>]+>', '', text).strip()}</a></li>"
        for level, anchor, text in _HEADING.findall(body)
    )
    return (
        f"<nav class='costtrend-toc' aria-label='Contents'><b>Contents</b><ul>{entries}</ul></nav>"
    )


def decorate(
    body: str,
    title: str,
    record: dict[str, Any] | None,
    footer: str,
    partial: str | None = None,
    lang: str = "en",
) -> str:
    """The exported page with the demo banner (in ``lang``), the scope header, the partial-data
    alert, the contents list under the title, and ``footer`` at the end."""
    body = _EXTERNAL_SCRIPT.sub("", body)  # self-contained: nothing is fetched when it opens
    scope = scope_text(record)
    header = f"<p class='costtrend-scope'>{html.escape(scope)}</p>" if scope else ""
    if partial:
        header += f"<div class='costtrend-partial' role='alert'>{html.escape(partial)}</div>"
    header += _contents(body)
    first_heading_end = body.find("</h1>")
    if first_heading_end >= 0:
        end = first_heading_end + len("</h1>")
        body = body[:end] + header + body[end:]
    else:
        body = body.replace("<main>", f"<main><h1>{html.escape(title)}</h1>{header}", 1)
    if is_demo(record):
        body = body.replace("<main>", "<main>" + demo_banner(lang), 1)
    return body.replace("</main>", footer + "</main>", 1)
