"""Reports: run the analysis notebooks and export each as one self-contained HTML file.

:func:`render_reports` executes notebooks side by side (:mod:`.reportrun`: nbclient, with
``interactive=False`` so every figure is drawn into the output, as 2x PNGs with alt text) and
exports them (:mod:`.reportpage`: nbconvert's ``HTMLExporter(exclude_input=True)`` with a compact
stylesheet): figures embedded, nothing fetched from anywhere, a title, a demo banner, the scope
under the title, a table of contents, and a footer with the query, time zone, data as-of time,
API calls, package version and a hash of the data, read from the :func:`provenance` each
notebook ends with. ``index.html`` carries a card per report (:mod:`.reportindex`).

Example (not run as a doctest: it starts a Jupyter kernel per notebook and takes seconds;
``costtrend-nb report 00 --demo -o reports`` does the same from the shell):
    >>> paths = render_reports(["00-getting-started"], "reports", demo=True)   # doctest: +SKIP
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import html
import re
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__, reportindex, reportpage
from .errors import QueryError
from .reportrun import ReportError, run_notebooks
from .tidy import COLUMNS

__all__ = [
    "PROVENANCE_MIME",
    "ReportError",
    "data_hash",
    "find_notebooks",
    "notebook_parameters",
    "provenance",
    "render_reports",
]

PROVENANCE_MIME = "application/vnd.costtrend-nb.provenance+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
PARAMETERS = ("start", "end", "tz", "granularity", "model_types", "client_ids", "demo", "lang")


def data_hash(df: pd.DataFrame) -> str:
    """A short, stable fingerprint of a tidy frame's contents (not of its ``attrs``).

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-11-18", "2026-11-19", model_types=["TTS"])
        >>> data_hash(df) == data_hash(df.copy())
        True
    """
    columns = [c for c in COLUMNS if c in df.columns]
    hashed = pd.util.hash_pandas_object(df[columns], index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


class Provenance:
    """Where a notebook's numbers come from: shown as a footer, carried as JSON for reports."""

    def __init__(self, df: pd.DataFrame, client: Any = None) -> None:
        attrs = df.attrs
        query = dict(attrs.get("query") or {})
        self.record: dict[str, Any] = {
            "source": client.describe() if client is not None else attrs.get("source", "unknown"),
            "query": {
                k: query.get(k)
                for k in (
                    "start",
                    "end",
                    "granularity",
                    "model_types",
                    "client_ids",
                    "member_user_ids",
                    "api_key_id",
                    "by",
                )
                if k in query
            },
            "tz": attrs.get("tz") or str(df["timestamp"].dt.tz),
            "as_of": attrs.get("as_of"),
            "api_calls": client.request_count if client is not None else attrs.get("request_count"),
            "version": __version__,
            "data_hash": data_hash(df),
            "rows": len(df),
            "missing_series": list(attrs.get("missing_series") or []),
            "cached_buckets": int(attrs.get("cached_buckets") or 0),
        }

    def _lines(self) -> list[tuple[str, str]]:
        r = self.record
        q = r["query"]
        window = f"{q.get('start')} to {q.get('end')}, {q.get('granularity')}"
        extra = [
            f"{name} {', '.join(map(str, q[key]))}"
            for key, name in (
                ("model_types", "model types"),
                ("client_ids", "departments"),
                ("member_user_ids", "members"),
                ("by", "split by"),
            )
            if q.get(key)
        ]
        if q.get("api_key_id") is not None:
            extra.append(f"API key {q['api_key_id']}")
        lines = [
            ("Data", str(r["source"])),
            ("Query", "; ".join([window, *extra])),
            ("Time zone", str(r["tz"])),
            ("Data as of", str(r["as_of"])),
            ("API calls", str(r["api_calls"])),
        ]
        if r.get("cached_buckets"):
            lines.append(("From the cache", f"{r['cached_buckets']} settled buckets"))
        if r.get("missing_series"):
            lines.append(("MISSING", partial_notice(r["missing_series"])))
        return [
            *lines,
            ("costtrend_nb", str(r["version"])),
            ("Data hash", f"{r['data_hash']} ({r['rows']} rows)"),
        ]

    def __repr__(self) -> str:
        return "\n".join(f"{k}: {v}" for k, v in self._lines())

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self._lines()
        )
        return (
            f"<table class='costtrend-provenance' style='font-size:85%;color:#555'>{rows}</table>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {
            "text/plain": repr(self),
            "text/html": self._repr_html_(),
            PROVENANCE_MIME: self.record,
        }


def partial_notice(missing: list[str]) -> str:
    """The sentence reports and footers show when series are missing.

    Example:
        >>> partial_notice(["model_type=TTS"])
        'Partial data: 1 series could not be fetched (model_type=TTS); totals are understated.'
    """
    return (
        f"Partial data: {len(missing)} series could not be fetched ({', '.join(missing)}); "
        "totals are understated."
    )


