"""`costtrend-nb report` on the demo: every notebook, as a self-contained, honest HTML file."""

import re
from html import escape as html_escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from costtrend_nb import cli
from costtrend_nb.emulator import DEMO_ACCESS_KEY_SECRET
from costtrend_nb.report import find_notebooks, render_reports

ROOT = Path(__file__).resolve().parents[1]
FIGURES = {
    "00-getting-started": 2,
    "01-period-over-period": 3,
    "02-model-type-breakdown": 5,
    "03-forecast-overlay": 3,
    "04-showback": 3,
}


@pytest.fixture(scope="module")
def reports(demo_report_pages):
    *paths, index = demo_report_pages
    assert [p.stem for p in paths] == [p.stem for p in find_notebooks()]  # the order given
    return {p.stem: p.read_text(encoding="utf-8") for p in paths}, index.parent


class Checker(HTMLParser):
    """Parses a page and records its tags; HTMLParser raises on what it cannot read."""

    def __init__(self):
        super().__init__()
        self.tags, self.images, self.external = [], 0, []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if tag == "img" and (attrs.get("src") or "").startswith("data:image/png;base64,"):
            self.images += 1
        for key in ("src", "href"):
            if tag in ("script", "link", "img") and (attrs.get(key) or "").startswith(
                ("http://", "https://", "//")
            ):
                self.external.append(attrs[key])


def test_every_notebook_has_a_report(reports):
    pages, out = reports
    assert set(pages) == set(FIGURES) == {p.stem for p in find_notebooks()}
    index = (out / "index.html").read_text()
    assert all(f"{name}.html" in index for name in FIGURES)


@pytest.mark.parametrize("name", list(FIGURES))
def test_report_is_valid_self_contained_html_with_its_figures(reports, name):
    page = reports[0][name]
    assert page.lstrip().lower().startswith("<!doctype html>")
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert {"html", "head", "title", "body"} <= set(checker.tags)
    assert page.rstrip().endswith("</html>")
    assert checker.images == FIGURES[name]
    assert checker.external == []  # nothing is fetched when the file opens


@pytest.mark.parametrize("name", list(FIGURES))
def test_report_has_title_contents_and_footer(reports, name):
    page = reports[0][name]
    assert re.search(r"<title>[^<]+</title>", page)
    toc = re.search(r"<nav class='costtrend-toc'[^>]*>(.*?)</nav>", page).group(1)
    assert toc.count("<li") >= 4
    footer = page[page.index("costtrend-footer") :]
    for label in ("Query", "Time zone", "Data as of", "API calls", "costtrend_nb", "Data hash"):
        assert f">{label}</th>" in footer
    assert "2026-11-20T14:30:00+08:00" in footer and "Asia/Shanghai" in footer
    # the footer only, not the notebook's copy
    assert page.count("<table class='costtrend-provenance'") == 1


@pytest.mark.parametrize("name", list(FIGURES))
def test_report_has_no_traceback_no_stderr_no_secret_no_headers(reports, name):
    page = reports[0][name]
    assert "Traceback" not in page
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page
    assert DEMO_ACCESS_KEY_SECRET not in page
    assert "x-acs-" not in page.lower()
    if name != "04-showback":  # the only notebook without widgets
        assert "interactive = True" in page  # the note that replaces widgets in reports


