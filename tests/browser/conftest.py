"""Real-browser set-up: Debian's Chromium driven by Playwright, with every network request blocked.

The whole ``browser`` set skips with one line when no Chromium is found (see ``chromium.py``);
Playwright never downloads a browser of its own. Reports open from files (``open_offline``);
the notebooks run in a JupyterLab on loopback (``lab_server``, ``lab_visit``; see ``lab.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from costtrend_nb.report import find_notebooks

from .chromium import find_chromium, skip_reason
from .lab import LAB_NOTEBOOKS, LabServer, copy_notebooks, start_lab

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

# no DNS for anything but loopback, no background fetches: nothing can leave the machine even
# where a request slipped past the page's routes
CHROMIUM_ARGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
    "--no-first-run",
]
CONSOLE_FAILURES = ("error", "assert")  # console message types that fail a page


@dataclass
class Visit:
    """One page opened with the network blocked, and everything it tried to do."""

    url: str
    page: Any  # playwright.sync_api.Page
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    console: list[str] = field(default_factory=list)  # console errors, as "type: text"
    errors: list[str] = field(default_factory=list)  # uncaught exceptions in the page

    def allowed(self, url: str) -> bool:
        """The page's own file and inline ``data:`` URLs; nothing else."""
        return url.split("#")[0] == self.url or url.startswith("data:")

    @property
    def outside(self) -> list[str]:
        """The requests for anything but the page itself."""
        return [url for url in dict.fromkeys(self.requests) if not self.allowed(url)]

    def route(self, route: Any) -> None:
        """Let the page's own file through; block and record everything else."""
        url = route.request.url
        self.requests.append(url)  # file:// included; the "request" event may miss some
        if self.allowed(url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def on_console(self, message: Any) -> None:
        if message.type in CONSOLE_FAILURES:
            self.console.append(f"{message.type}: {message.text}")

    def watch(self) -> None:
        """Record every request, web socket, console error and uncaught exception of the page."""
        self.page.context.route("**/*", self.route)
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("websocket", lambda socket: self.requests.append(socket.url))
        self.page.on("console", self.on_console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))


@dataclass
class LabVisit(Visit):
    """JupyterLab in a page: its own server (pages, API, kernel web sockets) and nothing else."""

    def allowed(self, url: str) -> bool:
        """The lab server's own addresses (http and ws) and inline ``data:``/``blob:`` URLs."""
        if url.startswith(("data:", "blob:")):
            return True
        scheme, _, rest = url.partition("://")
        return scheme in ("http", "ws") and rest.split("/")[0] == self.url.split("/")[2]


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    found = find_chromium()
    if found is None:
        pytest.skip(skip_reason())
    return found


@pytest.fixture(scope="module")
def browser(chromium_executable: str) -> Iterator[Any]:
    """Headless Debian Chromium, without its sandbox (which fails as root and in CI containers).

    Per module, not per session: Playwright's sync API keeps an event loop running in the main
    thread while it is open, and every later ``asyncio.run`` (the async client's tests) would
    fail with "cannot be called from a running event loop"."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable,
            headless=True,
            chromium_sandbox=False,  # Playwright passes --no-sandbox
            args=CHROMIUM_ARGS,
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def demo_reports(chromium_executable: str, demo_report_pages: list[Path]) -> dict[str, Path]:
    """The demo reports and their index (rendered once for the whole run): file name -> path."""
    return {path.name: path for path in demo_report_pages}


@pytest.fixture(scope="module")
def open_offline(browser: Any, demo_reports: dict[str, Path]) -> Iterator[Callable[..., Visit]]:
    """Open a rendered page (once per name and viewport) with every request but its own blocked."""
    visits: dict[tuple[str, bool], Visit] = {}
    contexts: list[Any] = []

    def open_page(name: str, *, phone: bool = False) -> Visit:
        if (name, phone) in visits:
            return visits[name, phone]
        if phone:  # a phone: 390 CSS px wide, laid out as a mobile browser does
            view = {"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                    "has_touch": True, "device_scale_factor": 3}  # fmt: skip
        else:
            view = {"viewport": {"width": 1280, "height": 900}}
        context = browser.new_context(service_workers="block", **view)
        contexts.append(context)
        visit = Visit(demo_reports[name].resolve().as_uri(), context.new_page())
        visit.watch()
        visit.page.goto(visit.url, wait_until="networkidle", timeout=30_000)
        visits[name, phone] = visit
        return visit

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def lab_server(
    chromium_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    """JupyterLab on a free loopback port over a copy of the notebooks driven in the browser."""
    base = tmp_path_factory.mktemp("lab")
    copy_notebooks(find_notebooks()[0].parent, base / "notebooks", LAB_NOTEBOOKS)
    server = start_lab(base / "notebooks", base / "home")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lab_visit(browser: Any, lab_server: LabServer) -> Iterator[LabVisit]:
    """JupyterLab's start page in one tab, every request but the server's blocked and recorded."""
    context = browser.new_context(service_workers="block", viewport={"width": 1280, "height": 900})
    visit = LabVisit(lab_server.url, context.new_page())
    visit.watch()
    visit.page.goto(f"{lab_server.url}lab?token={lab_server.token}", timeout=60_000)
    # the launcher lists the kernels once lab knows them: a notebook opened earlier asks which
    visit.page.locator('.jp-LauncherCard[data-category="Notebook"]').first.wait_for(timeout=60_000)
    visit.page.locator(".jp-DirListing-item").first.wait_for(timeout=60_000)
    yield visit
    context.close()
