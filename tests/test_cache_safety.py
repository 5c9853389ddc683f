"""The cache touches only what it wrote, follows no link, opens no FIFO, and trusts no clock
ahead of this machine's (issue 11, points 3, 4 and 11)."""

import email.utils
import importlib.metadata
import json
import logging
import os
import stat
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

import costtrend_nb
from costtrend_nb import CostTrendClient, Credentials, TrendQuery
from costtrend_nb.cache import Cache, cache_info, clear_cache
from costtrend_nb.emulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    Emulator,
    EmulatorTransport,
    truth,
)
from costtrend_nb.emulator.synth import DEMO_NOW
from costtrend_nb.errors import QueryError

TYPES = ["Chat", "TTS", "Embedding"]
CLOSED = TrendQuery(
    "2026-11-01", "2026-11-15", granularity="daily", by="model_type", model_types=TYPES
)
HOUR = 3600
MARKER = ".costtrend-nb-cache"  # what marks a version folder as the cache's own
VERSION = f"v{costtrend_nb.__version__}"

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
needs_fifos = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")


def client(cache_dir, transport=None):
    """A client with real (demo-pair) credentials: not demo mode, so the cache is on."""
    return CostTrendClient(
        Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET),
        transport=transport or EmulatorTransport(Emulator(), sleep=lambda s: None),
        cache_dir=cache_dir,
        sleep=lambda s: None,
    )


def fetch(cache_dir, query=CLOSED, transport=None):
    with client(cache_dir, transport) as c:
        df = c.fetch_query(query)
    return df, c.request_count


def npz_files(root):
    return sorted(p for p in root.rglob("*.npz") if not p.name.startswith(".tmp-"))


def tree(root):
    """Every path under ``root`` (links not followed) with its bytes, for before/after checks."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            regular = stat.S_ISREG(info.st_mode)
            found[os.path.relpath(path, root)] = (
                Path(path).read_bytes() if regular else stat.S_IFMT(info.st_mode)
            )
    return found


def plant_foreign_things(root):
    """Folders and files a user keeps next to the cache, some named like the cache's own."""
    (root / "venv" / "bin").mkdir(parents=True)
    (root / "venv" / "bin" / "python").write_text("#!/bin/sh\n")
    (root / "vacation_photos").mkdir()
    (root / "vacation_photos" / "beach.jpg").write_bytes(b"\xff\xd8 a photo")
    (root / "v9.9.9").mkdir()  # a version folder without the marker
    (root / "v9.9.9" / ("a" * 64 + ".npz")).write_bytes(b"someone's file")
    (root / "notes.txt").write_text("mine")
    return tree(root)


# -- point 3: only what it wrote ---------------------------------------------------------------


def test_clear_deletes_only_its_own_files_and_folders(tmp_path):
    foreign = plant_foreign_things(tmp_path)
    fetch(tmp_path)
    assert cache_info(tmp_path)["files"] == 3
    assert clear_cache(tmp_path) == 3
    assert tree(tmp_path) == foreign  # the version folder went, everything else stayed
    assert not (tmp_path / VERSION).exists()


def test_cache_clear_through_the_store_leaves_foreign_folders(tmp_path):
    foreign = plant_foreign_things(tmp_path)
    with client(tmp_path) as c:
        c.fetch_query(CLOSED)
        assert c.cache.clear() == 3
    assert tree(tmp_path) == foreign


def test_a_foreign_file_in_a_version_folder_survives_and_keeps_the_folder(tmp_path):
    fetch(tmp_path)
    folder = tmp_path / VERSION
    (folder / "notes.txt").write_text("keep me")
    (folder / "drafts").mkdir()
    (folder / "report.npz").write_bytes(b"not named like a cache file")
    assert clear_cache(tmp_path) == 3
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [MARKER, "drafts", "notes.txt", "report.npz"]
    )
    assert (folder / "notes.txt").read_text() == "keep me"
    _, sent = fetch(tmp_path)  # the folder is still the cache's: written and read again
    _, resent = fetch(tmp_path)
    assert sent > 0 and resent == 0


def test_clear_removes_its_own_leftover_temporary_files(tmp_path):
    fetch(tmp_path)
    (tmp_path / VERSION / ".tmp-abcd1234.npz").write_bytes(b"half a file")
    assert clear_cache(tmp_path) == 3
    assert not (tmp_path / VERSION).exists()


