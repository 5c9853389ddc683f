"""Reports: run the analysis notebooks and export each as one self-contained HTML file.

:func:`render_reports` executes notebooks with papermill (``interactive=False``, so every
figure is drawn by the plot functions into the output) and exports them with nbconvert's
``HTMLExporter(exclude_input=True)``: figures embedded, no script fetched from anywhere, a title,
a table of contents, and a footer with the query, time zone, data as-of time, API calls, package
version and a hash of the data, read from the :func:`provenance` each notebook ends with.

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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .errors import CostTrendError, QueryError
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
PARAMETERS = ("start", "end", "tz", "granularity", "model_types", "client_ids", "demo")


class ReportError(CostTrendError):
    """A notebook failed while a report was being made."""


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
                for k in ("start", "end", "granularity", "model_types", "client_ids", "by")
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
                ("by", "split by"),
            )
            if q.get(key)
        ]
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


def _execute(path: Path, parameters: dict[str, Any], timeout: int) -> Any:
    import papermill

    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / path.name
        try:
            papermill.execute_notebook(
                str(path),
                str(target),
                parameters=parameters,
                cwd=str(path.parent),
                progress_bar=False,
                log_output=False,
                execution_timeout=timeout,
                config=_kernel_config(scratch),
            )
        except papermill.PapermillExecutionError as err:
            raise ReportError(
                f"{path.name} failed in cell {err.exec_count}: {err.ename}: {err.evalue}"
            ) from None
        import nbformat

        return nbformat.read(str(target), as_version=4)


def _kernel_config(scratch: str) -> Any:
    """Kernel-manager settings for the report's kernels: a local or an encrypted transport.

    Over plain TCP, ipykernel warns on stderr ("Kernel is running over TCP without
    encryption") once per kernel. On POSIX the kernel talks over IPC sockets in the private
    scratch folder instead; elsewhere, with CurveZMQ, the manager provisions keys for kernels
    that declare support. Nothing is silenced: real kernel errors still show.
    """
    import os

    import zmq
    from traitlets.config import Config

    if os.name == "posix":
        ipc = str(Path(scratch) / "kernel-ipc")
        return Config({"KernelManager": {"transport": "ipc", "ip": ipc}})
    if zmq.has("curve"):
        return Config({"KernelManager": {"transport_encryption": "auto"}})
    return Config()


def _strip_widgets(nb: Any) -> Any:
    """Drop widget state and widget views: a static report cannot show them, and exporting
    them makes the page load the widget renderer from a CDN when it opens."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if WIDGET_VIEW_MIME not in o.get("data", {})]
    return nb


# the lab template without what it fetches from CDNs: require.js, the widget renderer,
# MathJax and mermaid (the notebooks use neither maths nor diagrams), nor widget views
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block data_widget_view -%}{%- endblock data_widget_view -%}
"""


def _exporter() -> Any:
    """nbconvert's ``HTMLExporter(exclude_input=True)`` on the offline lab template."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="lab", template_file="costtrend-offline.html.j2",
        extra_loaders=[DictLoader({"costtrend-offline.html.j2": _OFFLINE_TEMPLATE})],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
    )  # fmt: skip


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


_HEADING = re.compile(r'<h([23]) id="([^"]+)">(.*?)<a class="anchor-link"', re.S)
_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\ssrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.S)
_MATHJAX_CONFIG = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)


def _footer(record: dict[str, Any] | None, path: Path) -> str:
    if record is None:
        return (
            f"<footer class='costtrend-footer'>Made by costtrend_nb {__version__} from "
            f"{html.escape(path.name)}.</footer>"
        )
    shown = Provenance.__new__(Provenance)
    shown.record = record
    return (
        "<footer class='costtrend-footer jp-RenderedHTMLCommon' style='margin:2em 1em;"
        "padding-top:1em;border-top:1px solid #ddd'><p style='color:#555'>"
        f"Report made from {html.escape(path.name)} by costtrend_nb {html.escape(__version__)}."
        f"</p>{shown._repr_html_()}</footer>"
    )


