"""The reports' ``index.html``: one card per report (title, link, takeaway, thumbnail, scope).

:func:`card` reads an executed notebook: the takeaway is the output of the cell tagged
``takeaway`` (markdown or plain text), the thumbnail the first figure of the cell tagged
``key-figure`` (else the notebook's first figure) shrunk to :data:`THUMBNAIL_WIDTH` pixels as a
``data:`` URI. :func:`write_index` renders the cards with :func:`costtrend_nb.summary.render_index`
when a summary is given, else as a plain, styled list.

Example:
    >>> import nbformat.v4 as v4
    >>> nb = v4.new_notebook(cells=[v4.new_code_cell("x", metadata={"tags": ["takeaway"]},
    ...     outputs=[v4.new_output("execute_result", data={"text/markdown": "**¥12** spent"})])])
    >>> card(nb, "A report", "a.html").takeaway
    '¥12 spent'
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import re
from pathlib import Path
from typing import Any

from . import __version__
from .reportkernel import optimise_png
from .reportpage import STYLE, demo_banner

__all__ = ["THUMBNAIL_WIDTH", "card", "thumbnail", "write_index"]

THUMBNAIL_WIDTH = 480


def _tagged(nb: Any, tag: str) -> list[Any]:
    return [c for c in nb.cells if c.cell_type == "code" and tag in c.metadata.get("tags", [])]


def _plain(markdown: str) -> str:
    text = re.sub(r"(\*\*|__|`)", "", markdown)
    return " ".join(text.split())


def takeaway(nb: Any) -> str:
    """The text the cell tagged ``takeaway`` shows (markdown marks removed), or ""."""
    for cell in _tagged(nb, "takeaway"):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for kind in ("text/markdown", "text/plain"):
                if data.get(kind):
                    text = data[kind]
                    return _plain("".join(text) if isinstance(text, list) else str(text))
            if output.get("output_type") == "stream" and output.get("text"):
                return _plain(str(output["text"]))
    return ""


def _first_png(cells: list[Any]) -> str | None:
    for cell in cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                return "".join(png) if isinstance(png, list) else str(png)
    return None


def thumbnail(png_base64: str, width: int = THUMBNAIL_WIDTH) -> str:
    """A base64 PNG shrunk to ``width`` pixels wide (never enlarged), as a ``data:`` URI.

    Example:
        >>> from PIL import Image
        >>> buffer = io.BytesIO()
        >>> Image.new("RGB", (960, 400), "white").save(buffer, format="PNG")
        >>> uri = thumbnail(base64.b64encode(buffer.getvalue()).decode())
        >>> uri.startswith("data:image/png;base64,"), Image.open(io.BytesIO(
        ...     base64.b64decode(uri.split(",", 1)[1]))).size
        (True, (480, 200))
    """
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(png_base64))).convert("RGBA")
    if image.width > width:
        height = max(1, round(image.height * width / image.width))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=0)
    small = optimise_png(out.getvalue())
    return "data:image/png;base64," + base64.b64encode(small).decode("ascii")


def card(nb: Any, title: str, href: str, scope: str = "") -> Any:
    """The index card of an executed notebook."""
    png = _first_png(_tagged(nb, "key-figure")) or _first_png(
        [c for c in nb.cells if c.cell_type == "code"]
    )
    picture = thumbnail(png) if png else None
    from .summary import Card

    return Card(title=title, href=href, takeaway=takeaway(nb), thumbnail=picture, scope=scope)


def write_index(
    out: Path,
    cards: list[Any],
    *,
    summary: Any = None,
    demo: bool = False,
    generated_at: dt.datetime | None = None,
    lang: str = "en",
) -> Path:
    """Write ``out/index.html``: the summary's page when there is a summary, else the cards."""
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    page = None
    if summary is not None:
        from .summary import render_index

        page = render_index(summary, cards, generated_at=generated_at, lang=lang)
    if page is None:
        page = _plain_index(cards, demo=demo, generated_at=generated_at, lang=lang)
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _plain_index(
    cards: list[Any], *, demo: bool, generated_at: dt.datetime, lang: str = "en"
) -> str:
    items = []
    for c in cards:
        picture = (
            f"<img src='{c.thumbnail}' alt='' width='{THUMBNAIL_WIDTH // 2}' loading='lazy'>"
            if c.thumbnail
            else ""
        )
        items.append(
            f"<li class='card'><a href='{html.escape(c.href)}'>{picture}"
            f"<b>{html.escape(c.title)}</b></a>"
            f"<p>{html.escape(c.takeaway)}</p><p class='costtrend-scope'>{html.escape(c.scope)}</p>"
            "</li>"
        )
    local = generated_at.astimezone()
    made = (
        f"Made {local:%Y-%m-%d %H:%M %Z} ({generated_at.astimezone(dt.UTC):%H:%M} UTC) "
        f"by costtrend_nb {__version__}."
    )
    cards_css = (
        ".cards{list-style:none;padding:0;display:grid;gap:1rem;"
        "grid-template-columns:repeat(auto-fill,minmax(15rem,1fr))}"
        ".card{border:1px solid var(--line);border-radius:6px;padding:.75rem}"
        ".card img{display:block;margin-bottom:.5rem}.card a{text-decoration:none}"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1.0'>"
        f"<title>costtrend_nb reports</title><style>{STYLE}{cards_css}</style></head><body><main>"
        + (demo_banner(lang) if demo else "")
        + f"<h1>costtrend_nb reports</h1><ul class='cards'>{''.join(items)}</ul>"
        f"<footer class='costtrend-footer'>{html.escape(made)}</footer></main></body></html>"
    )