def test_info_counts_only_its_own_files_in_marked_folders(tmp_path):
    plant_foreign_things(tmp_path)
    fetch(tmp_path)
    ours = npz_files(tmp_path / VERSION)
    (tmp_path / VERSION / "other.npz").write_bytes(b"x" * 1000)
    info = cache_info(tmp_path)
    assert info["files"] == 3 and info["bytes"] == sum(p.stat().st_size for p in ours)
    assert list(info["versions"]) == [costtrend_nb.__version__]


def test_a_version_folder_without_the_marker_is_left_alone(tmp_path, caplog):
    folder = tmp_path / VERSION
    folder.mkdir()
    (folder / "notes.txt").write_text("not a cache")
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        df, sent = fetch(tmp_path)
        _, resent = fetch(tmp_path)
    pd.testing.assert_frame_equal(df, truth(CLOSED), check_exact=True)
    assert sent > 0 and resent > 0  # the cache is off rather than inside someone's folder
    assert MARKER in caplog.text and "choose another cache_dir" in caplog.text
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert clear_cache(tmp_path) == 0 and (folder / "notes.txt").exists()
    assert cache_info(tmp_path)["files"] == 0


def test_the_version_folder_carries_the_marker(tmp_path):
    fetch(tmp_path)
    assert costtrend_nb.cache.MARKER == MARKER
    mark = json.loads((tmp_path / VERSION / MARKER).read_text())
    assert mark["created_by"] == "costtrend_nb" and mark["version"] == costtrend_nb.__version__


# -- point 3: no link followed, no FIFO opened ---------------------------------------------------


@needs_symlinks
def test_a_symlinked_version_folder_is_not_read(tmp_path, caplog):
    elsewhere, root = tmp_path / "elsewhere", tmp_path / "cache"
    fetch(elsewhere)  # a real, valid cache of the same series, outside the cache directory
    root.mkdir()
    (root / VERSION).symlink_to(elsewhere / VERSION, target_is_directory=True)
    before = tree(elsewhere)
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        df, sent = fetch(root)
    assert sent > 0  # nothing was served through the link
    pd.testing.assert_frame_equal(df, truth(CLOSED), check_exact=True)
    assert "link" in caplog.text
    assert tree(elsewhere) == before  # ... and nothing written through it
    assert cache_info(root)["files"] == 0
    assert clear_cache(root) == 0
    assert tree(elsewhere) == before and (root / VERSION).is_symlink()


@needs_symlinks
def test_nothing_is_written_through_a_symlinked_version_folder(tmp_path):
    target, root = tmp_path / "target", tmp_path / "cache"
    target.mkdir()
    (target / MARKER).write_text(json.dumps({"created_by": "costtrend_nb"}))  # even marked
    root.mkdir()
    (root / VERSION).symlink_to(target, target_is_directory=True)
    df, _ = fetch(root)
    pd.testing.assert_frame_equal(df, truth(CLOSED), check_exact=True)
    assert sorted(p.name for p in target.iterdir()) == [MARKER]


@needs_symlinks
def test_a_symlinked_cache_file_is_not_followed(tmp_path, caplog):
    fetch(tmp_path)
    victim = npz_files(tmp_path)[0]
    outside = tmp_path / "outside.npz"
    outside.write_bytes(victim.read_bytes())  # a valid file of this very series
    victim.unlink()
    victim.symlink_to(outside)
    kept = outside.read_bytes()
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        df, sent = fetch(tmp_path)
    assert sent > 0 and "is a link" in caplog.text  # not read through the link
    pd.testing.assert_frame_equal(df, truth(CLOSED), check_exact=True)
    assert outside.read_bytes() == kept  # the write replaced the link, not its target
    assert victim.is_file() and not victim.is_symlink()


@needs_symlinks
def test_clear_and_info_leave_a_symlinked_cache_file_and_its_target(tmp_path):
    fetch(tmp_path)
    victim = npz_files(tmp_path)[0]
    outside = tmp_path / "outside.npz"
    outside.write_bytes(b"x" * 10_000)
    victim.unlink()
    victim.symlink_to(outside)
    assert cache_info(tmp_path)["files"] == 2
    assert clear_cache(tmp_path) == 2
    assert outside.read_bytes() == b"x" * 10_000


