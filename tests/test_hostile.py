"""Hostile pages and servers: each handled as documented or raised as our own error, in time.

Pages go through the whole client (signing, paging, retries, parsing); servers are real
loopback sockets, so the time limits are the ones httpx and the client enforce.
"""

import asyncio
import json
import socket
import threading
import time

import httpx
import pytest

from costtrend_nb import AsyncCostTrendClient, CostTrendClient, Credentials
from costtrend_nb import client as client_module
from costtrend_nb import errors as E

from .fakeapi import NOW, FakeAPI, rfc1123

CREDS = Credentials("AKIDhostile00001", "hostile-secret-never-shown")
START, END = "2026-11-16", "2026-11-17"  # 24 hourly buckets, before the fake's clock
HOUR0 = 1_794_758_400  # 2026-11-16 00:00 +08:00, the first bucket


def page(points, *, n=1, token=None, metrics=None):
    body = {
        "requestId": f"H{n}",
        "success": True,
        "data": {"points": points, "metrics": metrics or []},
    }
    if token is not None:
        body["nextToken"] = token
    return httpx.Response(
        200, json=body, headers={"date": rfc1123(NOW), "x-acs-request-id": f"H{n}"}
    )


def point(ts, values, encode=2):
    text = values if isinstance(values, str) else json.dumps(values)
    for _ in range(encode - 1):
        text = json.dumps(text)
    return {"timestamp": ts, "values": text}


def fetch_with(hook, **kw):
    fake = FakeAPI(hook=hook)
    kw.setdefault("sleep", lambda s: None)
    with CostTrendClient(CREDS, transport=fake.transport(), **kw) as client:
        return client.fetch(START, END, model_types=["Chat"]), fake


def failure_of(hook, **kw):
    with pytest.raises(E.FetchError) as info:
        fetch_with(hook, **kw)
    (err,) = info.value.failures.values()
    return err


# -- hostile pages ------------------------------------------------------------------------


def test_a_repeating_next_token_names_the_page_and_request():
    err = failure_of(lambda r, n: page([], n=n, token="again"))
    assert isinstance(err, E.ResponseError)
    assert "page 2" in str(err) and "repeats" in str(err) and err.request_id == "H2"


def test_a_page_over_the_size_cap_is_refused_unread(monkeypatch):
    monkeypatch.setattr(client_module, "MAX_PAGE_BYTES", 2_000)
    big = [point(HOUR0 + 3600 * i, {"total_amount": 1.0, "pad": "x" * 50}) for i in range(24)]
    err = failure_of(lambda r, n: page(big, n=n))
    assert isinstance(err, E.ResponseError)
    assert "page 1 is over 2,000 bytes" in str(err) and err.request_id
    assert not err.retryable


@pytest.mark.parametrize("encode", [0, 1, 2, 3])
def test_values_as_an_object_or_text_encoded_up_to_three_times(encode):
    values = {"total_amount": 2.5, "total_calls": 3}

    def hook(request, n):
        if encode == 0:
            return page([{"timestamp": HOUR0, "values": values}], n=n)
        return page([point(HOUR0, values, encode)], n=n)

    df, _ = fetch_with(hook)
    first = df[df.timestamp == df.timestamp.min()].set_index("metric")["value"]
    assert first["total_amount"] == 2.5 and first["total_calls"] == 3


def test_points_outside_the_range_are_dropped_with_a_warning():
    outside = [point(HOUR0 - 3600, {"total_amount": 99.0}), point(HOUR0, {"total_amount": 1.0})]
    with pytest.warns(UserWarning, match="1 point.*outside the requested range") as seen:
        df, _ = fetch_with(lambda r, n: page(outside, n=n))
    assert_names_the_caller(seen, "outside the requested range")
    assert df[df.metric == "total_amount"]["value"].sum() == 1.0
    assert df.timestamp.min().timestamp() == HOUR0


def assert_names_the_caller(seen, text):
    """The warning names the line that called the client (here, in this file), not a line of
    the package: however deep it is raised (issue 16's mutation testing found fixed levels)."""
    found = [w for w in seen if text in str(w.message)]
    assert found and all(w.filename == __file__ for w in found), [w.filename for w in found]


def test_negative_values_are_kept_with_a_warning():
    with pytest.warns(UserWarning, match="negative value") as seen:
        df, _ = fetch_with(lambda r, n: page([point(HOUR0, {"total_amount": -4.5})], n=n))
    assert_names_the_caller(seen, "negative value")
    assert df[df.metric == "total_amount"]["value"].sum() == -4.5


def test_numbers_sent_as_text_are_read_and_null_is_zero():
    values = {"total_amount": "1.25", "total_calls": None}
    df, _ = fetch_with(lambda r, n: page([point(HOUR0, values)], n=n))
    got = df[df.timestamp == df.timestamp.min()].set_index("metric")["value"]
    assert got["total_amount"] == 1.25 and got["total_calls"] == 0


def test_unknown_metric_keys_are_kept_with_a_warning():
    values = {"total_amount": 1.0, "gpu_seconds": 7.0}
    definitions = [{"key": "gpu_seconds", "label": "GPU 时长", "unit": "秒"}]
    with pytest.warns(UserWarning, match="gpu_seconds") as seen:
        df, _ = fetch_with(lambda r, n: page([point(HOUR0, values)], n=n, metrics=definitions))
    assert_names_the_caller(seen, "gpu_seconds")
    row = df[(df.metric == "gpu_seconds") & (df.value > 0)].iloc[0]
    assert row["value"] == 7.0 and row["unit"] == "s"


