"""The benchmark harness works: its smoke run, as CI runs it (speed is claimed only from full runs)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_smoke_run(tmp_path):
    out = tmp_path / "rows.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(out.read_text())
    assert {row["id"] for row in rows} == {"B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8"}
    assert "Machine: " in result.stdout and "| B1 |" in result.stdout
    b1 = next(r for r in rows if r["id"] == "B1")
    assert "vendor SDK" in b1["baseline"]
    assert "(same totals as the SDK: yes)" in [r["workload"] for r in rows]
    b8 = next(r for r in rows if r["id"] == "B8")  # the FOCUS export, month by month
    assert "2 monthly partitions" in b8["workload"] and "peak" in b8["ours"]
    b6 = {r["workload"].split(": ")[1].split(" (")[0] for r in rows if r["id"] == "B6"}
    assert {"metric", "horizon", "budget", "model types"} <= b6  # each control timed
