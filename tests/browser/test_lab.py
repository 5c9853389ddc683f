"""Issue 14 (point 6): the dashboards in real JupyterLab, driven in headless Chromium.

One lab server per module over a copy of the notebooks (``conftest.lab_server``), one page for
both notebooks (``conftest.lab_visit``), every request outside the server blocked. Each notebook
runs whole through Run > Run All Cells; then one data control and one view control of its
dashboard change, and each change must redraw the figure, show the busy indicator and clear it,
and leave no error output and no console error.

The dashboards' side of the contract (``costtrend_nb/widgets``): the figure's image marked
``.costtrend-figure``, ``.costtrend-busy`` saying "Updating…" while busy and empty when idle,
``.costtrend-error`` holding the error text, and the controls ``disabled`` while busy.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .chromium import find_chromium, skip_reason
from .lab import LAB_NOTEBOOKS, LabServer

pytestmark = pytest.mark.browser
if find_chromium() is None:  # one line in the summary, not one per test
    pytest.skip(skip_reason(), allow_module_level=True)

RUN_TIMEOUT = 120_000  # ms for a notebook to run (about 10 s on two busy cores)
CHANGE_TIMEOUT = 60_000  # ms for one control's redraw
# the busy indicator must show within 100 ms of a change (issue 14); measured in the page, the
# kernel's round trip included, on shared CI cores: a bound that still tells "at the start"
# from "once the work is done" (a redraw takes about a second)
BUSY_WITHIN_MS = 500

# the shown figure's image: the dashboards mark it .costtrend-figure (an Image widget, or
# around an <img>); an Output's image otherwise
FIGURE = """root => {
    const shown = selector => [...root.querySelectorAll(selector)].filter(i => i.checkVisibility());
    return [...shown('img.costtrend-figure, .costtrend-figure img'), ...shown('.widget-output img')][0];
}"""
FIGURE_SRC = f"""root => {{ const img = ({FIGURE})(root); return img ? img.src : null; }}"""

# every code cell has run (a number in its prompt), or the run stopped: a cell failed and
# nothing is queued or running
RUN_DONE = """panel => {
    const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
        .map(p => p.textContent.trim());
    const idle = panel.querySelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
    const failed = panel.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
    if (prompts.some(p => p.includes('*'))) return false;
    return Boolean(idle) && (prompts.every(p => /^\\[\\d+\\]:$/.test(p)) || Boolean(failed));
}"""

# what a notebook shows that a reader would take for an error
ERROR_OUTPUTS = """panel => [...new Set([
    ...panel.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'),
    ...[...panel.querySelectorAll('.jp-RenderedText')]
        .filter(e => /Traceback|Error/.test(e.textContent)),
    ...[...panel.querySelectorAll('.costtrend-error')].filter(e => e.textContent.trim()),
])].map(e => e.textContent.trim().slice(0, 400))"""

# the dashboard's texts cut short by their box (an ellipsis or clipping): control labels, tab
# titles, buttons
CUT_LABELS = """root => [...root.querySelectorAll('label, .lm-TabBar-tabLabel, button')]
    .filter(e => e.checkVisibility() && e.textContent.trim() && e.scrollWidth > e.clientWidth)
    .map(e => `${e.textContent.trim()} (${e.scrollWidth} > ${e.clientWidth} px)`)"""

# Installed before a change: a MutationObserver records every text the busy indicator shows
# (even for a moment: the added nodes are read from the records, not from the page later) and
# every control that becomes disabled.
WATCH = """root => {
    const seen = {busy: [], disabled: [], changed_at: null, busy_at: null};
    const inBusy = node => {
        const element = node && (node.nodeType === 1 ? node : node.parentElement);
        return Boolean(element && element.closest('.costtrend-busy'));
    };
    const note = text => {
        text = (text || '').trim();
        if (text && seen.busy_at === null) seen.busy_at = performance.now();
        if (text && !seen.busy.includes(text)) seen.busy.push(text);
    };
    // when the reader's change reached the page: the first input, change or click in it
    for (const type of ['input', 'change', 'click']) {
        root.addEventListener(type, () => { seen.changed_at ??= performance.now(); },
                              {capture: true, once: true});
    }
    const observer = new MutationObserver(records => {
        for (const record of records) {
            if (record.type === 'attributes') {
                if (record.oldValue === null && record.target.hasAttribute('disabled'))
                    seen.disabled.push(record.target.outerHTML.slice(0, 80));
                continue;
            }
            if (inBusy(record.target)) {
                note(record.target.textContent);
                record.addedNodes.forEach(node => note(node.textContent));
            }
            record.addedNodes.forEach(node => {
                if (node.nodeType === 1) node.querySelectorAll('.costtrend-busy')
                    .forEach(e => note(e.textContent));
            });
        }
    });
    observer.observe(root, {subtree: true, childList: true, characterData: true,
                            attributes: true, attributeFilter: ['disabled'],
                            attributeOldValue: true});
    const disabled = [...root.querySelectorAll('select, input, button, textarea')]
        .filter(e => e.disabled);
    window.__costtrendWatch = {seen, observer, disabled};
}"""

# the page once a change is done: the figure differs and no busy indicator says anything
SETTLED = f"""([root, before]) => {{
    const img = ({FIGURE})(root);
    const busy = [...root.querySelectorAll('.costtrend-busy')].some(e => e.textContent.trim());
    const error = [...root.querySelectorAll('.costtrend-error')].some(e => e.textContent.trim());
    return !busy && (error || Boolean(img && img.src !== before));
}}"""

# the dashboard at rest: nothing busy, and the shown board has its figure (or its error)
AT_REST = f"""root => {{
    const texts = selector => [...root.querySelectorAll(selector)].map(e => e.textContent.trim());
    if (texts('.costtrend-busy').some(Boolean)) return false;
    return Boolean(({FIGURE})(root)) || texts('.costtrend-error').some(Boolean);
}}"""

UNWATCH = """root => {
    const {seen, observer, disabled} = window.__costtrendWatch;
    observer.takeRecords();
    observer.disconnect();
    const late = seen.busy_at === null || seen.changed_at === null ? null
        : Math.round(seen.busy_at - seen.changed_at);
    return {
        busy_after_ms: late,
        busy: seen.busy,
        disabled: seen.disabled,
        busy_after: [...root.querySelectorAll('.costtrend-busy')].map(e => e.textContent.trim())
            .filter(Boolean),
        disabled_after: [...root.querySelectorAll('select, input, button, textarea')]
            .filter(e => e.disabled && !disabled.includes(e)).map(e => e.outerHTML.slice(0, 80)),
        errors: [...root.querySelectorAll('.costtrend-error')].map(e => e.textContent.trim())
            .filter(Boolean),
        has_busy: root.querySelectorAll('.costtrend-busy').length > 0,
    };
}"""


@dataclass(frozen=True)
class Change:
    """One control of a notebook's dashboard set to a new value, as a reader would."""

    notebook: str
    kind: str  # "data" (fetches) or "view" (redraws)
    label: str  # the control's description
    value: str  # an option's label, a toggle button's text, or "+N days" for a date

    def __str__(self) -> str:
        return f"{self.notebook[:2]}-{self.kind}-{self.label}"