def provenance(df: pd.DataFrame, client: Any = None) -> Provenance:
    """The provenance of a frame, to display at the end of a notebook (and in its report).

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> client = CostTrendClient.demo()
        >>> df = client.fetch("2026-11-18", "2026-11-19", model_types=["TTS"])
        >>> provenance(df, client).record["api_calls"]
        1
    """
    return Provenance(df, client)


# -- running and exporting ----------------------------------------------------------------------


def notebooks_dir() -> Path:
    """Where the analysis notebooks are: in the installed package, or beside it in a checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (
        package / "notebooks",
        package.parent / "notebooks",
        Path.cwd() / "notebooks",
    ):
        if candidate.is_dir() and any(candidate.glob("*.ipynb")):
            return candidate
    raise QueryError("cannot find the notebooks folder; pass the notebooks' paths instead.")


def find_notebooks(names: Sequence[str] | None = None, directory: Path | None = None) -> list[Path]:
    """The notebooks to run: all of them, or those whose file name starts with each name.

    Example:
        >>> [p.name for p in find_notebooks(["01"])]
        ['01-period-over-period.ipynb']
    """
    folder = directory or notebooks_dir()
    available = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if not names:
        return available
    chosen = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb" and path.is_file():
            chosen.append(path)
            continue
        matches = [p for p in available if p.stem == name or p.name.startswith(name)]
        if len(matches) != 1:
            known = ", ".join(p.stem for p in available)
            raise QueryError(f"{name!r} names {len(matches)} notebooks; choose one of: {known}.")
        chosen.append(matches[0])
    return chosen


def notebook_parameters(path: str | Path) -> dict[str, Any]:
    """The literal values set by a notebook's ``parameters`` cell (its defaults), kernel-free.

    ``costtrend-nb report`` checks its flags against them before starting any notebook.

    Example:
        >>> defaults = notebook_parameters(find_notebooks(["01"])[0])
        >>> defaults["days"], defaults["granularity"], defaults["period"]
        (75, 'daily', 'month')
    """
    import json

    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as err:
        raise QueryError(f"cannot read the notebook {path}: {err}") from None
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            source = cell.get("source", "")
            return _literal_assignments("".join(source) if isinstance(source, list) else source)
    return {}


def _literal_assignments(source: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return values
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    values[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    return values


def _parameters(values: Mapping[str, Any]) -> dict[str, Any]:
    params = {k: v for k, v in values.items() if k in PARAMETERS and v is not None}
    for key in ("start", "end"):
        if isinstance(params.get(key), (dt.date, pd.Timestamp)):
            params[key] = pd.Timestamp(params[key]).isoformat()
    params["interactive"] = False  # draw every figure, so the report carries it
    return params


def _strip_widgets(nb: Any) -> Any:
    """Drop widget state and widget views: a static report cannot show them, and exporting
    them makes the page load the widget renderer from a CDN when it opens."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if WIDGET_VIEW_MIME not in o.get("data", {})]
    return nb


_exporters = threading.local()


def _exporter() -> Any:
    """nbconvert's ``HTMLExporter(exclude_input=True)`` on the offline, compact template: one
    per thread (the template is compiled once; exporters are not shared between threads)."""
    if getattr(_exporters, "exporter", None) is None:
        _exporters.exporter = reportpage.exporter()
    return _exporters.exporter


def _title(nb: Any, path: Path) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, flags=re.M)
            if match:
                return match.group(1).strip()
    return path.stem


def _provenance(nb: Any) -> dict[str, Any] | None:
    for cell in reversed(nb.cells):
        for output in cell.get("outputs", []):
            record = output.get("data", {}).get(PROVENANCE_MIME)
            if record:
                return dict(record)
    return None


def _footer(record: dict[str, Any] | None, path: Path) -> str:
    made = f"Report made from {html.escape(path.name)} by costtrend_nb {html.escape(__version__)}."
    if record is None:
        return f"<footer class='costtrend-footer'><p>{made}</p></footer>"
    shown = Provenance.__new__(Provenance)
    shown.record = record
    return f"<footer class='costtrend-footer'><p>{made}</p>{shown._repr_html_()}</footer>"


def _page(nb: Any, path: Path, lang: str = "en") -> str:
    """The executed notebook as its report page."""
    record = _provenance(nb)
    # the footer shows the provenance: drop the cells that show it in the notebook
    nb.cells = [c for c in nb.cells if "provenance" not in c.metadata.get("tags", [])]
    _strip_widgets(nb)
    title = _title(nb, path)
    nb.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(nb)
    missing = list(record.get("missing_series") or []) if record else []
    partial = partial_notice(missing) if missing else None
    return reportpage.decorate(body, title, record, _footer(record, path), partial, lang)


