"""costtrend_nb benchmarks: each workload against its baseline, measured in the same run.

    python benchmarks/run.py            # the full run (about 15 minutes on 2 cores)
    python benchmarks/run.py --quick    # a smoke run: checks the harness, not the speed
    python benchmarks/run.py --only B2  # one workload
    python benchmarks/run.py --only B7  # the CSV writer's peak memory
    python benchmarks/run.py --only B8  # the FOCUS export at scale (issue 15's B7)

Prints one table: medians of the runs after a warm-up, with min and max, and the machine.
See benchmarks/README.md for what each workload and baseline is.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
os.environ.setdefault("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
os.environ.setdefault("COSTTREND_NB_PROGRESS", "0")

TYPES8 = [
    "Chat",
    "ChatFullmodal",
    "ImageGeneration",
    "VideoGeneration",
    "Embedding",
    "Rerank",
    "TTS",
    "ASR",
]
DEPTS8 = list(range(10001, 10009))


@dataclass
class Timing:
    """Wall-clock seconds of repeated runs, after a warm-up."""

    runs: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def text(self) -> str:
        low, high = min(self.runs), max(self.runs)
        return f"{self.median:.3f} s (min {low:.3f}, max {high:.3f}, n={len(self.runs)})"


def measure(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> tuple[Timing, Any]:
    """Run ``fn`` ``warmup`` times unmeasured, then ``repeat`` times measured."""
    result = None
    for _ in range(warmup):
        result = fn()
    timing = Timing()
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        timing.runs.append(time.perf_counter() - start)
    return timing, result


@dataclass
class Row:
    id: str
    workload: str
    ours: str
    baseline: str
    ratio: str
    target: str
    met: str


# -- B1: fetch -----------------------------------------------------------------------------------


class LoopbackEmulator:
    """The emulator on a loopback port, in its own process (its CPU is not ours)."""

    def __init__(self, latency_ms: float) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "costtrend_nb.cli",
                "emulator",
                "--port",
                "0",
                "--latency-ms",
                str(latency_ms),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stderr.readline() if self.proc.stderr else ""
        if "serving on " not in line:
            self.close()
            raise RuntimeError(f"the emulator did not start: {line}")
        self.url = line.split("serving on ")[1].split(" ")[0]
        self.endpoint = self.url.removeprefix("http://")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def vendor_sdk_frame(
    endpoint: str, start: int, end: int, types: list[str], depts: list[int], page: int
) -> Any:
    """What a user would write with the vendor SDK: a plain loop over series and pages, then
    pandas as the SDK's README suggests (records, json_normalize, melt)."""
    import pandas as pd
    from alibabacloud_aicontent20240611 import models
    from alibabacloud_aicontent20240611.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    from costtrend_nb.emulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET

    client = Client(
        Config(
            access_key_id=DEMO_ACCESS_KEY_ID,
            access_key_secret=DEMO_ACCESS_KEY_SECRET,
            endpoint=endpoint,
            protocol="http",
        )
    )
    records = []
    for model_type in types:
        for dept in depts:
            token = None
            while True:
                request = models.ModelRouterQueryCostTrendMetricsRequest(
                    start_time=start,
                    end_time=end,
                    granularity="hourly",
                    model_types=model_type,
                    client_id=dept,
                    max_results=page,
                    next_token=token,
                )
                body = client.model_router_query_cost_trend_metrics(request).body
                for point in body.data.points:
                    values = json.loads(json.loads(point.values))
                    records.append(
                        {
                            "timestamp": point.timestamp,
                            "model_type": model_type,
                            "client_id": dept,
                            **values,
                        }
                    )
                token = body.next_token
                if not token:
                    break
    wide = pd.json_normalize(records)
    wide["timestamp"] = pd.to_datetime(wide["timestamp"], unit="s", utc=True).dt.tz_convert(
        "Asia/Shanghai"
    )
    return wide.melt(
        id_vars=["timestamp", "model_type", "client_id"], var_name="metric", value_name="value"
    )


