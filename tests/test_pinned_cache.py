"""The cache's rules that mutation testing found unpinned (issue 16): ``settle`` applied when
storing (not only when serving), the freshest copy winning where spans merge, and a file never
shrunk by a later fetch with a longer ``settle``; then what ``Cache.split`` and
``Cache.update`` promise their caller, and the checks a hand-made file must pass (each with the
reason the warning gives), which mutation testing also found unpinned.

A scripted service answers every hour of the range asked with one ``total_amount`` per fetch
(1, 2, 3, ...), so each bucket's value says which fetch it came from.
"""

from __future__ import annotations

import email.utils
import json
import logging

import httpx
import numpy as np
import pandas as pd
import pytest

from costtrend_nb import CostTrendClient, Credentials, TrendQuery, __version__
from costtrend_nb import cache as cache_module
from costtrend_nb.cache import Cache
from costtrend_nb.catalogue import metric_info
from costtrend_nb.errors import QueryError
from costtrend_nb.query import WindowRequest
from costtrend_nb.tidy import ParsedChain

HOUR = 3600
T0 = int(pd.Timestamp("2026-11-10", tz="Asia/Shanghai").timestamp())
NOW = T0 + 10 * HOUR  # the service's clock: ten hours of data, all in the past here


class Service:
    """Answers each trend request with ``value`` for every hour asked, before ``NOW``."""

    def __init__(self, value: float) -> None:
        self.value = value
        self.asked: list[tuple[int, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        start, end = int(request.url.params["startTime"]), int(request.url.params["endTime"])
        self.asked.append(((start - T0) // HOUR, (end - T0) // HOUR))
        values = json.dumps({"total_amount": self.value, "characters": 1.0})
        points = [{"timestamp": t, "values": values} for t in range(start, min(end, NOW), HOUR)]
        body = {"success": True, "requestId": "r", "data": {"points": points, "metrics": []}}
        return httpx.Response(
            200, json=body, headers={"date": email.utils.formatdate(NOW, usegmt=True)}
        )


def _fetch(
    cache_dir, value: float, settle: str, types: str | list[str] = "TTS"
) -> tuple[list[float], list[tuple[int, int]]]:
    """Hours 0-10 after T0 with ``settle``: each hour's cost, and the hour spans requested."""
    service = Service(value)
    client = CostTrendClient(
        Credentials("AKIDfaketest0001", "fake-secret"),
        transport=httpx.MockTransport(service),
        cache_dir=cache_dir,
        sleep=lambda s: None,
    )
    with client:
        df = client.fetch(T0, NOW, model_types=types, by="model_type", settle=settle)
    cost = df[df["metric"] == "total_amount"].sort_values("timestamp")
    return cost["value"].tolist(), service.asked


def test_buckets_not_settled_when_stored_are_never_served_even_to_a_shorter_settle(tmp_path):
    values, asked = _fetch(tmp_path, 1.0, "2h")
    assert asked == [(0, 10)] and values == [1.0] * 10
    values, asked = _fetch(tmp_path, 2.0, "1h")  # hours 8 and 9 were not settled when stored
    assert asked == [(8, 10)]
    assert values == [1.0] * 8 + [2.0] * 2


def test_the_freshest_copy_wins_and_a_longer_settle_never_shrinks_the_file(tmp_path):
    _fetch(tmp_path, 1.0, "2h")  # stored: hours 0-8 (settled 2 h before the service's clock)
    values, asked = _fetch(tmp_path, 2.0, "6h")  # trusts hours 0-4 only: fetches 4-10 afresh
    assert asked == [(4, 10)] and values == [1.0] * 4 + [2.0] * 6
    values, asked = _fetch(tmp_path, 3.0, "2h")
    # hours 4-8 were stored again from the second fetch (fresher), not kept from the first;
    # and the file still reaches hour 8 although the second fetch trusted only up to hour 4
    assert asked == [(8, 10)]
    assert values == [1.0] * 4 + [2.0] * 4 + [3.0] * 2


def _files(cache_dir) -> dict[str, int]:
    return {p.name: p.stat().st_ino for p in cache_dir.rglob("*.npz")}


def test_a_fetch_that_brings_nothing_new_leaves_the_file_alone(tmp_path):
    _fetch(tmp_path, 1.0, "2h")
    before = _files(tmp_path)
    _fetch(tmp_path, 1.0, "2h")  # hours 8-10 again, still not settled: nothing to store
    assert _files(tmp_path) == before and len(before) == 1  # not even rewritten in place


def test_a_series_with_nothing_new_does_not_stop_the_others_being_stored(tmp_path):
    _fetch(tmp_path, 1.0, "2h", "TTS")
    _fetch(tmp_path, 1.0, "2h", ["TTS", "ASR"])  # TTS: nothing new; ASR: hours 0-8 to store
    assert len(_files(tmp_path)) == 2
    values, asked = _fetch(tmp_path, 1.0, "2h", "ASR")
    assert asked == [(8, 10)] and values == [1.0] * 10


# -- the store itself: what split and update promise their caller ---------------------------
#
# These call the store directly (no client, no HTTP), so that each rule is pinned where it is
# made. QUERY has two series, TTS first; a chain holds one value for each of its hours.

ENDPOINT, ACCOUNT = "https://aicontent.aliyuncs.com", "0123456789abcdef"
QUERY = TrendQuery(T0, NOW, by="model_type", model_types=["TTS", "ASR"], settle="2h")
TTS, ASR = QUERY.plan()


def _store(root, clock: float = NOW + HOUR, version: str = __version__) -> Cache:
    return Cache(root, endpoint=ENDPOINT, account=ACCOUNT, version=version, clock=lambda: clock)


def _window(window: WindowRequest, start_hour: int, end_hour: int) -> WindowRequest:
    """``window``'s series over other hours (a window of another plan)."""
    query = TrendQuery(
        T0 + start_hour * HOUR,
        T0 + end_hour * HOUR,
        by="model_type",
        model_types=[window.series.model_type],
    )
    return query.plan()[0]


def _chain(window: WindowRequest, value: float = 1.0, **more: float) -> ParsedChain:
    stamps = np.arange(window.start, window.end, HOUR, dtype=np.int64)
    columns = {k: np.full(len(stamps), v) for k, v in {"total_amount": value, **more}.items()}
    return ParsedChain(request=window, timestamps=stamps, columns=columns, declared={})


def _served(store: Cache, plan: list[WindowRequest]) -> dict[str, tuple[int, int]]:
    """The hours each series is served from the store, by model type."""
    _, stored, _ = store.split(QUERY, plan)
    return {
        c.request.series.model_type: ((c.request.start - T0) // HOUR, (c.request.end - T0) // HOUR)
        for c in stored
    }


def test_update_stores_each_series_and_split_serves_them_with_counts(tmp_path):
    store = _store(tmp_path)
    assert store.update(QUERY, [TTS, ASR], [_chain(TTS), _chain(ASR)], as_of=NOW) == 2
    remaining, stored, use = store.split(QUERY, [TTS, ASR])
    assert [((w.start - T0) // HOUR, (w.end - T0) // HOUR) for w in remaining] == [(8, 10)] * 2
    assert len(stored) == 2 and use.series == 2
    assert use.buckets == 16 and type(use.buckets) is int  # a count, shown as "16 buckets"


def test_a_file_is_served_only_to_its_own_endpoint_account_and_version(tmp_path):
    _store(tmp_path).update(QUERY, [TTS], [_chain(TTS)], as_of=NOW)
    assert _served(_store(tmp_path), [TTS]) == {"TTS": (0, 8)}
    clock = _store(tmp_path).clock
    others = [
        Cache(tmp_path, endpoint="https://other.example.com", account=ACCOUNT, clock=clock),
        Cache(tmp_path, endpoint=ENDPOINT, account="f" * 16, clock=clock),
        _store(tmp_path, version="9.9"),
    ]
    assert [_served(other, [TTS]) for other in others] == [{}, {}, {}]


def test_a_narrower_query_is_served_only_its_own_buckets(tmp_path):
    store = _store(tmp_path)
    store.update(QUERY, [TTS], [_chain(TTS)], as_of=NOW)  # hours 0-8
    remaining, stored, _ = store.split(QUERY, [_window(TTS, 2, 4)])
    assert remaining == [] and _hours_of([stored[0].request])[0][:2] == (2, 4)
    assert stored[0].timestamps.tolist() == [T0 + 2 * HOUR, T0 + 3 * HOUR]


def test_the_windows_of_a_plan_may_come_in_any_order(tmp_path):
    store = _store(tmp_path)
    store.update(QUERY, [TTS], [_chain(TTS)], as_of=NOW)  # hours 0-8
    remaining, stored, _ = store.split(QUERY, [_window(TTS, 5, 10), _window(TTS, 0, 5)])
    assert _hours_of(remaining)[0][:2] == (8, 10) and len(remaining) == 1
    assert _hours_of([stored[0].request])[0][:2] == (0, 8)


def test_an_idle_series_is_stored_and_served_as_idle(tmp_path, caplog):
    store = _store(tmp_path)
    idle = ParsedChain(request=TTS, timestamps=np.empty(0, np.int64), columns={}, declared={})
    assert store.update(QUERY, [TTS], [idle], as_of=NOW) == 1
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        assert _served(store, [TTS]) == {"TTS": (0, 8)}
    assert caplog.text == ""


def test_looking_into_a_cache_that_is_not_there_makes_nothing(tmp_path):
    remaining, stored, use = _store(tmp_path / "cache").split(QUERY, [TTS, ASR])
    assert remaining == [TTS, ASR] and stored == [] and use.series == use.buckets == 0
    assert not (tmp_path / "cache").exists()


def test_a_failed_series_is_left_as_it_was_and_does_not_stop_the_others(tmp_path):
    store = _store(tmp_path)
    # TTS (the first series) failed in another window: its complete chain is not stored
    assert (
        store.update(QUERY, [TTS, ASR], [_chain(TTS), _chain(ASR)], as_of=NOW, skip=[TTS.series])
        == 1
    )
    assert _served(store, [TTS, ASR]) == {"ASR": (0, 8)}


def test_a_series_with_nothing_settled_writes_no_file_and_does_not_stop_the_others(
    tmp_path, caplog
):
    store = _store(tmp_path)
    late = _window(TTS, 8, 10)  # TTS asked only for the last two hours: none settled
    assert store.update(QUERY, [late, ASR], [_chain(late), _chain(ASR)], as_of=NOW) == 1
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        assert _served(store, [TTS, ASR]) == {"ASR": (0, 8)}
    assert caplog.text == ""  # no empty file was written, to be found wanting later


def test_update_without_what_split_found_merges_with_the_file(tmp_path):
    _store(tmp_path).update(QUERY, [TTS], [_chain(TTS, 1.0)], as_of=NOW)
    later = _store(tmp_path, clock=NOW + 3 * HOUR)
    tail = _window(TTS, 8, 10)
    assert later.update(QUERY, [tail], [_chain(tail, 2.0)], as_of=NOW + 3 * HOUR) == 1
    _, stored, _ = later.split(QUERY, [TTS])
    assert stored[0].columns["total_amount"].tolist() == [1.0] * 8 + [2.0] * 2


def test_a_fetch_apart_from_the_stored_span_replaces_it(tmp_path):
    store = _store(tmp_path)
    early, late = _window(TTS, 0, 4), _window(TTS, 6, 10)
    store.update(QUERY, [early], [_chain(early)], as_of=NOW)
    assert _served(store, [late]) == {}  # nothing of hours 6-10 is held
    assert store.update(QUERY, [late], [_chain(late)], as_of=NOW) == 1
    # the file holds one span: the one just fetched (hours 6-8 settled), not the older one
    assert _served(store, [TTS]) == {"TTS": (6, 8)}


def _hours_of(windows: list[WindowRequest]) -> list[tuple[int, int, str, str]]:
    """Each window's hours, and the hours its request parameters ask for."""
    return [
        (
            (w.start - T0) // HOUR,
            (w.end - T0) // HOUR,
            w.params["startTime"],
            w.params["endTime"],
        )
        for w in windows
    ]


def test_the_windows_around_a_stored_span_ask_for_their_own_hours(tmp_path):
    store = _store(tmp_path)
    middle = _window(TTS, 4, 10)
    store.update(QUERY, [middle], [_chain(middle)], as_of=NOW)  # stored: hours 4-8
    remaining, _, use = store.split(QUERY, [TTS])
    assert _hours_of(remaining) == [
        (0, 4, str(T0), str(T0 + 4 * HOUR)),
        (8, 10, str(T0 + 8 * HOUR), str(NOW)),
    ]
    assert use.buckets == 4


def test_a_stored_span_the_query_cannot_trust_leaves_every_window_whole(tmp_path):
    store = _store(tmp_path)
    middle = [_window(TTS, 4, 10), _window(ASR, 4, 10)]
    store.update(QUERY, middle, [_chain(w) for w in middle], as_of=NOW)  # hours 4-8 each
    # settled 6 h before NOW means before hour 4: nothing stored is trusted, nothing cut
    cautious = TrendQuery(T0, NOW, by="model_type", model_types=["TTS", "ASR"], settle="6h")
    remaining, stored, use = store.split(cautious, [TTS, ASR])
    assert remaining == [TTS, ASR] and stored == [] and use.series == 0


def test_a_fetch_inside_the_stored_span_keeps_the_span_whole(tmp_path):
    store = _store(tmp_path)
    store.update(QUERY, [TTS], [_chain(TTS, 1.0)], as_of=NOW)  # hours 0-8
    cautious = TrendQuery(T0, T0 + 8 * HOUR, by="model_type", model_types=["TTS"], settle="6h")
    remaining, _, use = store.split(cautious, cautious.plan())  # trusts hours 0-4 only
    assert _hours_of(remaining)[0][:2] == (4, 8)
    store.update(cautious, remaining, [_chain(remaining[0], 2.0)], as_of=NOW, use=use)
    _, stored, _ = store.split(QUERY, [TTS])
    assert stored[0].columns["total_amount"].tolist() == [1.0] * 4 + [2.0] * 4


def test_a_metric_first_seen_in_a_later_fetch_is_zero_before_it(tmp_path):
    _store(tmp_path).update(QUERY, [TTS], [_chain(TTS, 1.0)], as_of=NOW)
    later = _store(tmp_path, clock=NOW + 3 * HOUR)
    tail = _window(TTS, 8, 10)
    later.update(QUERY, [tail], [_chain(tail, 2.0, total_calls=5.0)], as_of=NOW + 3 * HOUR)
    _, stored, _ = later.split(QUERY, [TTS])
    assert stored[0].columns["total_calls"].tolist() == [0.0] * 8 + [5.0] * 2


def test_metric_definitions_come_back_as_they_were_stored(tmp_path):
    store = _store(tmp_path)
    chain = _chain(TTS, gpu_hours=2.0)
    chain.declared = {
        "gpu_hours": metric_info("gpu_hours", vendor_unit="卡时", vendor_label="GPU 时长"),
        "total_amount": metric_info("total_amount"),
    }
    store.update(QUERY, [TTS], [chain], as_of=NOW)
    _, stored, _ = store.split(QUERY, [TTS])
    assert stored[0].declared == chain.declared
    assert stored[0].declared["gpu_hours"].unit == "卡时"


def test_update_counts_only_the_files_it_wrote(tmp_path, monkeypatch, caplog):
    (tmp_path / "foreign" / f"v{__version__}").mkdir(parents=True)  # a folder not ours
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        assert _store(tmp_path / "foreign").update(QUERY, [TTS], [_chain(TTS)], as_of=NOW) == 0

    def disk_full(f, **arrays):
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.np, "savez", disk_full)
    store = _store(tmp_path / "full")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        assert store.update(QUERY, [TTS], [_chain(TTS)], as_of=NOW) == 0
    path = store.path(store.key(TTS))
    assert [r.getMessage() for r in caplog.records] == [
        f"could not write the cache file {path}: disk full. The frame is complete; only the "
        f"cache missed it. Check the free space and permissions of {tmp_path / 'full'}."
    ]


def test_a_folder_made_by_someone_else_meanwhile_is_left_alone_with_one_warning(tmp_path, caplog):
    """The version folder appears (unmarked) while the fetch runs: nothing is written into
    it, and the warning, said once for both series, names it."""
    folder = tmp_path / f"v{__version__}"

    def service(request: httpx.Request) -> httpx.Response:
        folder.mkdir(parents=True, exist_ok=True)
        return Service(1.0)(request)

    client = CostTrendClient(
        Credentials("AKIDfaketest0001", "fake-secret"),
        transport=httpx.MockTransport(service),
        cache_dir=tmp_path,
        sleep=lambda s: None,
    )
    with client, caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        client.fetch(T0, NOW, model_types=["TTS", "ASR"], by="model_type", settle="2h")
    assert [r.getMessage() for r in caplog.records] == [
        f"the cache is off: {folder} has no .costtrend-nb-cache marker, so costtrend_nb did "
        "not make it and leaves it alone. Move it away (or delete it if it is an old "
        "costtrend_nb cache), or choose another cache_dir."
    ]
    assert list(folder.iterdir()) == []


def test_the_service_clock_ahead_by_more_than_a_minute_is_logged(tmp_path, caplog):
    store = _store(tmp_path, clock=1_000_000.0)
    with caplog.at_level(logging.DEBUG, logger="costtrend_nb"):
        store.update(QUERY, [], [], as_of=1_000_060.0)  # a minute: clocks differ that much
        assert caplog.text == ""
        store.update(QUERY, [], [], as_of=1_000_061.0)
    assert [r.getMessage() for r in caplog.records] == [
        "the service's clock is 61 s ahead of this machine's; the cache counts buckets as "
        "settled by this machine's clock"
    ]


def test_the_store_describes_itself(tmp_path):
    store = _store(tmp_path, version="9.9")
    assert repr(store) == f"Cache({str(tmp_path)!r}, endpoint={ENDPOINT!r})"
    assert repr(Cache.__new__(Cache)) == "Cache(None, endpoint=None)"  # as a traceback shows it
    assert store.info() == {
        "path": str(tmp_path),
        "version": "9.9",
        "files": 0,
        "bytes": 0,
        "versions": {},
    }


def test_an_empty_cache_dir_is_refused_with_what_to_pass():
    with pytest.raises(QueryError) as err:
        _store("")
    assert str(err.value) == "cache_dir must be a directory path, not ''."


# -- a file is checked before one value of it is used ---------------------------------------
#
# A file stored by update (TTS, hours 0-8, read at NOW), then changed by hand: a file that
# breaks a promise is ignored (the series is fetched whole) with its reason in the warning.


def _hand_made(root, change) -> Cache:
    store = _store(root)
    store.update(QUERY, [TTS], [_chain(TTS)], as_of=NOW)
    path = store.path(store.key(TTS))
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"][()]))
    instead = change(meta, arrays)  # None (changed in place), other metadata, or other bytes
    if isinstance(instead, bytes):
        path.write_bytes(instead)
        return store
    arrays["meta"] = np.array(json.dumps(meta if instead is None else instead))
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return store


def _hours(*hours: int) -> np.ndarray:
    return np.array([T0 + h * HOUR for h in hours], dtype=np.int64)


def _set(**fields):
    return lambda meta, arrays: meta.update(fields)


def _arrays(**arrays):
    return lambda meta, old: old.update(arrays)


BROKEN = {
    "empty": (lambda meta, arrays: b"", "unreadable: EOFError"),
    "a zip cut short": (lambda meta, arrays: b"PK\x03\x04cut", "unreadable: BadZipFile"),
    "pickled values": (
        _arrays(values=np.array([None, 1], dtype=object)),
        "unreadable: ValueError",
    ),
    "metadata not a mapping": (lambda meta, arrays: [meta], "no metadata"),
    "metric list missing": (_set(metrics=None), "bad metric list"),
    "definitions not a mapping": (_set(declared=[]), "bad metric definitions"),
    "a timestamp short": (
        _arrays(timestamps=_hours(0, 1, 2, 3, 4, 5, 6)),
        "arrays of different lengths",
    ),
    "another account's": (
        lambda meta, arrays: meta["key"].update(account="f" * 16),
        "the file belongs to another series, account or endpoint",
    ),
    "span in floats": (_set(start=float(T0)), "bad span"),
    "clock not a number": (_set(as_of=float("nan")), "bad as-of time"),
    "read in the future": (
        _set(as_of=NOW + 2 * HOUR),
        "read after this machine's clock: a clock ahead stored it",
    ),
    "empty span": (_set(end=T0), "span not settled"),
    "span off the grid": (_set(end=T0 + 8 * HOUR + 60), "span off the bucket grid"),
    "a timestamp off the grid": (
        _arrays(timestamps=_hours(*range(8)) + 60),
        "bad timestamps",
    ),
    "timestamps in floats": (
        _arrays(timestamps=_hours(*range(8)).astype(np.float64)),
        "bad timestamps",
    ),
    "last bucket at the span's end": (
        _arrays(timestamps=_hours(*range(1, 9))),
        "timestamps out of order or outside the span",
    ),
    "a bucket repeated": (
        _arrays(timestamps=_hours(0, 1, 2, 3, 4, 5, 6, 6)),
        "timestamps out of order or outside the span",
    ),
    "a bucket before the span": (
        _arrays(timestamps=_hours(-1, *range(7))),
        "timestamps out of order or outside the span",
    ),
    "a value not a number": (
        _arrays(values=np.full((8, 1), np.nan)),
        "bad values of total_amount",
    ),
}


@pytest.mark.parametrize("change, reason", BROKEN.values(), ids=BROKEN.keys())
def test_a_file_that_breaks_a_promise_is_ignored_with_the_reason(tmp_path, caplog, change, reason):
    store = _hand_made(tmp_path, change)
    name = store.path(store.key(TTS)).name
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        remaining, stored, _ = store.split(QUERY, [TTS])
    assert remaining == [TTS] and stored == []
    assert [r.getMessage() for r in caplog.records] == [
        f"cache file {name} ignored ({reason}); it will be replaced"
    ]


KEPT = {
    # read the moment its last bucket ended: settled by then, so trusted (settle 2 h: 0-6)
    "span ending at its own clock": (_set(as_of=T0 + 8 * HOUR), (0, 6)),
    # a malformed definition costs that definition only, not the file
    "a definition malformed": (_set(declared={"total_amount": None}), (0, 8)),
}


@pytest.mark.parametrize("change, hours", KEPT.values(), ids=KEPT.keys())
def test_a_file_that_keeps_its_promises_is_served(tmp_path, caplog, change, hours):
    store = _hand_made(tmp_path, change)
    with caplog.at_level(logging.WARNING, logger="costtrend_nb"):
        assert _served(store, [TTS]) == {"TTS": hours}
    assert caplog.text == ""