def _decorate(body: str, title: str, record: dict[str, Any] | None, path: Path) -> str:
    body = _EXTERNAL_SCRIPT.sub("", body)  # self-contained: nothing is fetched when it opens
    body = _MATHJAX_CONFIG.sub("", body)
    entries = "".join(
        f"<li style='margin-left:{(int(level) - 2) * 1.5}em'><a href='#{anchor}'>"
        f"{re.sub(r'<[^>]+>', '', text).strip()}</a></li>"
        for level, anchor, text in _HEADING.findall(body)
    )
    toc = (
        "<nav class='costtrend-toc' style='margin:1em 0 2em'><b>Contents</b>"
        f"<ul style='list-style:none;padding-left:0'>{entries}</ul></nav>"
    )
    if record and record.get("missing_series"):
        toc = (
            "<div class='costtrend-partial' role='alert' style='border:2px solid #B00020;"
            "color:#B00020;padding:0.5em 1em;margin:1em 0;font-weight:bold'>"
            f"{html.escape(partial_notice(list(record['missing_series'])))}</div>" + toc
        )
    first_heading_end = body.find("</h1>")
    if first_heading_end >= 0:
        end = first_heading_end + len("</h1>")
        body = body[:end] + toc + body[end:]
    else:
        body = body.replace("<body", f"<body><h1>{html.escape(title)}</h1>{toc}<div", 1)
    return body.replace("</body>", _footer(record, path) + "</body>", 1)


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
) -> list[Path]:
    """Run notebooks and write one self-contained HTML report each, plus an ``index.html``.

    Parameters left as None keep the notebooks' own defaults.

    Raises:
        ReportError: a notebook failed (the message names the cell and the error).
        QueryError: an unknown notebook name.
    """
    paths = find_notebooks([str(n) for n in notebooks] if notebooks else None)
    parameters = _parameters(
        {"start": start, "end": end, "tz": tz, "granularity": granularity,
         "model_types": list(model_types) if model_types else None,
         "client_ids": list(client_ids) if client_ids else None, "demo": demo}
    )  # fmt: skip
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    exporter = _exporter()
    written = []
    bar = _bar(len(paths), progress)
    try:
        for path in paths:
            bar.set_description(path.stem)  # the notebook being rendered
            nb = _execute(path, parameters, timeout)
            record = _provenance(nb)
            # the footer shows the provenance: drop the cells that show it in the notebook
            nb.cells = [c for c in nb.cells if "provenance" not in c.metadata.get("tags", [])]
            _strip_widgets(nb)
            title = _title(nb, path)
            nb.metadata["title"] = title
            body, _ = exporter.from_notebook_node(nb)
            target = out / f"{path.stem}.html"
            target.write_text(_decorate(body, title, record, path), encoding="utf-8")
            written.append(target)
            bar.update(1)
    finally:
        bar.close()
    _write_index(out, written)
    return written


def _bar(total: int, progress: bool | None) -> Any:
    import os

    if progress is None:
        progress = os.environ.get("COSTTREND_NB_PROGRESS", "1") not in ("0", "false", "False")
    if progress and total > 1:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc="rendering reports", unit="notebook")

    class _Quiet:
        def set_description(self, desc: str) -> None:
            pass

        def update(self, n: int = 1) -> None:
            pass

        def close(self) -> None:
            pass

    return _Quiet()


def _write_index(out: Path, written: list[Path]) -> Path:
    items = "".join(f"<li><a href='{p.name}'>{html.escape(p.stem)}</a></li>" for p in written)
    index = out / "index.html"
    index.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>costtrend_nb reports</title>"
        f"</head><body><h1>costtrend_nb reports</h1><ul>{items}</ul>"
        f"<p style='color:#555'>costtrend_nb {html.escape(__version__)}</p></body></html>",
        encoding="utf-8",
    )
    return index


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