def b1_fetch(quick: bool, repeat: int) -> list[Row]:
    from costtrend_nb import CostTrendClient, Credentials
    from costtrend_nb.client import DEFAULT_MAX_CONCURRENCY
    from costtrend_nb.emulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET
    from costtrend_nb.query import TrendQuery

    latency = 0.020
    days = 2 if quick else 90
    types, depts = (TYPES8[:2], DEPTS8[:2]) if quick else (TYPES8, DEPTS8)
    end = 1795104000  # 2026-11-20 00:00 +08:00
    start = end - days * 86400
    query = TrendQuery(
        start,
        end,
        by=["model_type", "client_id"],
        model_types=types,
        client_ids=depts,
        max_results=100,
    )
    server = LoopbackEmulator(latency * 1000)
    rows = []
    try:
        counts = []

        def ours() -> Any:
            with CostTrendClient(
                Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET), endpoint=server.url
            ) as client:
                frame = client.fetch_query(query)
            counts.append(client.request_count)
            return frame

        ours_time, frame = measure(ours, repeat)
        requests = counts[-1]
        concurrency = DEFAULT_MAX_CONCURRENCY
        floor = requests * latency / concurrency
        sdk_time, sdk_frame = measure(
            lambda: vendor_sdk_frame(server.endpoint, start, end, types, depts, 100), repeat
        )
        same = (
            abs(
                frame[frame.metric == "total_amount"]["value"].sum()
                - sdk_frame[sdk_frame.metric == "total_amount"]["value"].sum()
            )
            < 1e-6
        )
        speedup = sdk_time.median / ours_time.median
        over_floor = ours_time.median / floor
        workload = f"{len(types)}x{len(depts)} series, {days} d hourly, {requests} requests, 20 ms"
        rows.append(
            Row(
                "B1",
                workload,
                ours_time.text(),
                f"(a) vendor SDK loop {sdk_time.text()}",
                f"{speedup:.1f}x faster",
                ">= 7x",
                _met(speedup >= 7, quick),
            )
        )
        rows.append(
            Row(
                "B1",
                "(same totals as the SDK: " + ("yes" if same else "NO") + ")",
                "",
                f"(b) latency floor {floor:.3f} s = {requests} x 20 ms / {concurrency}",
                f"{over_floor:.2f}x the floor",
                "<= 1.25x",
                _met(over_floor <= 1.25, quick),
            )
        )
    finally:
        server.close()
    return rows


# -- B2, B3: parse and memory ----------------------------------------------------------------------


Group = tuple[Any, list[tuple[Any, list[bytes]]]]  # a query, and each window's raw pages


def stored_pages(quick: bool) -> list[Group]:
    """Raw pages (double-encoded values) of about a million points, cached in benchmarks/.data.

    For each demo organisation (seeds 0 to 3) and department: the department's own model
    types, split by model type, hourly over the whole generated span.
    """
    from costtrend_nb.emulator.synth import DATA_END, DATA_START, USAGE
    from costtrend_nb.query import TrendQuery

    seeds = [0] if quick else [0, 1, 2, 3]
    start = DATA_END - 3 * 86400 if quick else DATA_START
    path = DATA / f"pages-{'quick' if quick else 'full'}.pickle.gz"
    if path.exists():
        with gzip.open(path, "rb") as f:
            return pickle.load(f)
    import httpx

    from costtrend_nb import Credentials
    from costtrend_nb.auth import AcsV3Auth
    from costtrend_nb.emulator import (
        DEMO_ACCESS_KEY_ID,
        DEMO_ACCESS_KEY_SECRET,
        Emulator,
        EmulatorTransport,
    )
    from costtrend_nb.emulator.synth import MODELS

    type_of = {m.name: m.model_type for m in MODELS}
    used: dict[int, list[str]] = {}
    for dept, model, *_ in USAGE:
        used.setdefault(dept, [])
        if type_of[model] not in used[dept]:
            used[dept].append(type_of[model])
    auth = AcsV3Auth(
        Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET),
        action="ModelRouterQueryCostTrendMetrics",
    )
    groups: list[Group] = []
    for seed in seeds:
        emulator = Emulator(seed=seed, now=DATA_END)
        with httpx.Client(
            transport=EmulatorTransport(emulator),
            auth=auth,
            base_url="https://aicontent.aliyuncs.com",
        ) as http:
            for dept, types in used.items():
                query = TrendQuery(
                    start,
                    DATA_END,
                    by="model_type",
                    model_types=types,
                    client_ids=[dept],
                    max_results=1000,
                )
                chains = []
                for window in query.plan():
                    bodies, token = [], None
                    while True:
                        params = dict(window.params, **({"nextToken": token} if token else {}))
                        response = http.get(
                            "/api/v1/modelRouter/open/billing/cost/trend", params=params
                        )
                        bodies.append(response.content)
                        token = response.json().get("nextToken")
                        if not token:
                            break
                    chains.append((window, bodies))
                groups.append((query, chains))
    DATA.mkdir(exist_ok=True)
    with gzip.open(path, "wb") as f:
        pickle.dump(groups, f)
    return groups