def test_report_command_passes_parameters_and_checks_names(tmp_path, capsys):
    code = cli.main(
        [
            "report",
            "03",
            "--demo",
            "--start",
            "2026-06-01",
            "--end",
            "2026-11-21",
            "--model-types",
            "Chat,TTS",
            "-o",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr()
    assert str(tmp_path / "03-forecast-overlay.html") in out.out
    page = (tmp_path / "03-forecast-overlay.html").read_text()
    assert "2026-06-01T00:00:00+08:00" in page and "model types Chat, TTS" in page
    # the header under the title says what the page covers, filters included
    scope = re.search(r"</h1><p class='costtrend-scope'>([^<]*)</p>", page).group(1)
    assert scope.startswith("2026-06-01 – 2026-11-20 · daily · Asia/Shanghai")
    assert "model types Chat, TTS · all departments" in scope
    assert cli.main(["report", "nope", "-o", str(tmp_path)]) == 2
    assert "names 0 notebooks" in capsys.readouterr().err
    assert (
        cli.main(["report", "--start", "2026-12-01", "--end", "2026-11-01", "-o", str(tmp_path)])
        == 2
    )


def test_stored_notebooks_are_demo_runs_with_parameters_cells():
    import json

    for path in find_notebooks():
        nb = json.loads(path.read_text())
        tags = [cell.get("metadata", {}).get("tags", []) for cell in nb["cells"]]
        assert sum("parameters" in t for t in tags) == 1
        source = "".join(
            next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))[
                "source"
            ]
        )
        for name in (
            "start",
            "end",
            "tz",
            "granularity",
            "model_types",
            "client_ids",
            "interactive = True",
        ):
            assert name in source
        outputs = json.dumps([c.get("outputs", []) for c in nb["cells"]])
        assert "Demo data: the built-in emulator" in outputs and "Live data" not in outputs
        assert DEMO_ACCESS_KEY_SECRET not in outputs and "widgets" not in nb["metadata"]


def test_binder_files():
    assert (ROOT / "postBuild").read_text().strip().endswith("python -m pip install --no-deps -e .")
    assert not (ROOT / "binder").exists()
    readme = (ROOT / "README.md").read_text()
    assert re.search(
        r"https://mybinder\.org/v2/gh/[^)\s]+/HEAD\?urlpath=lab/tree/notebooks/00-getting-started\.ipynb",
        readme,
    )


def test_make_demo_prints_the_report_path():
    makefile = (ROOT / "Makefile").read_text()
    assert "costtrend-nb report --demo" in makefile


# -- issue 13, points 2, 4, 6 and 8 (report side) ----------------------------------------------

IMG = re.compile(r"<img\b[^>]*>")


def _attributes(tag):
    return dict(re.findall(r'(\w+)="([^"]*)"', tag))


@pytest.mark.parametrize("name", list(FIGURES))
def test_demo_report_is_at_most_400_kb(reports, name):
    size = len(reports[0][name].encode("utf-8"))
    assert size <= 400_000, f"{name} is {size:,} bytes"
    assert "--jp-" not in reports[0][name]  # the lab theme's stylesheet is not carried


@pytest.mark.parametrize("name", list(FIGURES))
def test_report_figures_are_2x_pngs_with_size_and_alt_text(reports, name):
    import base64
    import io

    from PIL import Image

    tags = IMG.findall(reports[0][name])
    assert len(tags) == FIGURES[name]
    for tag in tags:
        attrs = _attributes(tag)
        png = base64.b64decode(attrs["src"].split(",", 1)[1])
        width, height = Image.open(io.BytesIO(png)).size
        assert (int(attrs["width"]) * 2, int(attrs["height"]) * 2) == (width, height)
        alt = attrs["alt"]
        assert "No description" not in alt and alt != "A chart"
        assert len(alt) > 20 and alt[0].isupper(), alt  # the figure's title and scope


@pytest.mark.parametrize("name", list(FIGURES))
def test_report_header_says_what_it_covers_under_a_demo_banner(reports, name):
    page = reports[0][name]
    main = page[page.index("<main>") + len("<main>") :]
    assert main.startswith("<div class='costtrend-demo' role='note'>Demo data")
    scope = re.search(r"</h1><p class='costtrend-scope'>([^<]*)</p>", page).group(1)
    assert re.match(r"\d{4}-\d\d-\d\d – \d{4}-\d\d-\d\d · daily · Asia/Shanghai · ", scope)
    assert scope.endswith("all model types · all departments")
    assert re.search(r'<meta content="width=device-width[^>]*name="viewport"', page)


