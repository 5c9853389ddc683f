"""Issues 13 (point 1) and 14 (point 6): every HTML report, opened in headless Chromium with the
network blocked, loads nothing but itself, raises no console error and shows its figures."""

from __future__ import annotations

import pytest

from costtrend_nb.report import find_notebooks

from .chromium import find_chromium, skip_reason

pytestmark = pytest.mark.browser
if find_chromium() is None:  # one line in the summary, not one per test
    pytest.skip(skip_reason(), allow_module_level=True)

REPORTS = [f"{path.stem}.html" for path in find_notebooks()]
PAGES = [*REPORTS, "index.html"]
PHONE_WIDTH = 390

# every <img> asked to load now (not lazily), then: the ones that did not load
BROKEN_IMAGES = """async () => {
    const images = [...document.images];
    images.forEach(img => { img.loading = "eager"; });
    await Promise.all(images.map(img => img.decode().catch(() => null)));
    return images.filter(img => !(img.complete && img.naturalWidth > 0))
                 .map(img => (img.alt || "(no alt)") + " <- " + img.src.slice(0, 60));
}"""

# the in-page contents links, and those whose target is not on the page
CONTENTS = """() => {
    const links = [...document.querySelectorAll('nav a[href^="#"]')];
    const target = a => document.getElementById(decodeURIComponent(a.hash.slice(1)));
    return {links: links.length, dangling: links.filter(a => !target(a)).map(a => a.hash)};
}"""


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_nothing_but_itself(open_offline, name):
    visit = open_offline(name)
    assert visit.outside == [], f"{name} asked for {visit.outside}"


@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_console_error_or_exception(open_offline, name):
    visit = open_offline(name)
    assert visit.console == [], f"{name} logged {visit.console}"
    assert visit.errors == [], f"{name} raised {visit.errors}"


@pytest.mark.parametrize("name", PAGES)
def test_every_image_loads(open_offline, name):
    page = open_offline(name).page
    assert page.evaluate(BROKEN_IMAGES) == [], f"{name}: images that did not load"
    if name in REPORTS:
        assert page.evaluate("document.images.length") >= 1, f"{name} shows no figure"


@pytest.mark.parametrize("name", REPORTS)
def test_report_has_a_contents_list(open_offline, name):
    contents = open_offline(name).page.evaluate(CONTENTS)
    assert contents["links"] >= 1, f"{name} has no contents list (<nav> of #links)"
    assert contents["dangling"] == [], f"{name}: contents links to nothing"


def test_index_fits_a_phone(open_offline):
    visit = open_offline("index.html", phone=True)
    width = visit.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH + 1, f"index.html is {width} px wide on a {PHONE_WIDTH} px phone"
    assert visit.outside == [] and visit.console == [] and visit.errors == []
