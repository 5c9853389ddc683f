"""The on-disk cache: settled buckets only, zero requests for closed periods, never trusted blindly."""

import json
import logging
import os

import numpy as np
import pandas as pd
import pytest

from costtrend_nb import CostTrendClient, Credentials, TrendQuery
from costtrend_nb import cache as cache_module
from costtrend_nb.cache import Cache, cache_info, clear_cache, default_cache_dir
from costtrend_nb.cli import main as cli
from costtrend_nb.emulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    Emulator,
    EmulatorTransport,
    Faults,
    truth,
)
from costtrend_nb.errors import QueryError
from costtrend_nb.protocol import TREND_PATH

TYPES = ["Chat", "TTS", "Embedding"]


def client(cache_dir, emulator=None, transport=None, **kw):
    """A client with real (demo-pair) credentials: not demo mode, so the cache is on."""
    return CostTrendClient(
        Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET),
        transport=transport or EmulatorTransport(emulator or Emulator(), sleep=lambda s: None),
        cache_dir=cache_dir,
        sleep=lambda s: None,
        **kw,
    )


def fetch(cache_dir, query, **kw):
    with client(cache_dir, **kw) as c:
        df = c.fetch_query(query)
    return df, c.request_count


class TrendCounter(EmulatorTransport):
    """The emulator, counting trend requests apart (a department list may be asked for too)."""

    def __init__(self):
        super().__init__(Emulator(), sleep=lambda s: None)
        self.trend_requests = 0

    def handle_request(self, request):
        self.trend_requests += request.url.path == TREND_PATH
        return super().handle_request(request)


def npz_files(root):
    return sorted(p for p in root.rglob("*.npz") if not p.name.startswith(".tmp-"))


CLOSED = TrendQuery(
    "2026-11-01", "2026-11-15", granularity="daily", by="model_type", model_types=TYPES
)
RUNNING = TrendQuery(
    "2026-11-10", "2026-11-21", granularity="daily", by="model_type", model_types=TYPES
)
HOURLY = TrendQuery(
    "2026-11-18",
    "2026-11-20 18:00",
    by=["model_type", "client_id"],
    model_types=TYPES,
    client_ids=[10001, 10002],
    max_results=20,
)


def test_a_closed_period_is_fetched_once(tmp_path):
    first, sent = fetch(tmp_path, CLOSED)
    assert sent > 0 and len(npz_files(tmp_path)) == 3
    again, resent = fetch(tmp_path, CLOSED)
    assert resent == 0
    pd.testing.assert_frame_equal(again, first, check_exact=True)
    pd.testing.assert_frame_equal(again, truth(CLOSED), check_exact=True)
    assert again.attrs["request_count"] == 0 and again.attrs["cached_buckets"] == 3 * 14


def test_only_unsettled_buckets_are_fetched_again(tmp_path):
    first, sent = fetch(tmp_path, RUNNING)
    again, resent = fetch(tmp_path, RUNNING)
    # the emulator's clock is 2026-11-20 14:30: Nov 10-19 are settled, Nov 20 is running
    assert sent == len(TYPES) and resent == len(
        TYPES
    )  # one short page per series, for the running day
    pd.testing.assert_frame_equal(again, first, check_exact=True)
    assert not again.loc[again["timestamp"] >= "2026-11-20", "complete"].any()
    assert again.attrs["cached_buckets"] == len(TYPES) * 10


def test_hourly_split_by_department_and_type(tmp_path):
    first, sent = fetch(tmp_path, HOURLY)
    counter = TrendCounter()
    with client(tmp_path, transport=counter) as c:
        again = c.fetch_query(HOURLY)
    resent = counter.trend_requests
    pd.testing.assert_frame_equal(first, truth(HOURLY), check_exact=True)
    pd.testing.assert_frame_equal(again, first, check_exact=True)
    series = len(TYPES) * 2
    assert sent >= 2 * series  # two windows of pages of 20 hours per series
    # hours up to 12:00 are settled (2 h before 14:30): only 12:00..14:00 are fetched again
    assert resent == series
    assert again.attrs["cached_buckets"] == series * (48 + 12)


