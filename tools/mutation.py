"""Mutation testing of the core with mutmut (issue 16; docs/mutation.md says why mutmut).

Each target of tests/mutation_targets.toml (a module, or analysis/) runs in a snapshot of the
package and the tests under build/mutation/<target>/, so the checkout is never mutated and
edits made meanwhile do not mix in. mutmut runs each mutant against only those of the target's
test files that reach the mutated function. Prints the kill ratio per target and the survivors;
exits 1 when a target scores under --min-score.

    python tools/mutation.py                      # every target (make mutation)
    python tools/mutation.py catalogue query      # some targets
    python tools/mutation.py --smoke              # a handful of mutants (make mutation-smoke)
    python tools/mutation.py query --mutants 'costtrend_nb.query.x_to_timestamp__mutmut_*'
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "tests" / "mutation_targets.toml"
WORK = ROOT / "build" / "mutation"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis")
# mutmut leaves every decorated function unmutated (a decorator runs at import): the snapshot
# applies these by assignment after the module instead, so the functions' bodies are mutated
UNDECORATE = ("keeps_missing_series",)


def undecorate(source: str, names: tuple[str, ...] = UNDECORATE) -> str:
    r"""``source`` with each module-level ``@name`` decorator of ``names`` applied by assignment
    at the module's end instead (the same functions, which mutmut then mutates).

    >>> print(undecorate("@keeps_missing_series\ndef f(df):\n    return df\n"))
    def f(df):
        return df
    <BLANKLINE>
    f = keeps_missing_series(f)  # undecorated for mutmut (tools/mutation.py)
    <BLANKLINE>
    """
    lines = source.splitlines(keepends=True)
    kept, applied = [], []
    for i, line in enumerate(lines):
        name = line.strip()[1:]
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith("@") and name in names and following.startswith("def "):
            function = following[4:].split("(", 1)[0]
            applied.append(
                f"{function} = {name}({function})  # undecorated for mutmut (tools/mutation.py)\n"
            )
            continue
        kept.append(line)
    if not applied:
        return source
    return "".join(kept).rstrip("\n") + "\n\n" + "".join(applied)


# mutmut learns which tests reach a function from one clean run of them all in one process,
# where analysis.engines.fit_once would hand a later test an earlier test's fit without calling
# the engine (and analysis._frame.remembered an earlier test's bucket facts): that later test
# would then never be run against the mutants of the functions it skipped
FORGET_FITS = """

@pytest.fixture(autouse=True)
def _forget_fits():  # added by tools/mutation.py: every test fits and measures for itself
    from costtrend_nb.analysis import _frame, engines

    engines._fits.clear()
    _frame._derived.clear()
"""


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def _snapshot(name: str, target: dict, pytest_options: dict) -> Path:
    """build/mutation/<name>/: the package, the tests and a pyproject.toml for this target."""
    work = WORK / name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copytree(ROOT / "costtrend_nb", work / "costtrend_nb", ignore=IGNORE)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=IGNORE)
    for pattern in target["mutate"]:
        for module in work.glob(pattern):
            module.write_text(undecorate(module.read_text()))
    conftest = work / "tests" / "conftest.py"
    conftest.write_text(conftest.read_text() + FORGET_FITS)
    markers = pytest_options.get("markers", [])
    deselect = [f"--deselect={t}" for t in target.get("deselect", [])]
    filters = pytest_options.get("filterwarnings", [])
    (work / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n"
        "addopts = \"-p no:nbval -p no:cacheprovider -m 'not slow and not browser'\"\n"
        f"markers = {_toml_list(markers)}\n"
        f"filterwarnings = {_toml_list(filters)}\n\n"
        "[tool.mutmut]\n"
        'source_paths = ["costtrend_nb"]\n'
        f"only_mutate = {_toml_list(target['mutate'])}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(target['tests'])}\n"
        'also_copy = ["tests"]\n'
        f"pytest_add_cli_args = {_toml_list(deselect)}\n"
    )
    return work


def _mutmut(work: Path, *args: str, log: Path | None = None) -> str:
    exe = Path(sys.executable).with_name("mutmut")
    env = {**os.environ, "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true", "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [str(exe), *args], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    if log is not None:
        log.write_text(out.stdout + out.stderr)
    if out.returncode:
        raise SystemExit(f"mutmut {' '.join(args)} failed in {work}:\n{out.stderr[-3000:]}")
    return out.stdout


def run_target(name: str, target: dict, pytest_options: dict, jobs: int, only: list[str]) -> dict:
    """Mutate one target and test it; its figures and survivors."""
    work = _snapshot(name, target, pytest_options)
    started, cpu = time.monotonic(), os.times()
    _mutmut(work, "run", "--max-children", str(jobs), *only, log=work / "run.log")
    wall = time.monotonic() - started
    after = os.times()
    cpu_s = (after.children_user + after.children_system) - (
        cpu.children_user + cpu.children_system
    )
    listing = _mutmut(work, "results", "--all", "true")
    status = {}
    for line in listing.splitlines():
        mutant, _, state = line.strip().rpartition(": ")
        if mutant:
            status[mutant] = state
    counts = {s: list(status.values()).count(s) for s in set(status.values())}
    checked = len(status) - counts.get("not checked", 0) - counts.get("skipped", 0)
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    killed += counts.get("caught by type check", 0)
    return {
        "target": name,
        "mutants": checked,
        "killed": killed,
        "survived": counts.get("survived", 0),
        "no_tests": counts.get("no tests", 0),
        "suspicious": counts.get("suspicious", 0),
        "score": round(100 * killed / checked, 1) if checked else 0.0,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu_s, 1),
        "survivors": sorted(m for m, st in status.items() if st in ("survived", "no tests")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="targets to run (default: every one)")
    parser.add_argument("--smoke", action="store_true", help="a handful of mutants only")
    parser.add_argument(
        "--mutants",
        nargs="+",
        default=[],
        metavar="GLOB",
        help="run only these mutants (mutmut names or globs, e.g. a survivor list)",
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--min-score", type=float, default=85.0)
    args = parser.parse_args(argv)
    config = tomllib.loads(TARGETS.read_text())
    pytest_options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"][
        "ini_options"
    ]
    targets = config["targets"]
    only: list[str] = list(args.mutants)
    if args.smoke:
        names, only = [config["smoke"]["target"]], config["smoke"]["mutants"]
    else:
        names = args.targets or list(targets)
    unknown = [n for n in names if n not in targets]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(targets)}")
    results = []
    for name in names:
        result = run_target(name, targets[name], pytest_options, args.jobs, only)
        results.append(result)
        print(
            f"{name:10} {result['killed']:4d} of {result['mutants']:4d} killed "
            f"({result['score']:5.1f} %), {result['wall_s']:6.1f} s wall, "
            f"{result['cpu_s']:6.1f} s CPU",
            flush=True,
        )
        for survivor in result["survivors"]:
            print(f"    survived: {survivor}")
    summary = "smoke.json" if args.smoke else "partial.json" if args.mutants else "summary.json"
    (WORK / summary).write_text(json.dumps(results, indent=2) + "\n")
    if args.smoke:
        ok = all(r["mutants"] > 0 and r["killed"] > 0 and not r["suspicious"] for r in results)
        print("mutation smoke:", "ok" if ok else "FAILED (no mutant killed, or suspicious)")
        return 0 if ok else 1
    if args.mutants:  # a partial run: its ratio is not the target's score
        return 0
    low = [r["target"] for r in results if r["score"] < args.min_score]
    if low:
        print(f"under {args.min_score:g} % killed: {', '.join(low)}")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