@needs_fifos
def test_a_fifo_named_like_a_cache_file_does_not_hang_a_fetch(tmp_path, caplog):
    fetch(tmp_path)
    victim = npz_files(tmp_path)[0]
    victim.unlink()
    os.mkfifo(victim)
    outcome = {}

    def run():
        outcome["result"] = fetch(tmp_path)

    worker = threading.Thread(target=run, daemon=True)
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        worker.start()
        worker.join(10)
        hung = worker.is_alive()
        if hung:  # release the reader the old code left waiting, then fail
            os.close(os.open(victim, os.O_WRONLY | os.O_NONBLOCK))
            worker.join(10)
    assert not hung, "opening a FIFO named like a cache file blocked the fetch"
    df, sent = outcome["result"]
    assert sent > 0 and "not a regular file" in caplog.text
    pd.testing.assert_frame_equal(df, truth(CLOSED), check_exact=True)
    _, resent = fetch(tmp_path)  # the FIFO was replaced by the series' file
    assert resent == 0 and stat.S_ISREG(os.lstat(victim).st_mode)


@needs_fifos
def test_clear_and_info_leave_a_fifo_alone(tmp_path):
    fetch(tmp_path)
    victim = npz_files(tmp_path)[0]
    victim.unlink()
    os.mkfifo(victim)
    assert cache_info(tmp_path)["files"] == 2
    assert clear_cache(tmp_path) == 2
    assert stat.S_ISFIFO(os.lstat(victim).st_mode)


@needs_fifos
def test_a_fifo_in_place_of_the_marker_does_not_hang(tmp_path, caplog):
    fetch(tmp_path)
    marker = tmp_path / VERSION / MARKER
    marker.unlink()
    os.mkfifo(marker)
    worker = threading.Thread(target=lambda: fetch(tmp_path), daemon=True)
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        worker.start()
        worker.join(10)
    assert not worker.is_alive(), "opening a FIFO in place of the marker blocked the fetch"
    assert MARKER in caplog.text  # not the cache's folder any more: left alone
    assert clear_cache(tmp_path) == 0 and len(npz_files(tmp_path)) == 3


def test_a_version_folder_that_cannot_be_marked_is_not_left_behind(tmp_path, monkeypatch, caplog):
    def full_disk(folder, version):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(costtrend_nb.cache, "_write_marker", full_disk)
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        df, _ = fetch(tmp_path)
    pd.testing.assert_frame_equal(df, truth(CLOSED), check_exact=True)
    assert "No space left" in caplog.text and not (tmp_path / VERSION).exists()
    monkeypatch.undo()
    _, sent = fetch(tmp_path)
    _, resent = fetch(tmp_path)
    assert sent > 0 and resent == 0  # the next write made and marked the folder


# -- point 3: folders 0700, files 0600 ---------------------------------------------------------


@pytest.fixture
def open_umask():
    """A umask that takes nothing away, so the modes seen are the ones the cache asked for."""
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_folders_are_0700_and_files_0600(tmp_path, open_umask):
    root = tmp_path / "new" / "cache"
    fetch(root)
    assert mode(root) == 0o700 and mode(root / VERSION) == 0o700
    files = [*npz_files(root), root / VERSION / MARKER]
    assert len(files) == 4 and {mode(p) for p in files} == {0o600}


def test_a_version_folder_with_a_loose_mode_is_made_0700_again(tmp_path):
    fetch(tmp_path)
    (tmp_path / VERSION).chmod(0o755)
    wider = TrendQuery(
        "2026-10-25", "2026-11-15", granularity="daily", by="model_type", model_types=TYPES
    )
    fetch(tmp_path, wider)  # writes into the folder again
    assert mode(tmp_path / VERSION) == 0o700
    assert {mode(p) for p in npz_files(tmp_path)} == {0o600}


def test_an_existing_cache_directory_keeps_its_mode(tmp_path):
    tmp_path.chmod(0o755)  # the user's folder, not the cache's to change
    fetch(tmp_path)
    assert mode(tmp_path) == 0o755


# -- errors never cost the frame ---------------------------------------------------------------


def test_a_cache_directory_that_is_a_file_costs_a_warning_not_the_frame(tmp_path, caplog):
    root = tmp_path / "cache"
    root.write_text("a file where the cache should be")
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        df, _ = fetch(root)
    pd.testing.assert_frame_equal(df, truth(CLOSED), check_exact=True)
    assert "could not write the cache file" in caplog.text
    assert root.read_text() == "a file where the cache should be"


def test_a_version_folder_that_is_a_file_costs_a_warning_not_the_frame(tmp_path, caplog):
    (tmp_path / VERSION).write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        df, _ = fetch(tmp_path)
    pd.testing.assert_frame_equal(df, truth(CLOSED), check_exact=True)
    assert "not a folder" in caplog.text
    assert (tmp_path / VERSION).read_text() == "not a folder"
    assert clear_cache(tmp_path) == 0 and (tmp_path / VERSION).is_file()


