"""The cache's files on disk: where they live, and how they are touched without harm.

Layout: ``<cache_dir>/v<package version>/<sha256 of the series key>.npz``. A version folder is
made 0700 with a marker file, ``.costtrend-nb-cache``, and files are made 0600. The cache reads,
counts and deletes only what it wrote: files named ``<64 hex digits>.npz`` (and its own
``.tmp-*.npz`` leftovers) in folders that hold the marker. Anything else in the directory, a
folder without the marker included, is left alone; a symbolic link is never followed and a
file that is not a regular file (a FIFO, a device) is never opened.

A folder is held open and its files are reached through it, so it cannot be swapped for a link
between a check and a use. A file is written to a temporary name and renamed into place, so a
reader never sees half of one. What the files hold, and when they are trusted, is the business
of :mod:`costtrend_nb.cache`.

Example:
    >>> import tempfile
    >>> with Folder.open_root(Path(tempfile.mkdtemp())) as top:
    ...     top.make("v1"), top.make("v1")
    (True, False)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ._version import __version__

__all__ = [
    "CACHE_ENV",
    "FORMAT",
    "MARKER",
    "VERSION_PATTERN",
    "Folder",
    "ForeignFolder",
    "NotOurs",
    "cache_info",
    "clear_cache",
    "default_cache_dir",
    "version_folder",
    "write_atomically",
    "write_marker",
]

#: An environment variable that moves the default cache directory.
CACHE_ENV = "COSTTREND_NB_CACHE_DIR"
#: The file that marks a version folder as made by this package (nothing else is touched).
MARKER = ".costtrend-nb-cache"
FORMAT = 1  # bump when the file layout changes
#: What a package version may be, to name a folder after it.
VERSION_PATTERN = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]*")
_FOLDER_MODE, _FILE_MODE = 0o700, 0o600
_OWNER = "costtrend_nb"
_FOLDER_NAME = re.compile(r"v" + VERSION_PATTERN.pattern)
_DATA_NAME = re.compile(r"[0-9a-f]{64}\.npz")
_TEMP_NAME = re.compile(r"\.tmp-[0-9a-z_]{8,32}\.npz")  # ours, and mkstemp's of older versions


def default_cache_dir() -> Path:
    """Where the cache lives unless told: ``$COSTTREND_NB_CACHE_DIR``, else the user's cache
    directory (``$XDG_CACHE_HOME`` or ``~/.cache``, ``%LOCALAPPDATA%`` on Windows).

    Example:
        >>> default_cache_dir().name
        'costtrend_nb'
    """
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser() / "costtrend_nb"
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "costtrend_nb"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "costtrend_nb"


def cache_info(root: str | os.PathLike[str], version: str = __version__) -> dict[str, Any]:
    """Files and bytes under a cache directory, per package version.

    Only the cache's own files count: ``<64 hex>.npz`` in version folders with the marker.

    Example:
        >>> cache_info("/nonexistent")["files"]
        0
    """
    root = Path(root).expanduser()
    versions: dict[str, dict[str, int]] = {}
    top = _open_top(root)
    if top is not None:
        with top:
            for name in top.names():
                folder = _our_folder(top, name)
                if folder is None:
                    continue
                with folder:
                    sizes = [info.st_size for _, info in _own_files(folder, _DATA_NAME)]
                versions[name[1:]] = {"files": len(sizes), "bytes": sum(sizes)}
    return {
        "path": str(root),
        "version": version,
        "files": sum(v["files"] for v in versions.values()),
        "bytes": sum(v["bytes"] for v in versions.values()),
        "versions": versions,
    }


def clear_cache(root: str | os.PathLike[str]) -> int:
    """Delete the cache's own files under ``root``; returns how many series files went.

    Only ``<64 hex>.npz`` files and ``.tmp-*.npz`` leftovers in version folders with the
    marker are deleted; a version folder goes too when nothing else is left in it. Anything
    else (other folders, links, a file of someone else's in a version folder) stays.
    """
    removed = 0
    top = _open_top(Path(root).expanduser())
    if top is None:
        return 0
    with top:
        for name in top.names():
            folder = _our_folder(top, name)
            if folder is None:
                continue
            with folder:
                for file, _ in _own_files(folder, _TEMP_NAME):
                    folder.unlink(file)
                for file, _ in _own_files(folder, _DATA_NAME):
                    folder.unlink(file)
                    removed += 1
                leftover = folder.names() != [MARKER]
            if not leftover:
                _remove_folder(top, name)
    return removed


# -- the folders: made 0700, marked, held open; no link followed, nothing but files opened --

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO for reading must not wait
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BINARY = getattr(os, "O_BINARY", 0)
# descriptor-relative calls: a folder cannot be swapped for a link between a check and a use
_AT = {os.open, os.stat, os.mkdir, os.rmdir, os.unlink, os.rename} <= os.supports_dir_fd and (
    os.scandir in os.supports_fd
)


class NotOurs(OSError):
    """A file in the cache directory that this package did not make: a link, a FIFO, ..."""


class ForeignFolder(NotOurs):
    """A folder where a version folder should be that this package did not make."""


class Folder:
    """A directory held open; its files are reached through it, and never through a link.

    Where the platform has no descriptor-relative calls, each call checks with ``lstat``.
    """

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    def open_root(cls, path: Path) -> Folder:
        """The cache directory itself (a link there is the user's choice, so it is followed)."""
        if not _AT:
            if not path.is_dir():
                raise (NotADirectoryError if path.exists() else FileNotFoundError)(str(path))
            return cls(path, None)
        return cls(path, os.open(path, os.O_RDONLY | _DIRECTORY))

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def lstat(self, name: str) -> os.stat_result:
        if _AT:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        return os.lstat(self.path / name)

    def stat(self) -> os.stat_result:
        return os.fstat(self.fd) if self.fd is not None else os.lstat(self.path)

    def names(self) -> list[str]:
        with os.scandir(self.fd if self.fd is not None else self.path) as entries:
            return sorted(entry.name for entry in entries)

    def child(self, name: str) -> Folder:
        """A subfolder, refused (``ForeignFolder``) if it is a link or not a folder."""
        if not stat.S_ISDIR(self.lstat(name).st_mode):
            raise ForeignFolder(f"{self.path / name} is a link or not a folder")
        if not _AT:
            return Folder(self.path / name, None)
        fd = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=self.fd)
        return Folder(self.path / name, fd)

    def make(self, name: str) -> bool:
        """Make a subfolder 0700; False if something of that name is there already."""
        try:
            if _AT:
                os.mkdir(name, _FOLDER_MODE, dir_fd=self.fd)
            else:
                os.mkdir(self.path / name, _FOLDER_MODE)
        except FileExistsError:
            return False
        return True

    def chmod(self, mode: int) -> None:
        if self.fd is not None and hasattr(os, "fchmod"):
            os.fchmod(self.fd, mode)
        else:
            os.chmod(self.path, mode)

    def open(self, name: str, flags: int, mode: int = _FILE_MODE) -> int:
        """A descriptor for a file in this folder; a link is refused, never followed."""
        flags |= _NOFOLLOW | _BINARY
        if not _AT:
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISLNK(os.lstat(self.path / name).st_mode):
                    raise NotOurs(f"{name} is a link")
            return os.open(self.path / name, flags, mode)
        try:
            return os.open(name, flags, mode, dir_fd=self.fd)
        except OSError as err:
            if err.errno in (errno.ELOOP, errno.EMLINK):  # what O_NOFOLLOW says of a link
                raise NotOurs(f"{name} is a link") from None
            raise

    def open_regular(self, name: str) -> IO[bytes]:
        """A regular file, for reading; a link, FIFO, device or folder is refused at once."""
        fd = self.open(name, os.O_RDONLY | _NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise NotOurs(f"{name} is not a regular file")
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def unlink(self, name: str) -> None:
        if _AT:
            os.unlink(name, dir_fd=self.fd)
        else:
            os.unlink(self.path / name)

    def rmdir(self, name: str) -> None:
        if _AT:
            os.rmdir(name, dir_fd=self.fd)
        else:
            os.rmdir(self.path / name)

    def replace(self, source: str, target: str) -> None:
        """Rename within this folder, replacing ``target`` (a link there is replaced, not
        followed)."""
        if _AT:
            os.replace(source, target, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        else:
            os.replace(self.path / source, self.path / target)


def write_atomically(folder: Folder, name: str, write: Callable[[IO[bytes]], None]) -> None:
    """Write a file 0600 under a temporary name, then rename it into place."""
    temp = f".tmp-{secrets.token_hex(8)}.npz"
    fd = folder.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        folder.replace(temp, name)
    except BaseException:
        with contextlib.suppress(OSError):
            folder.unlink(temp)
        raise


def write_marker(folder: Folder, version: str) -> None:
    mark = {"created_by": _OWNER, "format": FORMAT, "version": version}
    fd = folder.open(MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(json.dumps(mark).encode())


def _is_marked(folder: Folder) -> bool:
    """Whether the folder holds this package's marker (a regular file, not a link)."""
    try:
        with folder.open_regular(MARKER) as f:
            mark = json.loads(f.read(4096))
    except (OSError, ValueError):
        return False
    return isinstance(mark, dict) and mark.get("created_by") == _OWNER


def version_folder(
    root: Path,
    version: str,
    *,
    create: bool,
    mark: Callable[[Folder, str], None] = write_marker,
) -> Folder | None:
    """The folder of a package version, ``<root>/v<version>``, held open; made (0700, with its
    marker, written by ``mark``) if ``create``.

    Returns None when there is none to read. Raises ``ForeignFolder`` when something of
    that name is there that this package did not make (a link, a folder without marker).
    """
    directory = root / f"v{version}"
    if create and not os.path.lexists(root):
        root.mkdir(mode=_FOLDER_MODE, parents=True, exist_ok=True)
    try:
        top = Folder.open_root(root)
    except FileNotFoundError:
        if create:
            raise
        return None
    name = directory.name
    with top:
        if create and top.make(name):
            return _mark_new_folder(top, name, version, mark)
        try:
            folder = top.child(name)
        except FileNotFoundError:
            if create:
                raise
            return None
    try:
        if not _is_marked(folder):
            raise ForeignFolder(f"{directory} has no {MARKER} marker")
        if create and stat.S_IMODE(folder.stat().st_mode) != _FOLDER_MODE:
            folder.chmod(_FOLDER_MODE)  # ours, but loosened since: 0700 again
    except BaseException:
        folder.close()
        raise
    return folder


def _mark_new_folder(
    root: Folder, name: str, version: str, mark: Callable[[Folder, str], None]
) -> Folder:
    """Set a folder just made to exactly 0700 (whatever the umask) and mark it as ours; if
    that fails, take the folder away again, so that no unmarked folder is left behind."""
    folder = root.child(name)
    try:
        folder.chmod(_FOLDER_MODE)
        mark(folder, version)
    except BaseException:
        with contextlib.suppress(OSError):
            folder.unlink(MARKER)  # perhaps half written
        folder.close()
        with contextlib.suppress(OSError):
            root.rmdir(name)
        raise
    return folder


def _open_top(root: Path) -> Folder | None:
    """The cache directory held open, or None if there is none."""
    try:
        return Folder.open_root(root)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _our_folder(top: Folder, name: str) -> Folder | None:
    """The version folder ``name`` held open if this package made it (named ``v<version>``,
    a real folder, not a link, holding the marker); else None."""
    if not _FOLDER_NAME.fullmatch(name):
        return None
    try:
        folder = top.child(name)
    except OSError:
        return None
    if _is_marked(folder):
        return folder
    folder.close()
    return None


def _own_files(folder: Folder, pattern: re.Pattern[str]) -> list[tuple[str, os.stat_result]]:
    """The regular files (not links) in ``folder`` whose names are the cache's own."""
    found = []
    for name in folder.names():
        if pattern.fullmatch(name):
            info = folder.lstat(name)
            if stat.S_ISREG(info.st_mode):
                found.append((name, info))
    return found


def _remove_folder(top: Folder, name: str) -> None:
    """Remove an emptied version folder; if something came into it meanwhile, keep it marked."""
    with top.child(name) as folder:
        folder.unlink(MARKER)
        try:
            top.rmdir(name)
        except OSError:
            write_marker(folder, name[1:])