@pytest.mark.parametrize(
    ("values", "what"),
    [
        ('{"total_amount": 1', "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ({"total_amount": "lots"}, "not a number"),
        ({"total_amount": True}, "not a number"),
        ({"total_amount": [1]}, "not a number"),
        ({"total_amount": 1e400}, "not JSON"),  # Infinity
    ],
)
def test_bad_values_are_a_response_error_naming_page_point_and_request(values, what):
    pts = [point(HOUR0, {"total_amount": 1.0}), point(HOUR0 + 3600, values)]
    err = failure_of(lambda r, n: page(pts, n=n))
    assert isinstance(err, E.ResponseError)
    assert what in str(err) and "page 1" in str(err) and "point 1" in str(err)
    assert err.request_id == "H1"


@pytest.mark.parametrize(
    "body",
    [
        {"success": True, "data": []},
        {"success": True, "data": {"points": {}}},
        {"success": True, "data": {"points": [1, 2]}},
        {"success": True, "data": {"points": [{"timestamp": "noon", "values": "{}"}]}},
        {"success": True, "data": {"points": [{"values": "{}"}]}},
        {"success": True, "data": {"points": [{"timestamp": 1.5, "values": "{}"}]}},
        {"success": True, "data": {"points": [{"timestamp": 2**70, "values": "{}"}]}},
        {"success": True, "data": {"points": [], "metrics": [{"label": "no key"}]}},
        {"success": True, "nextToken": 5, "data": {"points": []}},
        [1, 2, 3],
    ],
)
def test_malformed_pages_are_response_errors(body):
    def hook(request, n):
        return httpx.Response(200, json=body, headers={"x-acs-request-id": f"M{n}"})

    err = failure_of(hook, max_retries=0)
    assert isinstance(err, E.ResponseError) and "page 1" in str(err)
    assert err.request_id == "M1"


def test_a_point_off_the_bucket_grid_is_a_response_error():
    err = failure_of(lambda r, n: page([point(HOUR0 + 60, {"total_amount": 1.0})], n=n))
    assert isinstance(err, E.ResponseError) and "not the start of a hourly bucket" in str(err)


# -- time limits, over real sockets ------------------------------------------------------


class HostileServer:
    """A loopback server that accepts and then never answers, or drips its answer."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.connections = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections.append(conn)
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn):
        try:
            conn.recv(65536)
            if self.mode == "drip":
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n{")
                while not self.stop.wait(0.05):
                    conn.sendall(b" ")
            else:
                self.stop.wait()
        except OSError:
            pass

    def close(self):
        self.stop.set()
        for conn in self.connections:
            conn.close()
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture(params=["silent", "drip"])
def hostile(request):
    server = HostileServer(request.param)
    yield server
    server.close()


def sync_fetch(url, **kw):
    with CostTrendClient(CREDS, endpoint=url, sleep=lambda s: None, **kw) as client:
        return client.fetch(START, END, model_types=["Chat"])


def async_fetch(url, **kw):
    async def run():
        async with AsyncCostTrendClient(
            CREDS, endpoint=url, sleep=lambda s: asyncio.sleep(0), **kw
        ) as client:
            return await client.fetch(START, END, model_types=["Chat"])

    return asyncio.run(run())


@pytest.mark.parametrize("fetch", [sync_fetch, async_fetch], ids=["sync", "async"])
def test_each_request_ends_within_its_timeout(hostile, fetch):
    began = time.monotonic()
    with pytest.raises(E.FetchError) as info:
        fetch(hostile.url, timeout=0.4, max_retries=1)
    took = time.monotonic() - began
    (err,) = info.value.failures.values()
    assert isinstance(err, E.TimeoutError)
    assert isinstance(info.value, E.CostTrendError)
    assert 0.7 <= took < 0.8 + 1.0  # two tries of 0.4 s, and no more than a little slack


@pytest.mark.parametrize("fetch", [sync_fetch, async_fetch], ids=["sync", "async"])
def test_the_deadline_bounds_the_whole_fetch(hostile, fetch):
    began = time.monotonic()
    with pytest.raises(E.FetchError) as info:
        fetch(hostile.url, timeout=0.3, max_retries=50, deadline=1.0)
    took = time.monotonic() - began
    (err,) = info.value.failures.values()
    assert isinstance(err, E.TimeoutError)
    assert took < 1.0 + 0.8


def test_a_point_beyond_any_calendar_is_a_response_error_not_a_crash():
    pts = [point(HOUR0, {"total_amount": 1.0}), point(9_223_372_036_855, {"total_amount": 1.0})]
    err = failure_of(lambda r, n: page(pts, n=n))
    assert isinstance(err, E.ResponseError) and "out of any calendar range" in str(err)


@pytest.mark.parametrize("date", ["Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"])
def test_an_absurd_date_header_is_ignored(date):
    def hook(request, n):
        body = {"success": True, "data": {"points": [point(HOUR0, {"total_amount": 1.0})]}}
        return httpx.Response(200, json=body, headers={"date": date})

    df, _ = fetch_with(hook)
    assert df[df.metric == "total_amount"]["value"].sum() == 1.0
