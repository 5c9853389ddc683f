"""Issue 13, points 1 and 9: a report opened offline loads nothing but itself; no kernel noise."""

import re
from html.parser import HTMLParser

import pytest

from costtrend_nb import cli, report
from costtrend_nb.report import find_notebooks

URL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http(s)://, //host, any scheme://
JS_URL = re.compile(
    r"""(?:\bimport\s*\(?|\bfrom|\brequire\s*\(\s*\[?|\bimportScripts\s*\()\s*"""
    r"""["'`]\s*(?:https?:)?//""",
    re.I,
)


@pytest.fixture(scope="module")
def pages(demo_report_pages):
    return {p.name: p.read_text(encoding="utf-8") for p in demo_report_pages}


class Fetches(HTMLParser):
    """Everything a browser would fetch when a page opens: src, stylesheets, JS imports."""

    def __init__(self):
        super().__init__()
        self.remote, self.script, self.in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        rel = (attrs.get("rel") or "").lower()
        for key in ("src", "srcset", "data", "poster"):
            if URL.match(attrs.get(key) or ""):
                self.remote.append(f"<{tag} {key}={attrs[key]}>")
        linked = rel not in ("", "canonical", "author", "license", "help")
        if tag == "link" and linked and URL.match(attrs.get("href") or ""):
            self.remote.append(f"<link rel={rel} href={attrs['href']}>")
        self.in_script = tag in ("script", "style")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.in_script = False

    def handle_data(self, data):
        if self.in_script:
            self.script.append(data)


def test_pages_are_the_reports_and_the_index(pages):
    assert set(pages) == {f"{p.stem}.html" for p in find_notebooks()} | {"index.html"}


@pytest.mark.parametrize("name", [f"{p.stem}.html" for p in find_notebooks()] + ["index.html"])
def test_page_loads_nothing_from_the_web(pages, name):
    assert_offline(pages[name])


def assert_offline(page):
    parser = Fetches()
    parser.feed(page)
    parser.close()
    assert parser.remote == []
    code = "\n".join(parser.script)
    assert JS_URL.findall(code) == []
    # a URL in a script string is a fetch waiting to happen (the widget loader assigns one to
    # a script element's src); CSS may only reach URLs through url(data:...)
    assert re.findall(r"""["'`](?:https?:)?//[^"'`\s]+""", code) == []
    assert re.findall(r"""@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//""", code) == []
    assert re.findall(r"""url\(\s*["']?\s*(?:https?:)?//""", code) == []


@pytest.mark.parametrize("name", [f"{p.stem}.html" for p in find_notebooks()])
def test_report_carries_no_widget_state(pages, name):
    page = pages[name]
    assert "application/vnd.jupyter.widget-state+json" not in page
    assert "application/vnd.jupyter.widget-view+json" not in page
    assert "@jupyter-widgets/html-manager" not in page


def test_widget_state_and_views_are_stripped_before_export():
    """tqdm shows its bar only after two seconds, so build the notebook it would leave."""
    import nbformat.v4 as v4

    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    nb = v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# A report"),
            v4.new_code_cell(
                "bar()",
                outputs=[
                    v4.new_output(
                        "display_data",
                        data={report.WIDGET_VIEW_MIME: view, "text/plain": "  0%|  | 0/3"},
                    ),
                    v4.new_output("display_data", data={"text/plain": "kept"}),
                ],
            ),
        ]
    )
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}
    }
    body, _ = report._exporter().from_notebook_node(report._strip_widgets(nb))
    assert "widgets" not in nb.metadata and "kept" in body and "0/3" not in body
    assert "widget-state+json" not in body and "widget-view+json" not in body
    assert_offline(body)
    assert "<script" not in body  # neither require.js, MathJax, mermaid nor the widget loader


def test_report_command_prints_no_kernel_warning_and_one_bar(tmp_path, capfd, monkeypatch):
    monkeypatch.delenv("COSTTREND_NB_PROGRESS", raising=False)
    assert cli.main(["report", "00", "--demo", "--budget", "78000", "-o", str(tmp_path)]) == 0
    captured = capfd.readouterr()
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Month to date" in index and "¥47,701.46" in index and "Demo data" in index
    assert "78,000" in index  # the budget reaches the summary heading the index
    assert "without encryption" not in captured.err + captured.out
    assert "IPKernelApp" not in captured.err + captured.out
    assert "WARNING" not in captured.err.upper()
    # one bar, redrawn in place (carriage returns) on one line, naming the notebook
    bars = [line for line in captured.err.split("\n") if "notebook" in line and "|" in line]
    assert len(bars) <= 1 and "00-getting-started" in bars[0]
    assert (tmp_path / "00-getting-started.html").is_file()


def test_report_in_chinese(tmp_path, capsys):
    """--lang zh: figures (their alt text), table headers and the index in the vendor's terms."""
    from bs4 import BeautifulSoup

    from costtrend_nb import lang

    assert cli.main(["report", "01", "--demo", "--lang", "zh", "-o", str(tmp_path)]) == 0
    page = BeautifulSoup(
        (tmp_path / "01-period-over-period.html").read_text("utf-8"), "html.parser"
    )
    alts = [img["alt"] for img in page.find_all("img")]
    if lang.cjk_font() is not None:  # without one, figures fall back to English (tested in test_zh)
        assert alts and all("消费金额" in alt for alt in alts)
    headers = {th.get_text() for th in page.find_all("th")}
    assert {"上期", "本期", "变化率"} <= headers and "Previous" not in headers
    # the demo banner in the page's language, worded as on the index
    banner = page.find(class_="costtrend-demo").get_text()
    assert banner == lang.t(lang.DEMO_NOTICE, "zh") and banner.startswith("演示数据")
    index = BeautifulSoup((tmp_path / "index.html").read_text("utf-8"), "html.parser")
    assert "模型路由消费报告" in index.find("h1").get_text() and "本月截至目前" in index.get_text()