CHANGES = [
    Change(LAB_NOTEBOOKS[0], "data", "From", "+10 days"),
    Change(LAB_NOTEBOOKS[0], "view", "Period", "Week"),
    Change(LAB_NOTEBOOKS[1], "data", "Buckets", "Hourly"),
    Change(LAB_NOTEBOOKS[1], "view", "Metric", "Calls"),
]


@dataclass
class Outcome:
    """What one change did in the page."""

    before: str | None  # the figure's image source before, and after
    after: str | None
    seconds: float  # from the change to the new figure (or an error)
    watched: dict[str, Any]  # the busy texts and disabled controls seen, what remained
    console: list[str]  # console errors and uncaught exceptions during the change
    errors: list[str]  # error outputs in the notebook afterwards
    shot: Path


class NotRun(Exception):
    """A notebook that could not be opened or run through."""


@dataclass
class Lab:
    """The notebooks open in one JupyterLab page: opened, run and changed once each."""

    visit: Any  # conftest.LabVisit
    server: LabServer
    shots: Path
    panels: dict[str, str] = field(default_factory=dict)  # notebook -> its panel's DOM id
    runs: dict[str, float] = field(default_factory=dict)  # notebook -> seconds to run all
    failures: dict[str, str] = field(default_factory=dict)  # notebook -> why it did not run
    outcomes: dict[Change, Outcome] = field(default_factory=dict)

    @property
    def page(self) -> Any:
        return self.visit.page

    def panel(self, notebook: str) -> Any:
        """The notebook's panel, brought to the front (opened and run the first time).

        A notebook that did not run fails every test that needs it at once, with the reason."""
        if notebook not in self.panels and notebook not in self.failures:
            try:
                self._open_and_run(notebook)
            except NotRun as reason:
                self.failures[notebook] = str(reason)
        if notebook in self.failures:
            pytest.fail(self.failures[notebook])
        panel = self.page.locator(f"#{self.panels[notebook]}")
        if not panel.is_visible():
            self._tab(notebook).click()
            panel.wait_for(state="visible")
        return panel

    def dashboard(self, notebook: str) -> Any:
        """The output of the notebook's dashboard cell (the one cell showing widgets)."""
        return self._dashboard(self.panel(notebook))

    def _dashboard(self, panel: Any) -> Any:
        widgets = self.page.locator(".jp-OutputArea-output .jupyter-widgets")
        cell = panel.locator(".jp-CodeCell").filter(has=widgets).last
        return cell.locator(".jp-Cell-outputArea")

    def _tab(self, notebook: str) -> Any:
        return self.page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=notebook).first

    def _open_and_run(self, notebook: str) -> None:
        """Open from the file browser, wait for the kernel, Run > Run All Cells, wait till done."""
        page = self.page
        page.locator(".jp-DirListing-item", has_text=notebook).dblclick()
        self._tab(notebook).wait_for()
        self.panels[notebook] = str(self._tab(notebook).get_attribute("data-id"))
        panel = page.locator(f"#{self.panels[notebook]}")
        self._wait_for_kernel(notebook)
        panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for()
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel:visible", has_text=re.compile(r"^Run All Cells$")).click()
        started = time.perf_counter()
        shot = self.shots / f"{notebook[:2]}-run.png"
        try:
            page.wait_for_function(RUN_DONE, arg=panel.element_handle(), timeout=RUN_TIMEOUT)
            self.runs[notebook] = time.perf_counter() - started
            self._dashboard(panel).wait_for(timeout=10_000)
        except PlaywrightTimeout:
            pass  # said below, with what the notebook shows
        prompts = [
            p.strip() for p in panel.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        ]
        if notebook not in self.runs or not all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            page.screenshot(path=shot)
            status = panel.locator(".jp-Notebook-ExecutionIndicator").get_attribute("data-status")
            raise NotRun(
                f"{notebook} did not run through: kernel {status}, prompts {prompts}, "
                f"errors {panel.evaluate(ERROR_OUTPUTS)} ({shot})"
            )
        if not self._dashboard(panel).count():
            page.screenshot(path=shot)
            raise NotRun(f"{notebook} shows no dashboard ({shot})")
        self._dashboard(panel).screenshot(path=shot)

    def _wait_for_kernel(self, notebook: str) -> None:
        """Until the notebook's kernel has started and is idle (the page says "idle" before)."""
        deadline = time.monotonic() + RUN_TIMEOUT / 1000
        while time.monotonic() < deadline:
            sessions = self.server.api("sessions")
            states = [s["kernel"]["execution_state"] for s in sessions if s["path"] == notebook]
            if states == ["idle"]:
                return
            self.page.wait_for_timeout(200)  # not time.sleep: the page's routes run meanwhile
        shot = self.shots / f"{notebook[:2]}-no-kernel.png"
        self.page.screenshot(path=shot)
        raise NotRun(
            f"{notebook}: no idle kernel in {RUN_TIMEOUT / 1000:.0f} s: {sessions} ({shot})"
        )

    def control(self, notebook: str, label: str) -> Any:
        """The shown control whose description is ``label``."""
        exact = re.compile(rf"^\s*{re.escape(label)}\s*$")
        found = self.dashboard(notebook).locator(
            ".widget-inline-hbox:visible, .widget-toggle-buttons:visible"
        )
        return found.filter(has=self.page.locator("label.widget-label", has_text=exact)).first

    def change(self, change: Change) -> Outcome:
        """Make the change once; what it did."""
        if change in self.outcomes:
            return self.outcomes[change]
        page, root = self.page, self.dashboard(change.notebook).element_handle()
        control = self.control(change.notebook, change.label)
        control.wait_for(timeout=CHANGE_TIMEOUT)
        page.wait_for_function(AT_REST, arg=root)  # busy now would be no news of this change
        before = root.evaluate(FIGURE_SRC)
        console, errors = len(self.visit.console), len(self.visit.errors)
        root.evaluate(WATCH)
        started = time.perf_counter()
        _set(control, change.value)
        panel = self.panel(change.notebook)
        try:  # a change that never settles is recorded as it stands, and tried only once
            page.wait_for_function(SETTLED, arg=[root, before], timeout=CHANGE_TIMEOUT)
            seconds = time.perf_counter() - started
            panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for()
        except PlaywrightTimeout:
            seconds = float("inf")
        shot = self.shots / f"{change}.png"
        self.dashboard(change.notebook).screenshot(path=shot)
        outcome = Outcome(
            before=before,
            after=root.evaluate(FIGURE_SRC),
            seconds=seconds,
            watched=root.evaluate(UNWATCH),
            console=self.visit.console[console:] + self.visit.errors[errors:],
            errors=panel.evaluate(ERROR_OUTPUTS),
            shot=shot,
        )
        self.outcomes[change] = outcome
        return outcome


