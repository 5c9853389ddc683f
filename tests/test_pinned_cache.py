"""The cache's rules that mutation testing found unpinned (issue 16): ``settle`` applied when
storing (not only when serving), the freshest copy winning where spans merge, and a file never
shrunk by a later fetch with a longer ``settle``.

A scripted service answers every hour of the range asked with one ``total_amount`` per fetch
(1, 2, 3, ...), so each bucket's value says which fetch it came from.
"""

from __future__ import annotations

import email.utils
import json

import httpx
import pandas as pd

from costtrend_nb import CostTrendClient, Credentials

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
