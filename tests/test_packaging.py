"""The package as shipped: dependencies in step, the public surface, a light import."""

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import costtrend_nb

ROOT = Path(__file__).resolve().parents[1]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(spec: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    assert match, spec
    return _normalise(match.group(1)), match.group(2).replace(" ", "")


def conda_dependencies() -> dict[str, str]:
    deps: dict[str, str] = {}
    in_list = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_list = True
            continue
        if in_list and line.startswith("  - "):
            item = line[4:].split("#")[0].strip()
            if item and item != "pip" and not item.startswith("python="):
                name, spec = _split(item)
                deps[name] = spec
        elif in_list and line and not line.startswith(" "):
            in_list = False
    return deps


def test_environment_yml_lists_the_runtime_dependencies_of_pyproject():
    """Binder gets the runtime dependencies and JupyterLab (the ``lab`` extra), same ranges."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = dict(_split(d) for d in project["dependencies"])
    runtime |= dict(_split(d) for d in project["optional-dependencies"]["lab"])
    assert conda_dependencies() == runtime
    text = (ROOT / "environment.yml").read_text()
    assert "conda-forge" in text and "python=3.12" in text


def test_constraints_pin_every_runtime_dependency():
    pins = {
        _normalise(line.split("==")[0])
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_split(d)[0] for d in project["dependencies"]}
    wanted |= {_split(d)[0] for extra in project["optional-dependencies"].values() for d in extra}
    assert wanted <= pins, sorted(wanted - pins)


def test_every_range_admits_the_pinned_version():
    """environment.yml and pyproject.toml ranges hold what constraints.txt pins (and tests)."""
    from packaging.specifiers import SpecifierSet

    pins = {
        _normalise(name): version
        for name, version in (
            line.split("==")
            for line in (ROOT / "constraints.txt").read_text().splitlines()
            if "==" in line
        )
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ranges = [_split(d) for d in project["dependencies"]]
    ranges += [_split(d) for extra in project["optional-dependencies"].values() for d in extra]
    ranges += list(conda_dependencies().items())
    outside = [(n, spec, pins[n]) for n, spec in ranges if pins[n] not in SpecifierSet(spec)]
    assert not outside


def test_public_surface_is_what_all_says():
    public = {name for name in dir(costtrend_nb) if not name.startswith("_")}
    assert set(costtrend_nb.__all__) - {"__version__"} <= public
    for name in costtrend_nb.__all__:
        assert getattr(costtrend_nb, name) is not None
    assert {
        "CostTrendClient",
        "AsyncCostTrendClient",
        "Credentials",
        "TrendQuery",
        "wide",
        "CostTrendError",
        "FetchError",
    } <= set(costtrend_nb.__all__)


def test_unknown_attribute_is_an_attribute_error():
    try:
        costtrend_nb.no_such_thing  # noqa: B018
    except AttributeError as err:
        assert "no_such_thing" in str(err)
    else:
        raise AssertionError("expected AttributeError")


def test_import_is_light():
    code = "import sys, costtrend_nb; heavy = [m for m in ('matplotlib', 'ipywidgets', 'statsmodels', 'httpx', 'pandas', 'IPython') if m in sys.modules]; print(','.join(heavy))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def package_imports(path: Path) -> set[str]:
    """The package modules a module imports, as top-level room names (``__init__`` for ``.``)."""
    inside = path.parent.name != "costtrend_nb"  # a sub-package: emulator, analysis, plot, ...
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        name = (node.module or "__init__").split(".")[0]
        if inside and node.level == 1:
            name = path.parent.name  # a sibling inside the same package
        found.add(name)
    return found


# DESIGN.md, "Package layout": what each room may import. Lower layers never import upper ones.
ROOMS = {
    "errors": set(),
    "_warn": set(),
    "credentials": {"errors"},
    "auth": {"credentials", "errors"},
    "query": {"_warn", "errors"},
    "catalogue": {"query"},
    "tidy": {"_warn", "errors", "query", "catalogue"},
    "protocol": {"errors", "tidy", "query"},
    "_version": set(),
    "cachefiles": {"_version"},
    "cache": {"_version", "cachefiles", "catalogue", "errors", "query", "tidy"},
    "chains": {"errors", "protocol", "tidy"},
    "clientbase": {
        "_warn",
        "auth",
        "query",
        "tidy",
        "protocol",
        "errors",
        "cache",
        "chains",
        "emulator",
    },
    "client": {"auth", "chains", "clientbase", "errors", "protocol", "query", "tidy"},
    "emulator": {"emulator", "auth", "catalogue", "errors", "query"},
    "analysis": {"_warn", "analysis", "tidy", "catalogue", "errors", "query"},
    "lang": {"_warn", "catalogue", "errors"},
    "style": {"catalogue", "lang"},
    "tables": {"tables", "analysis", "catalogue", "style", "tidy", "errors", "lang"},
    "plot": {"plot", "analysis", "catalogue", "style", "tidy", "lang"},
    "widgets": {
        "widgets",
        "analysis",
        "catalogue",
        "errors",
        "lang",
        "plot",
        "query",
        "style",
        "tidy",
    },
    "report": {"__init__", "errors", "tidy", "reportindex", "reportpage", "reportrun"},
    "reportkernel": {"plot"},
    "reportrun": {"errors"},
    "reportpage": {"lang"},
    "reportindex": {"__init__", "reportkernel", "reportpage", "summary"},
    "output": {"__init__", "errors"},
    "summary": {"summary", "_version", "analysis", "errors", "lang", "tables"},
    "overview": {"errors", "query", "summary"},
    "arguments": {"__init__", "errors", "output"},
    "focus": {"focus", "_version", "catalogue", "errors", "query", "tidy"},
    "focusexport": {"errors", "focus", "output", "query"},
    "_entry": {"cli"},
    "cli": {
        "__init__",
        "arguments",
        "cache",
        "errors",
        "client",
        "emulator",
        "focusexport",
        "output",
        "query",
        "report",
        "lang",
        "overview",
        "summary",
    },
}


def test_every_module_sits_in_its_room():
    package = ROOT / "costtrend_nb"
    modules = {p.stem for p in package.glob("*.py")} - {"__init__"}
    modules |= {p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert modules <= set(ROOMS), (
        f"add the new module's room here and in the docs: {modules - set(ROOMS)}"
    )
    for path in package.rglob("*.py"):
        room = path.parent.name if path.parent != package else path.stem
        if room == "__init__":
            continue
        assert package_imports(path) <= ROOMS[room], (
            path.name,
            package_imports(path) - ROOMS[room],
        )


def test_heavy_libraries_load_only_when_used():
    code = "import sys, costtrend_nb.analysis; print('statsmodels' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False"  # statsmodels is imported when a forecast or a decomposition runs


def test_the_emulator_loads_only_in_demo_mode():
    code = "import sys, costtrend_nb as ct; ct.CostTrendClient(ct.Credentials('AKIDlight0000001', 's')); print('costtrend_nb.emulator' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False"
