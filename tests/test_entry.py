import os
import subprocess
import sys

from costtrend_nb import _entry


def test_the_command_runs_with_one_blas_thread_unless_told(monkeypatch):
    seen = {}
    monkeypatch.setattr("costtrend_nb.cli.main", lambda: seen.update(os.environ) or 0)
    for name in _entry.BLAS_THREADS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "4")
    assert _entry.main() == 0
    assert seen["OPENBLAS_NUM_THREADS"] == seen["OMP_NUM_THREADS"] == "1"
    assert seen["MKL_NUM_THREADS"] == "4"


def test_the_installed_command_is_the_entry_point():
    code = (
        "from importlib.metadata import entry_points;"
        "print(entry_points(group='console_scripts')['costtrend-nb'].value)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "costtrend_nb._entry:main"
