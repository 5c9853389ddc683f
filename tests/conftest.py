"""Shared test set-up: an isolated environment and a network that reaches only loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

# Never probe cloud metadata, never show progress bars, never find the developer's own
# credentials: in this process and in every kernel it starts (nbval starts them at collection,
# before any fixture runs).
for _name in list(os.environ):
    if _name.startswith("ALIBABA_CLOUD_") or _name in (
        "COSTTREND_NB_ENDPOINT",
        "COSTTREND_NB_CACHE_DIR",
    ):
        del os.environ[_name]
os.environ["HOME"] = tempfile.mkdtemp(prefix="costtrend-test-home-")
os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
os.environ["COSTTREND_NB_PROGRESS"] = "0"
# one BLAS thread for the kernels and commands the tests start: on 2 cores, OpenBLAS threads
# fighting each other slow every forecast fit several times over
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Draw without a screen in this process only: an MPLBACKEND variable would reach the notebook
# kernels too, and their inline figures would vanish.
matplotlib.use("Agg")

settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DATA = Path(__file__).parent / "data"


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkBlocked(RuntimeError):
    pass


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: object) -> object:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):  # type: ignore[index]
        raise NetworkBlocked(f"tests may not contact {address!r}: only loopback is allowed")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):  # type: ignore[index]
        raise NetworkBlocked(f"tests may not contact {address!r}: only loopback is allowed")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    if host is not None and not _is_loopback(host.decode() if isinstance(host, bytes) else host):
        raise NetworkBlocked(f"tests may not resolve {host!r}: only loopback is allowed")
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """No credentials from the developer's machine: clean environment and an empty HOME."""
    for name in list(os.environ):
        if name.startswith("ALIBABA_CLOUD_") and name != "ALIBABA_CLOUD_ECS_METADATA_DISABLED":
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    with warnings.catch_warnings():
        yield home


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    """Every test starts and ends with no open matplotlib figure."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(scope="session")
def demo_report_pages(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The demo reports, rendered once for the whole run (the slowest step of the suite): their
    paths in the notebooks' order, then the index. Tests read them; none may change them."""
    from costtrend_nb.report import render_reports

    out = tmp_path_factory.mktemp("demo-reports")
    paths = render_reports(None, out, demo=True, progress=False)
    return [*paths, out / "index.html"]
