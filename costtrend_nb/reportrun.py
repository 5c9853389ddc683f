"""Running notebooks for reports: a few kernels side by side, each reused from one notebook to
the next.

:func:`run_notebooks` starts ``min(notebooks, cores, 4)`` kernels, one per worker thread. Each
worker takes the next notebook, runs it with nbclient (its ``parameters`` injected after the
notebook's ``parameters`` cell, as papermill does) and hands the executed notebook to
``finish``, in that thread. Before each notebook a cell added for the run and removed after it
sets the kernel up (:func:`costtrend_nb.reportkernel.prepare`: 2x PNG figures with alt text),
or returns it to that state (:func:`costtrend_nb.reportkernel.reset`), so a notebook starts as
in a fresh kernel while kernel starts and imports are paid once per worker. Results keep the
notebooks' order. A failing cell raises :class:`ReportError` naming the notebook and the cell;
an error or Ctrl-C stops every kernel.

Example (not run as a doctest: it starts a kernel):
    >>> run_notebooks([path], {"demo": True}, finish=lambda p, nb: len(nb.cells))  # doctest: +SKIP
    [12]
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, TypeVar

from .errors import CostTrendError

__all__ = [
    "SETUP_TAG",
    "ReportError",
    "dispatch_order",
    "parameters_cell",
    "run_notebooks",
    "stored_seconds",
    "worker_count",
]

SETUP_TAG = "costtrend-report-setup"
INJECTED_TAG = "injected-parameters"  # papermill's name for the same cell
MAX_WORKERS = 4

T = TypeVar("T")


class ReportError(CostTrendError):
    """A notebook failed while a report was being made (the message names it and the cell)."""


def worker_count(notebooks: int) -> int:
    """How many kernels to run side by side: one per notebook, per core, and at most four.

    Example:
        >>> worker_count(1)
        1
    """
    return max(1, min(notebooks, os.cpu_count() or 2, MAX_WORKERS))


def stored_seconds(path: str | Path) -> float | None:
    """How long the notebook's stored run took: the sum of its cells' execution times, from
    the timing nbclient records in each cell (``make notebook-outputs`` stores it); None when
    the notebook carries none.

    Example:
        >>> import json, tempfile
        >>> cell = {"cell_type": "code", "source": "", "outputs": [], "execution_count": 1,
        ...         "metadata": {"execution": {"iopub.execute_input": "2026-12-04T10:00:00Z",
        ...                                    "shell.execute_reply": "2026-12-04T10:00:02.5Z"}}}
        >>> with tempfile.NamedTemporaryFile("w", suffix=".ipynb", delete=False) as f:
        ...     json.dump({"cells": [cell, cell]}, f)
        >>> stored_seconds(f.name)
        5.0
    """
    import datetime as dt
    import json

    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return None
    total, timed = 0.0, False
    for cell in cells:
        timing = cell.get("metadata", {}).get("execution", {}) if isinstance(cell, dict) else {}
        try:
            started = dt.datetime.fromisoformat(timing["iopub.execute_input"])
            ended = dt.datetime.fromisoformat(timing["shell.execute_reply"])
        except (KeyError, TypeError, ValueError):
            continue
        total += max((ended - started).total_seconds(), 0.0)
        timed = True
    return total if timed else None


def dispatch_order(costs: Sequence[float | None]) -> list[int]:
    """The order in which to start notebooks: longest first (the last one to start is then
    short, so the kernels finish close together), those of unknown length before all others,
    ties in the order given.

    Example:
        >>> dispatch_order([2.0, 6.0, None, 4.0])
        [2, 1, 3, 0]
    """
    known = [cost if cost is not None else float("inf") for cost in costs]
    return sorted(range(len(known)), key=lambda i: -known[i])


def parameters_cell(parameters: Mapping[str, Any]) -> str:
    """The source of the cell that sets the run's parameters.

    Example:
        >>> print(parameters_cell({"demo": True, "model_types": ["Chat"]}))
        # Parameters of this run
        demo = True
        model_types = ['Chat']
    """
    lines = [f"{name} = {value!r}" for name, value in parameters.items()]
    return "\n".join(["# Parameters of this run", *lines])


def _setup_cell(first: bool, folder: Path) -> str:
    step = "prepare" if first else "reset"  # reset() clears the names: bind none
    return f"__import__('costtrend_nb.reportkernel').reportkernel.{step}({str(folder)!r})"


def _prepared(path: Path, parameters: Mapping[str, Any], first: bool) -> Any:
    import nbformat
    from nbformat.v4 import new_code_cell

    nb = nbformat.read(str(path), as_version=4)
    tags = [cell.metadata.get("tags", []) for cell in nb.cells]
    at = next((i + 1 for i, t in enumerate(tags) if "parameters" in t), 0)
    nb.cells.insert(
        at, new_code_cell(parameters_cell(parameters), metadata={"tags": [INJECTED_TAG]})
    )
    setup = new_code_cell(_setup_cell(first, path.parent), metadata={"tags": [SETUP_TAG]})
    nb.cells.insert(0, setup)
    return nb


def _failure(path: Path, nb: Any, err: Exception) -> ReportError:
    """The notebook and cell that failed: the cell's number counts the notebook's own code
    cells, as Jupyter numbers them in a fresh run."""
    number = 0
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code":
            continue
        if INJECTED_TAG in tags:
            where = "the parameters"
        elif SETUP_TAG in tags:
            where = "the report set-up"
        else:
            number += 1
            where = f"cell {number}"
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return ReportError(
                    f"{path.name} failed in {where}: {output.get('ename')}: {output.get('evalue')}"
                )
    lines = str(err).strip().splitlines() or [""]
    return ReportError(f"{path.name} failed: {type(err).__name__}: {lines[-1]}")


class _Pool:
    """The kernels of one run, so an error or Ctrl-C in the main thread can stop them."""

    def __init__(self) -> None:
        self.managers: list[Any] = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def add(self, manager: Any) -> None:
        with self.lock:
            self.managers.append(manager)
        if self.stopping.is_set():
            self.kill()

    def kill(self) -> None:
        self.stopping.set()
        with self.lock:
            managers = list(self.managers)
        for manager in managers:
            process = getattr(getattr(manager, "provisioner", None), "process", None)
            if process is not None and process.poll() is None:
                process.kill()


def _kernel_config(scratch: str) -> Any:
    """Kernel-manager settings for the report's kernels: a local or an encrypted transport.

    Over plain TCP, ipykernel warns on stderr ("Kernel is running over TCP without
    encryption") once per kernel. On POSIX the kernel talks over IPC sockets in a private
    scratch folder (one per kernel: the socket names are numbered from 1) instead; elsewhere,
    with CurveZMQ, the manager provisions keys for kernels that declare support. Nothing is
    silenced: real kernel errors still show.
    """
    import zmq
    from traitlets.config import Config

    if os.name == "posix":
        ipc = str(Path(scratch) / "kernel-ipc")
        return Config({"KernelManager": {"transport": "ipc", "ip": ipc}})
    if zmq.has("curve"):
        return Config({"KernelManager": {"transport_encryption": "auto"}})
    return Config()


def _kernel_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["COSTTREND_NB_PROGRESS"] = "0"  # no fetch progress widgets: a report cannot show them
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # the debugger's frozen-modules note
    # one BLAS thread per kernel: the kernels already share the cores, and idle OpenBLAS
    # threads spin (with a thread per core, 03's backtest once took 14 s instead of 4)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


async def _work(
    jobs: queue.SimpleQueue[tuple[int, Path]],
    parameters: Mapping[str, Any],
    timeout: int,
    pool: _Pool,
    results: dict[int, Any],
    finish: Callable[[Path, Any], Any],
    on_start: Callable[[Path], None],
    on_done: Callable[[Path], None],
) -> None:
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    exports: list[Any] = []
    loop = asyncio.get_running_loop()

    def export(index: int, path: Path, nb: Any) -> None:
        results[index] = finish(path, nb)

    with tempfile.TemporaryDirectory() as scratch:
        manager = AsyncKernelManager(kernel_name="python3", config=_kernel_config(scratch))
        first = True
        try:
            while not pool.stopping.is_set():
                try:
                    index, path = jobs.get_nowait()
                except queue.Empty:
                    break
                on_start(path)
                if first:  # the kernel boots while nbclient (and nbformat) load here
                    await manager.start_kernel(cwd=str(path.parent), env=_kernel_environment())
                    pool.add(manager)
                nb = await _execute(manager, path, parameters, first, timeout, pool)
                if nb is None:
                    return
                first = False
                on_done(path)
                # export while the kernel moves on to the next notebook
                exports.append(loop.run_in_executor(None, export, index, path, nb))
            await asyncio.gather(*exports)
        finally:
            if manager.has_kernel:
                with contextlib.suppress(Exception):  # already dead: nothing left to stop
                    await manager.shutdown_kernel(now=True)


_loading = threading.Lock()


def _notebook_client() -> Any:
    """nbclient's ``NotebookClient``, imported without jsonschema's IRI checker.

    nbformat imports jsonschema, whose format checker builds the ``rfc3987_syntax`` grammar
    when that package is installed (it comes with JupyterLab): 1.6 s of CPU, an eighth of a
    five-notebook run, for a format no notebook schema uses. While nbformat loads here, that
    import fails (jsonschema then skips the ``iri`` format); it is allowed again afterwards.
    """
    with _loading:
        if "nbclient" not in sys.modules and "jsonschema" not in sys.modules:
            blocked = "rfc3987_syntax" not in sys.modules
            if blocked:
                sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
            try:
                import nbclient  # noqa: F401
            finally:
                if blocked and sys.modules.get("rfc3987_syntax", False) is None:
                    del sys.modules["rfc3987_syntax"]
        from nbclient import NotebookClient

        return NotebookClient


async def _execute(
    manager: Any, path: Path, parameters: Mapping[str, Any], first: bool, timeout: int, pool: _Pool
) -> Any:
    """The executed notebook, without the set-up cell; None when the run is being stopped."""
    NotebookClient = _notebook_client()
    nb = _prepared(path, parameters, first)
    resources = {"metadata": {"path": str(path.parent)}}
    client = NotebookClient(nb, km=manager, timeout=timeout, resources=resources)
    try:
        await client.async_execute()
    except Exception as err:
        if pool.stopping.is_set():
            return None
        raise _failure(path, nb, err) from None
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
    nb.cells = [c for c in nb.cells if SETUP_TAG not in c.metadata.get("tags", [])]
    return nb


def run_notebooks(
    paths: Sequence[Path],
    parameters: Mapping[str, Any],
    *,
    finish: Callable[[Path, Any], T],
    timeout: int = 600,
    workers: int | None = None,
    on_start: Callable[[Path], None] = lambda path: None,
    on_done: Callable[[Path], None] = lambda path: None,
) -> list[T]:
    """Run the notebooks, side by side, and return ``finish(path, executed_notebook)`` for each,
    in the order given. They start longest first (:func:`dispatch_order`, by
    :func:`stored_seconds`): with 2 kernels and five notebooks, in the order given one kernel
    was left with 11 s of work and the other with 7.

    Raises:
        ReportError: a cell raised; the message names the notebook and the cell.
    """
    import asyncio

    jobs: queue.SimpleQueue[tuple[int, Path]] = queue.SimpleQueue()
    for index in dispatch_order([stored_seconds(path) for path in paths]):
        jobs.put((index, Path(paths[index])))
    results: dict[int, Any] = {}
    pool = _Pool()
    count = workers or worker_count(len(paths))

    def work() -> None:
        asyncio.run(_work(jobs, parameters, timeout, pool, results, finish, on_start, on_done))

    executor = ThreadPoolExecutor(count, thread_name_prefix="costtrend-report")
    try:
        futures = [executor.submit(work) for _ in range(count)]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:
                pool.kill()
                raise future.exception()  # type: ignore[misc]
    except BaseException:
        pool.kill()  # Ctrl-C or an error: stop every kernel, then let the workers wind down
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return [results[i] for i in range(len(paths))]