def _set(control: Any, value: str) -> None:
    """Set a control as a reader would: pick an option, press a button, type a date."""
    if control.locator("input[type=date]").count():
        field_ = control.locator("input[type=date]")
        days = int(value.removeprefix("+").removesuffix(" days"))
        current = dt.date.fromisoformat(field_.input_value())
        field_.fill((current + dt.timedelta(days=days)).isoformat())
    elif control.locator("select").count():
        control.locator("select").select_option(label=value)
    else:
        control.locator("button", has_text=re.compile(rf"^\s*{re.escape(value)}\s*$")).click()


@pytest.fixture(scope="module")
def lab(lab_visit: Any, lab_server: LabServer, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    lab_visit.page.set_default_timeout(CHANGE_TIMEOUT)
    return Lab(lab_visit, lab_server, tmp_path_factory.mktemp("lab-shots"))


@pytest.mark.parametrize("notebook", LAB_NOTEBOOKS)
def test_notebook_runs_without_error_output(lab, notebook):
    panel = lab.panel(notebook)  # opened, run through (or failed with what it showed)
    assert panel.evaluate(ERROR_OUTPUTS) == []
    assert lab.dashboard(notebook).evaluate(FIGURE_SRC), (
        f"{notebook}: the dashboard shows no figure"
    )


@pytest.mark.parametrize("notebook", LAB_NOTEBOOKS)
def test_dashboard_labels_and_tab_titles_are_whole(lab, notebook):
    dashboard = lab.dashboard(notebook)
    tabs = dashboard.locator(".widget-tab-bar .lm-TabBar-tab")
    cut = dashboard.evaluate(CUT_LABELS)
    for i in [*range(1, tabs.count()), 0][: tabs.count()]:  # every tab, back to the first
        tabs.nth(i).click()
        lab.page.wait_for_function(AT_REST, arg=dashboard.element_handle())
        dashboard.screenshot(path=lab.shots / f"{notebook[:2]}-tab-{i}.png")
        cut += dashboard.evaluate(CUT_LABELS)
    assert sorted(set(cut)) == []


@pytest.mark.parametrize("change", CHANGES, ids=str)
def test_change_redraws_the_figure(lab, change):
    outcome = lab.change(change)
    assert outcome.watched["errors"] == [], (
        f"{change}: {outcome.watched['errors']} ({outcome.shot})"
    )
    assert outcome.errors == [], f"{change}: error output {outcome.errors}"
    assert outcome.after and outcome.after != outcome.before, (
        f"{change}: same figure after {outcome.seconds:.0f} s ({outcome.shot})"
    )
    assert outcome.console == [], f"{change}: console errors {outcome.console}"


@pytest.mark.parametrize("change", CHANGES, ids=str)
def test_change_shows_busy_then_clears(lab, change):
    outcome = lab.change(change)
    watched = outcome.watched
    assert watched["has_busy"], f"{change}: no .costtrend-busy indicator in the dashboard"
    assert "Updating…" in watched["busy"], f"{change}: busy indicator showed {watched['busy']}"
    late = watched["busy_after_ms"]
    assert late is not None and late <= BUSY_WITHIN_MS, f"{change}: busy {late} ms after the change"
    assert watched["busy_after"] == [], f"{change}: still busy: {watched['busy_after']}"
    assert watched["disabled"], f"{change}: no control was disabled while busy"
    assert watched["disabled_after"] == [], f"{change}: still disabled {watched['disabled_after']}"


def test_lab_page_stays_offline_and_quiet(lab):
    for change in CHANGES:
        lab.change(change)  # every change made, whichever tests were selected
    for notebook, seconds in lab.runs.items():  # shown with -rP, or -s
        print(f"{notebook}: ran in {seconds:.1f} s")
    for change, outcome in lab.outcomes.items():
        print(
            f"{change}: redrawn in {outcome.seconds:.2f} s; {outcome.watched['busy']} "
            f"{outcome.watched['busy_after_ms']} ms after the change; "
            f"{len(outcome.watched['disabled'])} controls disabled meanwhile"
        )
    visit = lab.visit
    assert visit.outside == [], f"JupyterLab asked for {visit.outside}"
    assert visit.console == [], f"console errors {visit.console}"
    assert visit.errors == [], f"uncaught exceptions {visit.errors}"