def test_index_has_a_card_per_report(reports):
    pages, out = reports
    index = (out / "index.html").read_text()
    assert "costtrend-demo" in index and '<meta name="viewport"' in index.replace("'", '"')
    thumbnails = re.findall(r"<img src='data:image/png;base64,", index)
    assert len(thumbnails) == len(pages)
    for name, page in pages.items():
        title = re.search(r"<title>([^<]+)</title>", page).group(1)
        assert f"href='{name}.html'" in index and html_escape(title) in index
    assert "¥" in index  # the takeaways carry the numbers


def test_scope_names_members_and_api_key_and_a_live_page_has_no_banner():
    from costtrend_nb.reportpage import decorate, is_demo, scope_text

    record = {
        "source": "Live data: example.com.",
        "tz": "UTC",
        "query": {
            "start": "2026-11-18T00:00:00+00:00",
            "end": "2026-11-18T06:00:00+00:00",
            "granularity": "hourly",
            "client_ids": [3, 4],
            "member_user_ids": ["u1"],
            "api_key_id": 7,
        },
    }
    assert scope_text(record) == (
        "2026-11-18 00:00 – 2026-11-18 06:00 (end exclusive) · hourly · UTC · all model types"
        " · departments 3, 4 · members u1 · API key 7"
    )
    assert not is_demo(record) and is_demo({"source": "Demo data: the built-in emulator."})
    page = decorate("<main><h1>T</h1><p>x</p></main>", "T", record, "<footer>f</footer>")
    assert (
        "costtrend-demo" not in page and "API key 7" in page and "<footer>f</footer></main>" in page
    )


