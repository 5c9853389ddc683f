"""A JupyterLab server for the browser tests: loopback only, a random token, nothing from the network.

The server runs over a temporary copy of the notebooks with its own HOME, Jupyter and lab
settings directories (so no user setting leaks in), no news, no update check and a read-only
extension manager (so nothing asks the network), and it stops with its whole process group.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = [
    "LAB_NOTEBOOKS",
    "LAB_SETTINGS",
    "LabServer",
    "copy_notebooks",
    "free_port",
    "start_lab",
]

# the notebooks whose dashboards the browser tests drive (tests/browser/test_lab.py)
LAB_NOTEBOOKS = ("00-getting-started.ipynb", "01-period-over-period.ipynb")

# user settings of the temporary lab: every cell in the DOM (no windowing, so locators find
# cells out of sight), the notebook's own kernel started without asking, no news prompt or
# update check
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,
    },
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
}

INTERACTIVE = re.compile(r"^interactive\s*=\s*\w+", re.MULTILINE)


@dataclass
class LabServer:
    """A running JupyterLab: its base URL, token, notebook root, process and log."""

    url: str  # http://127.0.0.1:<port>/
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    log: Path

    def tree(self, path: str) -> str:
        """The address that opens ``path`` (relative to the root) in lab.

        >>> server = LabServer("http://127.0.0.1:1/", "t", Path("."), None, Path("log"))
        >>> server.tree("00 a.ipynb")
        'http://127.0.0.1:1/lab/tree/00%20a.ipynb?token=t'
        """
        return f"{self.url}lab/tree/{quote(path)}?token={self.token}"

    def api(self, path: str, method: str = "GET") -> Any:
        """Call the server's REST API (``api/...``) with the token; the JSON answer, or None."""
        request = urllib.request.Request(
            f"{self.url}api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the kernels down, then end the server's process group (killed if it lingers)."""
        if self.process.poll() is None:
            try:
                for kernel in self.api("kernels") or []:
                    self.api(f"kernels/{kernel['id']}", method="DELETE")
            except (OSError, urllib.error.URLError, ValueError):
                pass  # the server is going anyway; its own clean-up stops the kernels
        _end_group(self.process, timeout)


def _end_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    >>> 1024 <= free_port() <= 65535
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_notebooks(source: Path, target: Path, names: Iterable[str]) -> list[Path]:
    """Copy the named notebooks to ``target``: ``interactive = True``, no stored outputs.

    Without stored outputs or execution counts, a cell shows a number only once it has run here.

    >>> import tempfile
    >>> from costtrend_nb.report import find_notebooks
    >>> first = find_notebooks()[0]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     [copy] = copy_notebooks(first.parent, Path(folder), [first.name])
    ...     cells = json.loads(copy.read_text())["cells"]
    >>> any("interactive = True" in "".join(cell["source"]) for cell in cells)
    True
    >>> {len(cell["outputs"]) for cell in cells if cell["cell_type"] == "code"}
    {0}
    """
    target.mkdir(parents=True, exist_ok=True)
    copies = []
    for name in names:
        notebook = json.loads((source / name).read_text(encoding="utf-8"))
        notebook["metadata"].pop("widgets", None)  # no stored widget state either
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                text = "".join(cell["source"])
                cell["source"] = INTERACTIVE.sub("interactive = True", text).splitlines(True)
        copy = target / name
        copy.write_text(json.dumps(notebook, indent=1, ensure_ascii=False), encoding="utf-8")
        copies.append(copy)
    return copies


def _environment(home: Path) -> dict[str, str]:
    """The server's (and its kernels') environment: no credentials, no user settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ALIBABA_CLOUD_", "JUPYTER", "JPY_", "COSTTREND_NB_"))
        and name not in ("IPYTHONDIR", "MPLBACKEND", "MPLCONFIGDIR", "PYTHONSTARTUP")
    }
    dirs = {
        "HOME": home,
        "IPYTHONDIR": home / ".ipython",
        "JUPYTER_CONFIG_DIR": home / ".jupyter",
        "JUPYTER_DATA_DIR": home / ".local/share/jupyter",
        "JUPYTER_RUNTIME_DIR": home / ".local/share/jupyter/runtime",
        "JUPYTERLAB_SETTINGS_DIR": home / ".jupyter/lab/user-settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / ".jupyter/lab/workspaces",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    env.update({name: str(path) for name, path in dirs.items()})
    env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    env["COSTTREND_NB_PROGRESS"] = "0"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # no debugger warning in the kernel's log
    for plugin, values in LAB_SETTINGS.items():
        package, name = plugin.rsplit("/", 1)
        folder = dirs["JUPYTERLAB_SETTINGS_DIR"] / package
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
    return env


def start_lab(root: Path, home: Path, *, timeout: float = 60.0) -> LabServer:
    """Start JupyterLab over ``root`` on a free loopback port and wait until it answers.

    Raises ``RuntimeError`` with the end of its log when it exits or does not answer in time.
    """
    token = secrets.token_hex(16)
    port = free_port()
    env = _environment(home)
    log = home / "jupyterlab.log"
    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        "--ServerApp.terminals_enabled=False",
    ]
    if os.geteuid() == 0:  # CI containers run as root
        args.append("--allow-root")
    with log.open("wb") as out:
        process = subprocess.Popen(
            args,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, ended as one
        )
    server = LabServer(f"http://127.0.0.1:{port}/", token, root, process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited ({process.returncode}):\n{server.log_tail()}")
        try:
            server.api("status")
            return server
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"JupyterLab did not answer in {timeout:.0f} s:\n{server.log_tail()}")


if __name__ == "__main__":  # by hand: a lab over a copy of the notebooks, until Ctrl-C
    import tempfile

    from costtrend_nb.report import find_notebooks

    base = Path(tempfile.mkdtemp(prefix="costtrend-lab-"))
    found = find_notebooks()
    copy_notebooks(found[0].parent, base / "notebooks", [path.name for path in found])
    lab = start_lab(base / "notebooks", base / "home")
    print(lab.tree(found[0].name), flush=True)
    try:
        lab.process.wait()
    except KeyboardInterrupt:
        lab.stop()
    shutil.rmtree(base, ignore_errors=True)