def test_a_wider_query_fetches_only_what_is_missing(tmp_path):
    fetch(tmp_path, CLOSED)
    wider = TrendQuery(
        "2026-10-20", "2026-11-18", granularity="daily", by="model_type", model_types=TYPES
    )
    df, sent = fetch(tmp_path, wider)
    pd.testing.assert_frame_equal(df, truth(wider), check_exact=True)
    assert df.attrs["cached_buckets"] == 3 * 14
    assert sent == 2 * len(TYPES)  # the days before, and the days after, per series
    again, resent = fetch(tmp_path, wider)
    assert resent == 0  # the three spans were merged into one per series
    pd.testing.assert_frame_equal(again, df, check_exact=True)


def test_a_narrower_query_is_served_from_a_wider_file(tmp_path):
    fetch(tmp_path, CLOSED)
    inner = TrendQuery(
        "2026-11-03", "2026-11-05", granularity="daily", by="model_type", model_types=TYPES
    )
    df, sent = fetch(tmp_path, inner)
    assert sent == 0
    pd.testing.assert_frame_equal(df, truth(inner), check_exact=True)


def test_a_longer_settle_trusts_fewer_stored_buckets(tmp_path):
    fetch(tmp_path, RUNNING)  # stored: up to Nov 20 00:00, read at 14:30
    cautious = TrendQuery(
        "2026-11-10",
        "2026-11-21",
        granularity="daily",
        by="model_type",
        model_types=TYPES,
        settle="3D",
    )
    df, sent = fetch(tmp_path, cautious)
    # trusted only up to 3 days before the stored read (Nov 17 00:00): Nov 17-20 again
    assert df.attrs["cached_buckets"] == len(TYPES) * 7 and sent == len(TYPES)
    pd.testing.assert_frame_equal(df, truth(cautious), check_exact=True)


def test_rebucketed_days_in_another_zone(tmp_path):
    query = TrendQuery(
        "2026-11-10",
        "2026-11-19",
        granularity="daily",
        tz="Europe/London",
        by="model_type",
        model_types=["Chat"],
    )
    first, _ = fetch(tmp_path, query)
    again, resent = fetch(tmp_path, query)
    assert resent == 0
    pd.testing.assert_frame_equal(again, first, check_exact=True)


def test_the_cache_is_keyed_by_account_endpoint_and_version(tmp_path):
    fetch(tmp_path, CLOSED)
    with client(tmp_path, endpoint="https://other.example.com") as c:
        c.fetch_query(CLOSED)
    assert c.request_count > 0
    store = Cache(tmp_path, endpoint="https://aicontent.aliyuncs.com", account="x" * 16)
    window = CLOSED.plan()[0]
    assert store._load(store.key(window)) is None
    newer = Cache(
        tmp_path,
        endpoint="https://aicontent.aliyuncs.com",
        account=Credentials(DEMO_ACCESS_KEY_ID, "s").account_hash,
        version="999",
    )
    assert newer._load(newer.key(window)) is None
    current = Cache(
        tmp_path,
        endpoint="https://aicontent.aliyuncs.com",
        account=Credentials(DEMO_ACCESS_KEY_ID, "s").account_hash,
    )
    assert current._load(current.key(window)) is not None


def corrupt_with(path, kind):
    if kind == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif kind == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays["meta"][()]))
        if kind == "nan":
            arrays["values"] = arrays["values"].copy()
            arrays["values"][0, 0] = np.nan
        elif kind == "off grid":
            arrays["timestamps"] = arrays["timestamps"] + 60
        elif kind == "unsettled":
            meta["as_of"] = meta["start"]
        elif kind == "lengths":
            arrays["timestamps"] = arrays["timestamps"][:-1]
        elif kind == "pickled":
            arrays["values"] = np.array([object()], dtype=object)
        arrays["meta"] = np.array(json.dumps(meta))
        if kind == "no meta":
            del arrays["meta"]
        with open(path, "wb") as f:
            np.savez(f, **arrays)


@pytest.mark.parametrize(
    "kind",
    [
        "garbage",
        "truncated",
        "empty",
        "nan",
        "off grid",
        "unsettled",
        "lengths",
        "pickled",
        "no meta",
    ],
)
def test_a_corrupt_file_is_ignored_and_rewritten(tmp_path, kind, caplog):
    fetch(tmp_path, CLOSED)
    victim = npz_files(tmp_path)[0]
    corrupt_with(victim, kind)
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        df, sent = fetch(tmp_path, CLOSED)
    assert sent > 0  # the series was fetched again
    assert "ignored" in caplog.text
    pd.testing.assert_frame_equal(df, truth(CLOSED), check_exact=True)
    again, resent = fetch(tmp_path, CLOSED)
    assert resent == 0  # ... and its file rewritten
    pd.testing.assert_frame_equal(again, truth(CLOSED), check_exact=True)