def _notebook_with_figures():
    import base64
    import io

    import nbformat.v4 as v4
    from PIL import Image

    def png(width, colour):
        buffer = io.BytesIO()
        Image.new("RGB", (width, width // 2), colour).save(buffer, format="PNG")
        return base64.b64encode(buffer.getvalue()).decode()

    def figure(data, tags=()):
        output = v4.new_output("display_data", data={"image/png": data, "text/plain": "<Figure>"})
        return v4.new_code_cell("plot()", metadata={"tags": list(tags)}, outputs=[output])

    takeaway = v4.new_output("execute_result", data={"text/markdown": "**¥1,234.00** spent"})
    return v4.new_notebook(
        cells=[
            figure(png(1200, "red")),
            v4.new_code_cell("x", metadata={"tags": ["takeaway"]}, outputs=[takeaway]),
            figure(png(1800, "blue"), ["key-figure"]),
        ]
    )


def test_card_takes_the_takeaway_and_shrinks_the_key_figure():
    import base64
    import io

    from PIL import Image

    from costtrend_nb.reportindex import THUMBNAIL_WIDTH, card

    made = card(_notebook_with_figures(), "A report", "a.html", scope="2026-11-01 – 2026-11-19")
    assert (made.title, made.href, made.takeaway) == ("A report", "a.html", "¥1,234.00 spent")
    assert made.scope == "2026-11-01 – 2026-11-19"
    image = Image.open(io.BytesIO(base64.b64decode(made.thumbnail.split(",", 1)[1])))
    assert image.size == (THUMBNAIL_WIDTH, THUMBNAIL_WIDTH // 2)
    assert image.convert("RGBA").getpixel((5, 5))[:3] == (0, 0, 255)  # the key figure


def test_index_uses_the_summary_page_when_there_is_one(tmp_path, monkeypatch):
    import sys
    import types

    from costtrend_nb.reportindex import write_index
    from costtrend_nb.summary import Card

    calls = []
    fake = types.ModuleType("costtrend_nb.summary")
    fake.Card = Card
    fake.render_index = lambda summary, cards, *, generated_at=None, lang="en": (
        calls.append((summary, cards, lang)) or "<!DOCTYPE html><p>summary</p>"
    )
    monkeypatch.setitem(sys.modules, "costtrend_nb.summary", fake)
    cards = [Card("A", "a.html", "¥1 spent")]
    assert write_index(tmp_path, cards, summary="S").read_text() == "<!DOCTYPE html><p>summary</p>"
    assert calls == [("S", cards, "en")]
    plain = write_index(tmp_path, cards, demo=True).read_text()  # no summary: the cards alone
    assert "costtrend-demo" in plain and "¥1 spent" in plain and "href='a.html'" in plain


def _write_notebook(path, *sources):
    import nbformat
    import nbformat.v4 as v4

    nb = v4.new_notebook(
        cells=[v4.new_code_cell("demo = None", metadata={"tags": ["parameters"]})]
        + [v4.new_code_cell(source) for source in sources]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))
    return path


def test_a_reused_kernel_starts_each_notebook_clean(tmp_path):
    from costtrend_nb.reportrun import run_notebooks

    first = _write_notebook(
        tmp_path / "a.ipynb",
        "import warnings, matplotlib, pandas as pd, os\n"
        "leftover = 1\n"
        "matplotlib.rcParams['lines.linewidth'] = 9\n"
        "pd.set_option('display.max_columns', 3)\n"
        "warnings.simplefilter('ignore')\n"
        "os.environ['LEFTOVER'] = '1'\n"
        "warnings.warn('once per notebook')",
    )
    second = _write_notebook(
        tmp_path / "b.ipynb",
        "import warnings, matplotlib, pandas as pd, os\n"
        "print('leftover' in globals(), matplotlib.rcParams['lines.linewidth'],\n"
        "      pd.get_option('display.max_columns'), 'LEFTOVER' in os.environ, demo)\n"
        "warnings.warn('once per notebook')",
    )

    def outputs(path, nb):
        return [o.get("text", "") for c in nb.cells for o in c.get("outputs", [])]

    _, seen = run_notebooks([first, second], {"demo": True}, finish=outputs, workers=1)
    assert seen[0].startswith("False 1.5 ") and seen[0].endswith(" False True\n")
    assert "once per notebook" in seen[1]  # the first notebook's filter is gone


def test_report_kernels_draw_each_figure_once_for_the_page(tmp_path):
    """pyplot's after-cell redraw of every figure was a wasted 1x draw (a fifth of a report)."""
    from costtrend_nb.reportrun import run_notebooks

    path = _write_notebook(
        tmp_path / "a.ipynb",
        "import matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(layout='constrained')\n"
        "draws = []\n"
        "fig.canvas.mpl_connect('draw_event', lambda event: draws.append(event))\n"
        "_ = ax.plot([1, 2])",
        "print(len(draws))",
    )

    def outputs(path, nb):
        return [o.get("text", "") for c in nb.cells for o in c.get("outputs", [])]

    (seen,) = run_notebooks([path], {"demo": True}, finish=outputs, workers=1)
    # one draw for the layout and one for the 2x PNG, both inside print_figure
    assert seen[-1] == "2\n"


def test_notebooks_start_longest_first_and_come_back_in_order(tmp_path):
    import nbformat

    from costtrend_nb.reportrun import run_notebooks

    paths = [_write_notebook(tmp_path / f"{name}.ipynb", "x = 1") for name in "abc"]
    for path, seconds in zip(paths, ["1", "3", "2"], strict=True):
        nb = nbformat.read(str(path), as_version=4)
        nb.cells[-1].metadata["execution"] = {
            "iopub.execute_input": "2026-12-04T10:00:00Z",
            "shell.execute_reply": f"2026-12-04T10:00:0{seconds}Z",
        }
        nbformat.write(nb, str(path))
    started: list[str] = []
    names = run_notebooks(
        paths, {}, finish=lambda path, nb: path.stem, workers=1,
        on_start=lambda path: started.append(path.stem),
    )  # fmt: skip
    assert started == ["b", "c", "a"] and names == ["a", "b", "c"]


def test_a_failing_cell_is_named(tmp_path):
    from costtrend_nb.report import ReportError

    path = _write_notebook(tmp_path / "bad.ipynb", "x = 1", "1 / 0")
    with pytest.raises(ReportError, match=r"bad\.ipynb failed in cell 3: ZeroDivisionError"):
        render_reports([path], tmp_path / "out", progress=False)
