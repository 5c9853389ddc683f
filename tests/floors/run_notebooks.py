"""Run every notebook as Binder opens it (widgets on, the demo) and name each cell that fails.

``make test-floors`` runs this in ``.venv-floors`` (the lowest version of every direct
dependency): nbval cannot apply there, since the stored outputs are those of the pinned
versions, but no cell may raise and no dashboard may show an error. What a cell writes to
stderr (a library's deprecation warning, say) is printed too, as a note: it often names the
next release that would break a cell. Usage:
``python tests/floors/run_notebooks.py [notebook ...]`` (all of ``notebooks/`` by default).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TIMEOUT = 600  # seconds per cell
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
ERROR_COLOUR = "#B00020"  # costtrend_nb's dashboards show an error in this colour


def execute(path: Path) -> Any:
    """The notebook after running it in a copy in a temporary folder, errors kept as outputs."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="costtrend-floors-") as folder:
        shutil.copy(path, folder)
        client = NotebookClient(
            notebook, timeout=TIMEOUT, kernel_name="python3", allow_errors=True,
            resources={"metadata": {"path": folder}},
        )  # fmt: skip
        client.execute()
    return notebook


def errors(notebook: Any, name: str) -> list[str]:
    """Each cell's exception, and each error a widget shows (an Output's or a dashboard's)."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"{name} cell {index}: {output['ename']}: {output['evalue']}")
    widgets = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for model in widgets.values():
        state = model.get("state", {})
        for output in state.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"{name} widget: {output['ename']}: {output['evalue']}")
        value = state.get("value")
        if isinstance(value, str) and ERROR_COLOUR in value:
            found.append(f"{name} widget: {value}")
    return found


def stderr_lines(notebook: Any, name: str) -> list[str]:
    """The distinct lines the cells wrote to stderr."""
    seen: dict[str, None] = {}
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                for line in output.get("text", "").splitlines():
                    if line.strip():
                        seen.setdefault(f"{name} cell {index}: {line.strip()}")
    return list(seen)


def main(argv: list[str]) -> int:
    os.environ.setdefault("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    os.environ.setdefault("COSTTREND_NB_PROGRESS", "0")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # ipykernel 6's debugger note
    paths = [Path(a) for a in argv] or sorted(NOTEBOOKS.glob("*.ipynb"))
    failed = []
    for path in paths:
        notebook = execute(path)
        found = errors(notebook, path.name)
        for line in stderr_lines(notebook, path.name):
            print(f"note: {line}", flush=True)
        print(f"{path.name}: {'; '.join(found) or 'every cell ran, no error shown'}", flush=True)
        if found:
            failed.append(path.name)
    print(f"notebooks: {len(paths) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