def test_a_foreign_file_is_never_trusted(tmp_path):
    fetch(tmp_path, CLOSED)
    a, b = npz_files(tmp_path)[:2]
    b.write_bytes(a.read_bytes())  # another series' data under this series' name
    df, sent = fetch(tmp_path, CLOSED)
    assert sent > 0
    pd.testing.assert_frame_equal(df, truth(CLOSED), check_exact=True)


def test_writes_are_atomic(tmp_path, monkeypatch):
    fetch(tmp_path, CLOSED)
    before = {p: p.read_bytes() for p in npz_files(tmp_path)}

    def broken(f, **arrays):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.np, "savez", broken)
    wider = TrendQuery(
        "2026-10-25", "2026-11-15", granularity="daily", by="model_type", model_types=TYPES
    )
    df, _ = fetch(tmp_path, wider)  # a failed write costs nothing but the cache
    pd.testing.assert_frame_equal(df, truth(wider), check_exact=True)
    assert {p: p.read_bytes() for p in npz_files(tmp_path)} == before
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")]


def test_the_demo_never_uses_the_cache(tmp_path):
    with CostTrendClient.demo(cache_dir=tmp_path) as c:
        c.fetch_query(CLOSED)
        c.fetch_query(CLOSED)
    assert not list(tmp_path.rglob("*"))
    assert c.cache is None


def test_failed_series_are_not_stored(tmp_path):
    query = TrendQuery(
        "2026-11-01", "2026-11-15", granularity="daily", by="model_type", model_types=TYPES
    )
    emulator = Emulator(faults=Faults(error_rate=1.0))
    with client(tmp_path, emulator, max_retries=0) as c, pytest.warns(UserWarning, match="3 of 3"):
        df = c.fetch_query(query, on_error="partial")
    assert len(df.attrs["missing_series"]) == len(TYPES)
    assert npz_files(tmp_path) == []


def test_no_secret_and_no_key_id_in_cache_files(tmp_path):
    fetch(tmp_path, HOURLY)
    for path in npz_files(tmp_path):
        raw = path.read_bytes()
        assert DEMO_ACCESS_KEY_SECRET.encode() not in raw
        assert DEMO_ACCESS_KEY_ID.encode() not in raw


def test_a_bad_cache_dir_is_a_query_error(tmp_path):
    with pytest.raises(QueryError, match="cache_dir"):
        client(42)


def test_default_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COSTTREND_NB_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here" / "costtrend_nb"
    monkeypatch.delenv("COSTTREND_NB_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "costtrend_nb"


def test_info_and_clear(tmp_path):
    fetch(tmp_path, CLOSED)
    info = cache_info(tmp_path)
    assert info["files"] == 3 and info["bytes"] > 0
    assert clear_cache(tmp_path) == 3
    assert cache_info(tmp_path)["files"] == 0
    _, sent = fetch(tmp_path, CLOSED)
    assert sent > 0


def test_cli_cache_info_and_clear(tmp_path, capsys):
    fetch(tmp_path, CLOSED)
    assert cli(["cache", "info", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path) in out and "3 files" in out
    assert cli(["cache", "clear", "--cache-dir", str(tmp_path)]) == 0
    assert "removed 3" in capsys.readouterr().out
    assert npz_files(tmp_path) == []


def test_cli_cache_uses_the_default_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COSTTREND_NB_CACHE_DIR", str(tmp_path))
    assert cli(["cache", "info"]) == 0
    assert os.fspath(tmp_path) in capsys.readouterr().out


def test_the_async_client_uses_the_cache_too(tmp_path):
    import asyncio

    from costtrend_nb import AsyncCostTrendClient

    async def run():
        async with AsyncCostTrendClient(
            Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET),
            transport=EmulatorTransport(Emulator()),
            cache_dir=tmp_path,
        ) as c:
            first = await c.fetch_query(CLOSED)
            sent = c.request_count
            again = await c.fetch_query(CLOSED)
        return first, again, sent, c.request_count - sent

    first, again, sent, resent = asyncio.run(run())
    assert sent > 0 and resent == 0
    pd.testing.assert_frame_equal(again, first, check_exact=True)