def render_reports(
    notebooks: Iterable[str | Path] | None = None,
    out_dir: str | Path = "reports",
    *,
    start: Any = None,
    end: Any = None,
    tz: str | None = None,
    granularity: str | None = None,
    model_types: Sequence[str] | None = None,
    client_ids: Sequence[int] | None = None,
    demo: bool | None = None,
    progress: bool | None = None,
    timeout: int = 600,
    summary: Any = None,
    lang: str | None = None,
) -> list[Path]:
    """Run notebooks and write one self-contained HTML report each, plus an ``index.html``.

    Parameters left as None keep the notebooks' own defaults; ``lang="zh"`` draws titles,
    labels, table headers and the index in Chinese. Notebooks run side by side,
    ``min(notebooks, cores, 4)`` kernels at a time; the paths come back in the order given.
    ``summary`` (from :func:`costtrend_nb.overview.fetch_summary`, or a ``Future`` of one, so it
    can be computed while the notebooks run) heads the index.

    Raises:
        ReportError: a notebook failed (the message names the notebook, the cell and the error).
        QueryError: an unknown notebook name.
    """
    paths = find_notebooks([str(n) for n in notebooks] if notebooks else None)
    parameters = _parameters(
        {"start": start, "end": end, "tz": tz, "granularity": granularity,
         "model_types": list(model_types) if model_types else None,
         "client_ids": list(client_ids) if client_ids else None, "demo": demo, "lang": lang}
    )  # fmt: skip
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def finish(path: Path, nb: Any) -> tuple[Path, Any, bool]:
        record = _provenance(nb)
        target = out / f"{path.stem}.html"
        entry = reportindex.card(nb, _title(nb, path), target.name, reportpage.scope_text(record))
        target.write_text(_page(nb, path, lang or "en"), encoding="utf-8")
        return target, entry, reportpage.is_demo(record)

    bar = _Progress(len(paths), progress)
    try:
        done = run_notebooks(
            paths, parameters, finish=finish, timeout=timeout,
            on_start=bar.started, on_done=bar.finished,
        )  # fmt: skip
    finally:
        bar.close()
    if hasattr(summary, "result"):  # a concurrent.futures.Future
        summary = summary.result()
    reportindex.write_index(
        out, [entry for _, entry, _ in done], summary=summary,
        demo=any(demo for _, _, demo in done), lang=lang or "en",
    )  # fmt: skip
    return [target for target, _, _ in done]


class _Progress:
    """One bar for the run, naming the notebooks being rendered; thread-safe."""

    def __init__(self, total: int, progress: bool | None) -> None:
        import os

        if progress is None:
            progress = os.environ.get("COSTTREND_NB_PROGRESS", "1") not in ("0", "false", "False")
        self.running: list[str] = []
        self.last = "starting"
        self.lock = threading.Lock()
        self.bar: Any = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="starting", unit="notebook", leave=True)

    def _describe(self) -> None:
        if self.bar is not None:
            self.bar.set_description(", ".join(self.running) or self.last, refresh=True)

    def started(self, path: Path) -> None:
        with self.lock:
            self.running.append(path.stem)
            self.last = path.stem
            self._describe()

    def finished(self, path: Path) -> None:
        with self.lock:
            if path.stem in self.running:
                self.running.remove(path.stem)
            self._describe()
            if self.bar is not None:
                self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def record_of(path: Path) -> dict[str, Any] | None:
    """The provenance stored in a notebook file (for tests and tools)."""
    import nbformat

    return _provenance(nbformat.read(str(path), as_version=4))


def refresh_notebooks(paths: Iterable[str | Path], timeout: int = 600) -> None:
    """Re-run notebooks in place on the demo and store their outputs (what nbval compares).

    The kernel gets no credentials and an empty home, so the stored outputs are the demo's
    whatever the machine it runs on; widget state is not stored (large, frontend-only).
    """
    import os

    import nbformat
    from nbclient import NotebookClient

    saved = dict(os.environ)
    try:
        for name in list(os.environ):
            if name.startswith("ALIBABA_CLOUD_") or name == "COSTTREND_NB_ENDPOINT":
                del os.environ[name]
        os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
        os.environ["COSTTREND_NB_PROGRESS"] = "0"
        with tempfile.TemporaryDirectory() as home:
            os.environ["HOME"] = home
            for path in map(Path, paths):
                nb = nbformat.read(str(path), as_version=4)
                NotebookClient(
                    nb,
                    timeout=timeout,
                    kernel_name="python3",
                    resources={"metadata": {"path": str(path.parent)}},
                ).execute()
                nb.metadata.pop("widgets", None)
                nbformat.write(nb, str(path))
    finally:
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":  # python -m costtrend_nb.report notebooks/*.ipynb
    import sys

    refresh_notebooks(sys.argv[1:])