def test_a_version_with_path_characters_is_refused(tmp_path):
    with pytest.raises(QueryError, match="version"):
        Cache(tmp_path, endpoint="x", account="y", version="../elsewhere")


# -- point 4: a service clock ahead cannot poison the cache -----------------------------------


class DateRewriter(httpx.BaseTransport):
    """Answers from an emulator, with the ``Date`` header moved by ``date(emulator_date)``."""

    def __init__(self, emulator, date):
        self.inner = EmulatorTransport(emulator, sleep=lambda s: None)
        self.date = date

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        served = email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()
        response.headers["date"] = email.utils.formatdate(self.date(served), usegmt=True)
        return response


def honest(now):
    return EmulatorTransport(Emulator(now=now), sleep=lambda s: None)


def hours_around(now):
    """An hourly query over the day and a half before ``now`` and a few hours after it."""
    top = now // HOUR * HOUR
    return TrendQuery(
        pd.Timestamp(top - 30 * HOUR, unit="s", tz="UTC"),
        pd.Timestamp(top + 3 * HOUR, unit="s", tz="UTC"),
        by="model_type",
        model_types=["Chat", "TTS"],
    )


def stored_spans(root):
    spans = []
    for path in npz_files(root):
        with np.load(path) as data:
            meta = json.loads(str(data["meta"][()]))
        spans.append((meta["start"], meta["end"], meta["as_of"]))
    return spans


def test_a_service_clock_3h_ahead_cannot_poison_the_cache(tmp_path):
    now = int(time.time())
    earlier = now - HOUR  # the data as the service had it an hour ago
    query = hours_around(now)
    ahead = DateRewriter(Emulator(now=earlier), lambda served: served + 3 * HOUR)
    fetch(tmp_path, query, ahead)
    spans = stored_spans(tmp_path)
    assert spans and all(end <= time.time() - 2 * HOUR for _, end, _ in spans)
    later = int(time.time())
    df, _ = fetch(tmp_path, query, honest(later))
    pd.testing.assert_frame_equal(df, truth(query, now=later), check_exact=True)


def test_a_service_clock_in_2199_stores_no_future_buckets(tmp_path):
    now = int(time.time())
    query = hours_around(now)
    year_2199 = pd.Timestamp("2199-06-01", tz="UTC").timestamp()
    fetch(tmp_path, query, DateRewriter(Emulator(now=now - HOUR), lambda served: year_2199))
    spans = stored_spans(tmp_path)
    assert spans and all(end <= as_of <= time.time() for _, end, as_of in spans)
    assert all(end <= time.time() - 2 * HOUR for _, end, _ in spans)
    later = int(time.time())
    df, _ = fetch(tmp_path, query, honest(later))
    pd.testing.assert_frame_equal(df, truth(query, now=later), check_exact=True)


def test_the_store_settles_by_its_own_clock(tmp_path):
    """The same, on the demo's frozen clock: the store's injected clock is what protects it."""
    query = hours_around(DEMO_NOW)
    with client(tmp_path, DateRewriter(Emulator(now=DEMO_NOW - HOUR), lambda s: s + 3 * HOUR)) as c:
        c.cache.clock = lambda: DEMO_NOW
        c.fetch_query(query)
    spans = stored_spans(tmp_path)
    assert spans and all(end <= DEMO_NOW - 2 * HOUR for _, end, _ in spans)
    with client(tmp_path, honest(DEMO_NOW)) as c:
        c.cache.clock = lambda: DEMO_NOW
        df = c.fetch_query(query)
    assert df.attrs["cached_buckets"] > 0
    pd.testing.assert_frame_equal(df, truth(query, now=DEMO_NOW), check_exact=True)


def test_a_file_read_after_the_local_clock_is_ignored(tmp_path, caplog):
    fetch(tmp_path)
    victim = npz_files(tmp_path)[0]
    with np.load(victim) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"][()]))
    meta["as_of"] = time.time() + 86400  # written by a clock a day ahead
    arrays["meta"] = np.array(json.dumps(meta))
    with open(victim, "wb") as f:
        np.savez(f, **arrays)
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        df, sent = fetch(tmp_path)
    assert sent > 0 and "ignored" in caplog.text
    pd.testing.assert_frame_equal(df, truth(CLOSED), check_exact=True)


# -- point 11: one version, in a module of its own ---------------------------------------------


def test_one_version_everywhere():
    from costtrend_nb import _version

    assert costtrend_nb.__version__ == _version.__version__
    assert Cache("x", endpoint="e", account="a").version == _version.__version__
    assert importlib.metadata.version("costtrend_nb") == _version.__version__