def ours_parse(groups: list[Group]) -> Any:
    import httpx
    import pandas as pd

    from costtrend_nb.emulator.synth import DATA_END
    from costtrend_nb.protocol import read_page
    from costtrend_nb.tidy import Chain, build_frame

    as_of = pd.Timestamp(DATA_END, unit="s", tz="Asia/Shanghai")
    frames = []
    for query, chains in groups:
        built = [
            Chain(
                window,
                [read_page(httpx.Response(200, content=body), i) for i, body in enumerate(bodies)],
            )
            for window, bodies in chains
        ]
        frames.append(build_frame(query, built, as_of=as_of))
    return frames


def naive_parse(groups: list[Group]) -> Any:
    import pandas as pd

    frames = []
    for _, chains in groups:
        records = []
        for window, bodies in chains:
            for body in bodies:
                page = json.loads(body)
                for point in page["data"]["points"]:
                    values = json.loads(json.loads(point["values"]))
                    records.append(
                        {
                            "timestamp": point["timestamp"],
                            "model_type": window.series.model_type,
                            "client_id": window.series.client_id,
                            **values,
                        }
                    )
        wide = pd.json_normalize(records)
        wide["timestamp"] = pd.to_datetime(wide["timestamp"], unit="s", utc=True).dt.tz_convert(
            "Asia/Shanghai"
        )
        frames.append(
            wide.melt(
                id_vars=["timestamp", "model_type", "client_id"],
                var_name="metric",
                value_name="value",
            )
        )
    return frames


def decode_only(groups: list[Group]) -> int:
    import orjson

    return sum(
        len(orjson.loads(body)["data"]["points"])
        for _, chains in groups
        for _, bodies in chains
        for body in bodies
    )


def b2_b3_parse(quick: bool, repeat: int) -> list[Row]:
    groups = stored_pages(quick)
    points = decode_only(groups)
    pages = sum(len(b) for _, chains in groups for _, b in chains)
    ours_time, frames = measure(lambda: ours_parse(groups), repeat)
    naive_time, _ = measure(lambda: naive_parse(groups), repeat)
    floor_time, _ = measure(lambda: decode_only(groups), repeat)
    speedup = naive_time.median / ours_time.median
    rows_out = sum(len(f) for f in frames)
    rows = [
        Row(
            "B2",
            f"{points:,} points in {pages:,} pages -> {rows_out:,} rows",
            ours_time.text(),
            f"(a) naive json.loads + json_normalize + melt {naive_time.text()}",
            f"{speedup:.1f}x faster",
            ">= 5x",
            _met(speedup >= 5, quick),
        ),
        Row(
            "B2",
            "",
            "",
            f"(b) orjson decode of the bodies alone {floor_time.text()}",
            f"{ours_time.median / floor_time.median:.2f}x the decode",
            "report",
            "-",
        ),
    ]
    deep = sum(f.memory_usage(deep=True, index=True).sum() for f in frames) / rows_out
    minimum = (
        8 + 1 + 9 + 1 + 8 + 1 + 1
    )  # ns timestamp, codes, Int64 (+mask), codes, float64, codes, bool
    rows.append(
        Row(
            "B3",
            f"the B2 frames, {rows_out:,} rows",
            f"{deep:.1f} bytes/row (deep)",
            f"dtype minimum {minimum} bytes/row",
            f"{deep / minimum:.2f}x",
            "<= 32 bytes/row",
            _met(deep <= 32, quick),
        )
    )
    return rows


# -- B4: report -----------------------------------------------------------------------------------


B4_TARGET_S = 12.0  # issue 13, point 8: notebooks rendered side by side


def b4_report(quick: bool, repeat: int) -> list[Row]:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    with tempfile.TemporaryDirectory() as scratch:
        empty = Path(scratch) / "empty.ipynb"
        nb = new_notebook(
            cells=[new_code_cell("interactive = True", metadata={"tags": ["parameters"]})]
        )
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, empty)

        def run(*args: str) -> None:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "costtrend_nb.cli",
                    "report",
                    *args,
                    "-o",
                    str(Path(scratch) / "out"),
                ],
                check=True,
                capture_output=True,
            )

        empty_time, _ = measure(lambda: run(str(empty), "--demo"), repeat)
        if quick:
            ours_time, _ = measure(lambda: run("00", "--demo"), 1, warmup=0)
            workload = "costtrend-nb report 00 --demo (quick)"
        else:
            ours_time, _ = measure(lambda: run("--demo"), repeat)
            workload = "costtrend-nb report --demo (five notebooks and the index)"
    ratio = ours_time.median / empty_time.median
    return [
        Row(
            "B4",
            workload,
            ours_time.text(),
            f"an empty notebook the same way {empty_time.text()}",
            f"{ratio:.1f}x",
            f"all five <= {B4_TARGET_S:g} s on 2 cores",
            _met(ours_time.median <= B4_TARGET_S, quick),
        )
    ]


