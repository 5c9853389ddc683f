"""`costtrend-nb report` on the demo: every notebook, as a self-contained, honest HTML file."""

import re
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
    "03-forecast-overlay": 2,
    "04-showback": 3,
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    paths = render_reports(None, out, demo=True, progress=False)
    return {p.stem: p.read_text(encoding="utf-8") for p in paths}, out


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
    assert "costtrend-toc" in page and page.count("<li style='margin-left:") >= 4
    footer = page[page.index("costtrend-footer") :]
    for label in ("Query", "Time zone", "Data as of", "API calls", "costtrend_nb", "Data hash"):
        assert f">{label}</th>" in footer
    assert "2026-11-20T14:30:00+08:00" in footer and "Asia/Shanghai" in footer
    assert page.count("costtrend-provenance") == 1  # the footer only, not the notebook's copy


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