# -- B5: import -----------------------------------------------------------------------------------


def b5_import(quick: bool, repeat: int) -> list[Row]:
    def python(code: str) -> Callable[[], None]:
        return lambda: subprocess.run([sys.executable, "-c", code], check=True)

    n = 3 if quick else max(repeat, 10)
    ours, _ = measure(python("import costtrend_nb"), n)
    base, _ = measure(python("import pandas, httpx"), n)
    client, _ = measure(python("import costtrend_nb; costtrend_nb.CostTrendClient"), n)
    ratio = ours.median / base.median
    return [
        Row(
            "B5",
            "python -c 'import costtrend_nb'",
            ours.text(),
            f"python -c 'import pandas, httpx' {base.text()}",
            f"{ratio:.2f}x",
            "<= 1.3x",
            _met(ratio <= 1.3, quick),
        ),
        Row(
            "B5",
            "... and touching CostTrendClient",
            client.text(),
            "",
            f"{client.median / base.median:.2f}x",
            "report",
            "-",
        ),
    ]


# -- B6: dashboards -------------------------------------------------------------------------------


B6_VIEW_MEDIAN_S, B6_VIEW_P95_S, B6_DATA_S = 0.25, 0.6, 0.5  # issue 14, point 4
B6_VIEW = ("metric", "period", "align", "top", "horizon", "budget")


def b6_child(quick: bool) -> None:
    """In a fresh process (one BLAS thread, as the report kernels run): build the demo
    dashboard (90 days, daily), then time each control from setting its value to the new
    image's PNG bytes, and print the timings as JSON.

    Each view control steps through values it has not shown (cold: what a first visit costs)
    and then through the same values again (warm: the image or results are kept).
    """
    import datetime as dt
    import warnings

    from costtrend_nb import CostTrendClient
    from costtrend_nb.widgets import Dashboard

    warnings.simplefilter("ignore")
    client = CostTrendClient.demo()
    dash = Dashboard(client.fetch, start="2026-08-23", end="2026-11-21", budget=80_000)
    periods, breakdown, forecast = dash.boards
    rounds = 1 if quick else 2
    steps: list[tuple[str, Any, Any, Any]] = []  # (control name, board, widget, value)

    def view(name: str, board: Any, widget: Any, values: list[Any]) -> None:
        steps.extend((name, board, widget, v) for v in values)

    for i, board in enumerate(dash.boards):
        dash.tabs.selected_index = i
        metrics = (
            ["total_calls", "total_amount"]
            if quick
            else ["total_calls", "input_tokens", "total_amount"]
        )
        view("metric", board, board.metric, metrics * rounds)
    view(
        "period",
        periods,
        periods.period,
        (["week", "month"] if quick else ["day", "week", "month"]) * rounds,
    )
    view("period", breakdown, breakdown.period, ["week", "month"] * rounds)
    view("align", periods, periods.align, ["weekday", "calendar"] * rounds)
    view("top", breakdown, breakdown.top, ([5, 8] if quick else [4, 5, 6, 8]) * rounds)
    view("horizon", forecast, forecast.horizon, ([21, 14] if quick else [21, 28, 35, 14]) * rounds)
    view(
        "budget",
        forecast,
        forecast.budget,
        (["90000", "80000"] if quick else ["90000", "70000", "", "60000", "80000"]) * rounds,
    )
    timings: dict[str, dict[str, list[float]]] = {}
    seen: set[tuple[int, str, Any]] = set()

    def timed(name: str, kind: str, widget: Any, value: Any) -> None:
        gc.collect()
        began, cpu = time.perf_counter(), time.process_time()
        widget.value = value
        took, cpu = time.perf_counter() - began, time.process_time() - cpu
        found = timings.setdefault(name, {"cold": [], "warm": [], "cpu": []})
        found[kind].append(took)
        if kind == "cold":
            found["cpu"].append(cpu)

    for name, board, widget, value in steps:
        dash.tabs.selected_index = dash.boards.index(board)
        before = board.render_count
        state = (id(board), name, value)
        timed(name, "warm" if state in seen else "cold", widget, value)
        assert board.render_count == before + 1 and board.error is None, (name, value, board.error)
        seen.add(state)
    dash.tabs.selected_index = 0
    data: list[tuple[str, Any, Any]] = [
        ("model types", dash.model_types, ("Chat", "TTS")),
        ("departments", dash.departments, (10002,)),
        ("start date", dash.start, dt.date(2026, 9, 1)),
        ("model types", dash.model_types, ("Chat",)),
        ("departments", dash.departments, ()),
        ("start date", dash.start, dt.date(2026, 8, 23)),
    ]
    if quick:
        data = data[:3]
    for name, widget, value in data:
        before = dash.source.requests
        timed(name, "cold", widget, value)
        assert dash.source.requests == before + 1 and dash.visible.error is None, name
    timings["baseline"] = _b6_old_widgets(steps if not quick else steps[:2], data)
    print(json.dumps(timings))


B6_OLD_COMMIT = "454d97c"  # the last commit with the dashboards of before issue 14 (widgets.py)


def _b6_old_widgets(
    steps: list[tuple[str, Any, Any, Any]], data: list[tuple[str, Any, Any]]
) -> dict[str, list[float]]:
    """The same changes on the dashboards before issue 14 (``widgets.py`` at
    ``B6_OLD_COMMIT``; data controls on its first tab, which had its own), each followed by the
    PNG Jupyter's inline backend makes of the figure (``bbox_inches="tight"``); empty when git
    cannot show that file."""
    import importlib.util

    from IPython.core.pylabtools import print_figure
    from IPython.utils.capture import capture_output

    from costtrend_nb import CostTrendClient

    shown = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{B6_OLD_COMMIT}:costtrend_nb/widgets.py"],
        capture_output=True,
        text=True,
    )
    if shown.returncode:
        return {}
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "old_widgets.py"
        path.write_text(shown.stdout, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("costtrend_nb._b6_old_widgets", path)
        assert spec is not None and spec.loader is not None
        old = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(old)
    values = {"budget": lambda v: float(v) if v else 0.0}
    out: dict[str, list[float]] = {}
    with capture_output():
        dash = old.Dashboard(
            CostTrendClient.demo().fetch, start="2026-08-23", end="2026-11-21", budget=80_000
        )
        boards = {"Period over period": 0, "Model-type breakdown": 1, "Forecast": 2}
        for name, board, _, value in steps:
            target = dash.boards[boards[board.title]]
            widget = getattr(target, name)
            gc.collect()
            began = time.perf_counter()
            widget.value = values.get(name, lambda v: v)(value)
            print_figure(target.last_figure, "png")
            out.setdefault(name, []).append(time.perf_counter() - began)
        attributes = {"model types": "model_types", "start date": "start"}
        for name, _, value in data:
            target = dash.period_comparison
            gc.collect()
            began = time.perf_counter()
            getattr(target, attributes.get(name, name)).value = value
            print_figure(target.last_figure, "png")
            out.setdefault(name, []).append(time.perf_counter() - began)
    return out


def _b6_figures(runs: list[float]) -> tuple[float, float]:
    """The median and the 95th percentile (nearest rank) of ``runs``."""
    ordered = sorted(runs)
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
    return statistics.median(ordered), p95


def b6_dashboard(quick: bool, repeat: int) -> list[Row]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    merged: dict[str, dict[str, list[float]]] = {}
    baseline: dict[str, list[float]] = {}
    for _ in range(1 if quick else max(1, min(repeat, 3))):
        done = subprocess.run(
            [sys.executable, __file__, "--b6-child", "quick" if quick else "full"],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        found = json.loads(done.stdout.strip().splitlines()[-1])
        for name, runs in found.pop("baseline").items():
            baseline.setdefault(name, []).extend(runs)
        for name, kinds in found.items():
            for kind, runs in kinds.items():
                merged.setdefault(name, {"cold": [], "warm": [], "cpu": []})[kind].extend(runs)
    rows = []
    for name, kinds in merged.items():
        median, p95 = _b6_figures(kinds["cold"])
        is_view = name in B6_VIEW
        if is_view:
            target = (
                f"median <= {B6_VIEW_MEDIAN_S * 1000:.0f} ms, p95 <= {B6_VIEW_P95_S * 1000:.0f} ms"
            )
            ok = median <= B6_VIEW_MEDIAN_S and p95 <= B6_VIEW_P95_S
        else:
            target = f"<= {B6_DATA_S * 1000:.0f} ms"
            ok = p95 <= B6_DATA_S
        warm = (
            "median {:.0f} ms, p95 {:.0f} ms (n={})".format(
                *(1000 * v for v in _b6_figures(kinds["warm"])), len(kinds["warm"])
            )
            if kinds["warm"]
            else "-"
        )
        old = baseline.get(name, [])
        before = (
            "before issue 14 (inline PNG): median {:.0f} ms, p95 {:.0f} ms (n={}); ".format(
                *(1000 * v for v in _b6_figures(old)), len(old)
            )
            if old
            else ""
        )
        speedup = statistics.median(old) / median if old else 0.0
        ratio = (
            ""
            if not old
            else f"{speedup:.1f}x faster"
            if speedup >= 1
            else (f"{1 / speedup:.1f}x slower")
        )
        rows.append(
            Row(
                "B6",
                f"dashboard, demo 90 d daily: {name} ({'view' if is_view else 'data'} control)",
                f"median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (n={len(kinds['cold'])}; "
                f"CPU median {statistics.median(kinds['cpu']) * 1000:.0f} ms)",
                f"{before}shown again (kept image): {warm}",
                ratio,
                target,
                _met(ok, quick),
            )
        )
    return rows


# -- B7 csv: writing a large frame ----------------------------------------------------------------


def synthetic_tidy(rows: int) -> Any:
    """A tidy frame of ``rows`` rows with the contract's dtypes (README, "The tidy frame"):
    hourly buckets of a year for each (model type, department, metric), seeded values."""
    import numpy as np
    import pandas as pd

    from costtrend_nb.catalogue import METRICS
    from costtrend_nb.query import MODEL_TYPES

    metrics = list(METRICS)
    units = sorted({m.unit for m in METRICS.values()})
    hours = 366 * 24
    i = np.arange(rows)
    series = i // hours
    metric = series % len(metrics)
    stamps = pd.Timestamp("2025-11-20", tz="Asia/Shanghai").value + (i % hours) * 3_600 * 10**9
    values = np.round(np.random.default_rng(0).gamma(2.0, 50.0, rows), 4)
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(stamps, tz="UTC").tz_convert("Asia/Shanghai"),
            "model_type": pd.Categorical.from_codes(
                (series // len(metrics)) % len(MODEL_TYPES), categories=list(MODEL_TYPES)
            ),
            "client_id": pd.array(10001 + (series // 97) % 8, dtype="Int64"),
            "metric": pd.Categorical.from_codes(metric, categories=metrics),
            "value": values,
            "unit": pd.Categorical.from_codes(
                [units.index(METRICS[m].unit) for m in metrics], categories=units
            )[metric],
            "complete": (i % hours) < hours - 3,
        }
    )


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def old_csv_writer(df: Any, path: Path) -> None:
    """What the command did before: ISO text for the whole frame, then one string, written."""
    out = df.copy()
    out["timestamp"] = out["timestamp"].map(lambda t: t.isoformat())
    path.write_text(out.to_csv(index=False), encoding="utf-8")


def b7_child(writer: str, rows: int, target: str) -> None:
    """In a fresh process: build the frame, then write it and print its peak memory as JSON.

    The peak is the resident set's high-water mark (``VmHWM``, reset through
    ``/proc/self/clear_refs`` once the frame is built) minus the resident set before writing.
    """
    import ctypes

    from costtrend_nb.output import write_frame

    def write(frame: Any, path: str) -> None:
        if writer == "ours":
            write_frame(frame, path, "csv", {"rows": len(frame)})
        else:
            old_csv_writer(frame, Path(path))

    write(synthetic_tidy(1_000), target)  # warm-up: modules loaded, caches filled
    df = synthetic_tidy(rows)
    frame_bytes = int(df.memory_usage(deep=True, index=True).sum())
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset VmHWM to the current resident set
    before = _rss_kib("VmRSS")
    began = time.perf_counter()
    write(df, target)
    seconds = time.perf_counter() - began
    extra = (_rss_kib("VmHWM") - before) * 1024
    print(json.dumps({"frame": frame_bytes, "extra": extra, "seconds": seconds}))


def _b7_run(writer: str, rows: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [sys.executable, __file__, "--b7-child", writer, str(rows), f"{scratch}/b7.csv"],
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(done.stdout)


def b7_csv(quick: bool, repeat: int) -> list[Row]:
    rows = 200_000 if quick else 10_000_000
    n = 1 if quick else max(1, min(repeat, 3))
    ours = [_b7_run("ours", rows) for _ in range(n)]
    base = [_b7_run("baseline", rows) for _ in range(n)]
    frame = ours[0]["frame"]
    ours_extra = statistics.median(r["extra"] for r in ours) / frame
    base_extra = statistics.median(r["extra"] for r in base) / frame
    ours_s = statistics.median(r["seconds"] for r in ours)
    base_s = statistics.median(r["seconds"] for r in base)
    return [
        Row(
            "B7",
            f"csv: write a {rows:,}-row tidy frame ({frame / 1e6:,.0f} MB deep) with the "
            "command's writer",
            f"peak +{ours_extra:.2f}x the frame ({ours_s:.1f} s, n={n})",
            f"old writer: ISO copy + df.to_csv() to one string +{base_extra:.2f}x ({base_s:.1f} s)",
            f"{base_extra / ours_extra:.0f}x less extra memory",
            "peak extra < 0.5x the frame",
            _met(ours_extra < 0.5, quick),
        )
    ]


# -- B8 (issue 15's B7): FOCUS export at scale -----------------------------------------------------


def dense_transport() -> Any:
    """An in-process fake of both endpoints where every model type in each of 8 departments is
    used every hour (the demo organisation uses 40 of the 104 pairs, from 2025-09 only).

    Values come from a closed formula in numpy; pages hold up to ``maxResults`` points.
    """
    import base64

    import httpx
    import numpy as np
    import orjson

    from costtrend_nb.catalogue import MODEL_TYPE_METRICS
    from costtrend_nb.query import MODEL_TYPES

    names = [
        "Headquarters", "Research", "AI Platform", "Search",
        "Customer Service", "Marketing", "Creative Studio", "Finance",
    ]  # fmt: skip
    departments = [
        {"id": d, "name": n, "parentId": 0 if d == 10001 else 10001, "level": 1 + (d != 10001)}
        for d, n in zip(DEPTS8, names, strict=True)
    ]

    def trend(q: dict[str, str]) -> dict[str, Any]:
        start, end = int(q["startTime"]), int(q["endTime"])
        kind = q["modelTypes"]
        client = int(q.get("clientId") or q.get("clientIds", "10001").split(",")[0])
        size = int(q.get("maxResults", 100))
        offset = int(base64.b64decode(q["nextToken"]).decode()) if q.get("nextToken") else 0
        hours = np.arange(start, end, 3600)
        page = hours[offset : offset + size]
        i = MODEL_TYPES.index(kind) + 1
        hour = (page // 3600) % 24
        amount = np.round(0.5 * i + 0.01 * (client - 10000) + 0.125 * hour, 4)
        columns = {
            "total_amount": amount,
            "total_calls": 10.0 * i + hour,
            "model_count": 1.0 + 0 * hour,
        }
        for n, key in enumerate(MODEL_TYPE_METRICS[kind]):
            columns[key] = 1000.0 * i + 10 * hour + n
        keys = list(columns)
        matrix = np.column_stack([np.broadcast_to(columns[k], page.shape) for k in keys])
        points = [
            {"timestamp": ts, "values": orjson.dumps(dict(zip(keys, row, strict=True))).decode()}
            for ts, row in zip(page.tolist(), matrix.tolist(), strict=True)
        ]
        body: dict[str, Any] = {
            "requestId": "b8",
            "success": True,
            "httpStatusCode": 200,
            "maxResults": size,
            "data": {
                "defaultMetric": "total_amount",
                "granularity": "hourly",
                "metrics": [],
                "points": points,
            },
        }
        if offset + size < len(hours):
            body["nextToken"] = base64.b64encode(str(offset + size).encode()).decode()
        return body

    def handle(request: httpx.Request) -> httpx.Response:
        q = dict(request.url.params)
        if request.url.path.endswith("/clients"):
            body = {"requestId": "b8", "success": True, "data": {"list": departments, "total": 8}}
        else:
            body = trend(q)
        date = {"date": "Fri, 20 Nov 2026 06:30:00 GMT"}  # the demo's clock: 14:30 in Shanghai
        return httpx.Response(200, content=orjson.dumps(body), headers=date)

    return httpx.MockTransport(handle)


def b8_child(how: str, start: str, end: str, folder: str) -> None:
    """In a fresh process: one export, then its peak resident set and CPU time as JSON.

    ``how`` is ``command`` (``costtrend-nb export --focus``, month by month) or ``one-frame``
    (the baseline: fetch the whole range as one frame, convert it, write it as one file).
    """
    import resource

    from costtrend_nb import CostTrendClient, Credentials, cli

    def make_client(args: Any = None) -> Any:
        return CostTrendClient(
            Credentials("AKIDbenchmark0008", "b8"), transport=dense_transport(), progress=False
        )

    began = time.perf_counter()
    if how == "command":
        cli._make_client = make_client  # the command's own path; only the transport is ours
        argv = ["export", "--focus", "--start", start, "--end", end, "-o", folder]
        if cli.main([*argv, "--max-results", "1000"]) != 0:
            raise SystemExit("the export failed")
    else:
        from costtrend_nb.focus import to_focus

        with make_client() as client:
            df = client.fetch(
                start, end, by=("model_type", "client_id"), client_ids=DEPTS8, max_results=1000
            )
            rows = to_focus(df, departments=client.departments())
        Path(folder).mkdir(parents=True)
        rows.to_parquet(Path(folder) / "all.parquet", index=False)
    seconds = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": usage.ru_utime + usage.ru_stime,
                "peak_mb": usage.ru_maxrss / 1024,
            }
        )
    )


def _b8_run(how: str, start: str, end: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--b8-child", how, start, end, f"{scratch}/focus"],
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        figures["wall"] = time.perf_counter() - began  # the interpreter's start included
        parts = list(Path(scratch).rglob("*.parquet"))
        figures["files"] = len(parts)
    return figures


def b8_focus(quick: bool, repeat: int) -> list[Row]:
    start, end = ("2026-10-28", "2026-11-04") if quick else ("2024-11-20", "2026-11-20")
    n = 1 if quick else max(1, min(repeat, 3))
    ours = [_b8_run("command", start, end) for _ in range(n)]
    base = [_b8_run("one-frame", start, end) for _ in range(n)]
    wall = statistics.median(r["wall"] for r in ours)
    cpu = statistics.median(r["cpu"] for r in ours)
    peak = statistics.median(r["peak_mb"] for r in ours)
    base_peak = statistics.median(r["peak_mb"] for r in base)
    base_wall = statistics.median(r["wall"] for r in base)
    base_cpu = statistics.median(r["cpu"] for r in base)
    span = "1 week" if quick else "2 years"
    return [
        Row(
            "B8",
            f"costtrend-nb export --focus: {span} hourly, 104 series (13 model types x 8 "
            f"departments, every hour used), {ours[0]['files']} monthly partitions "
            "(issue 15's B7)",
            f"{wall:.1f} s wall, {cpu:.1f} s CPU, peak {peak:,.0f} MB (n={n})",
            f"one frame: fetch all, to_focus, one file: {base_wall:.1f} s wall, "
            f"{base_cpu:.1f} s CPU, peak {base_peak:,.0f} MB",
            f"{base_peak / peak:.1f}x less memory",
            "<= 60 s and <= 1,536 MB on 2 cores",
            _met(wall <= 60 and peak <= 1536, quick),
        )
    ]


def _met(ok: bool, quick: bool) -> str:
    if quick:
        return "(quick)"
    return "yes" if ok else "NO"


def machine() -> str:
    from importlib.metadata import PackageNotFoundError, version

    import httpx
    import numpy
    import orjson
    import pandas

    import costtrend_nb

    try:
        sdk = version("alibabacloud-aicontent20240611")
    except PackageNotFoundError:
        sdk = "not installed"
    return ", ".join(
        [
            f"{os.cpu_count()} cores",
            platform.processor() or platform.machine(),
            f"Python {platform.python_version()}",
            f"costtrend_nb {costtrend_nb.__version__}",
            f"pandas {pandas.__version__}",
            f"numpy {numpy.__version__}",
            f"httpx {httpx.__version__}",
            f"orjson {orjson.__version__}",
            f"alibabacloud-aicontent20240611 {sdk}",
        ]
    )


def table(rows: list[Row]) -> str:
    head = ["id", "workload", "ours (median)", "baseline (median)", "ratio", "target", "met"]
    cells = [head] + [
        [r.id, r.workload, r.ours, r.baseline, r.ratio, r.target, r.met] for r in rows
    ]
    lines = ["| " + " | ".join(c) + " |" for c in cells]
    lines.insert(1, "|" + "|".join(" --- " for _ in head) + "|")
    return "\n".join(lines)


WORKLOADS = {
    "B1": b1_fetch,
    "B2": b2_b3_parse,
    "B4": b4_report,
    "B5": b5_import,
    "B6": b6_dashboard,
    "B7": b7_csv,
    "B8": b8_focus,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: small sizes, few repeats"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="measured runs after the warm-up (default 5)"
    )
    parser.add_argument("--only", action="append", choices=sorted(WORKLOADS), help="run only these")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--b6-child", choices=["quick", "full"], help=argparse.SUPPRESS)
    parser.add_argument("--b7-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--b8-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.b6_child:
        b6_child(args.b6_child == "quick")
        return 0
    if args.b7_child:
        writer, rows, target = args.b7_child
        b7_child(writer, int(rows), target)
        return 0
    if args.b8_child:
        b8_child(*args.b8_child)
        return 0
    repeat = 1 if args.quick else args.repeat
    rows: list[Row] = []
    for name, workload in WORKLOADS.items():
        if args.only and name not in args.only:
            continue
        began = time.perf_counter()
        rows += workload(args.quick, repeat)
        print(f"{name} done in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    print(f"Machine: {machine()}")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
