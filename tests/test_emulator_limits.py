"""The emulator under abuse: it answers every request, at once, and its memory stays bounded.

Socket-level cases go through the real threaded loopback server with raw sockets, each read
bounded by a timeout, so that "no answer" or "a thread held" fails the test instead of hanging.
"""

import datetime as dt
import hashlib
import json
import logging
import socket
import tracemalloc
from urllib.parse import urlencode

import pytest

from costtrend_nb.auth import API_VERSION, authorization
from costtrend_nb.emulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    Emulator,
    EmulatorServer,
    Faults,
)
from costtrend_nb.emulator import server as emulator_server

WALL = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
TREND = "/api/v1/modelRouter/open/billing/cost/trend"
CLIENTS = "/api/v1/modelRouter/open/clients"
ACTIONS = {TREND: "ModelRouterQueryCostTrendMetrics", CLIENTS: "ModelRouterQueryClientList"}
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
DAY = {"startTime": 1795017600, "endTime": 1795104000, "maxResults": 1000}
SIGNED = ("host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce")
TIMEOUT = 2.0  # seconds any answer may take before the test fails


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, at=WALL):
        self.now = at.timestamp()

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += dt.timedelta(**delta).total_seconds()


def signed(path, params, nonce, *, when=WALL, host="aicontent.aliyuncs.com", drop=()):
    """A target and headers signed as the vendor's SDK does, without the ``drop``ped headers.

    The signature names every header in ``SIGNED`` and is good over what is sent, so a
    dropped header is missing from a request whose signature is otherwise valid.
    """
    pairs = [(k, str(v)) for k, v in params.items()]
    headers = {
        "host": host,
        "x-acs-action": ACTIONS[path],
        "x-acs-version": API_VERSION,
        "x-acs-date": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": EMPTY_SHA256,
    }
    for name in drop:
        del headers[name]
    headers["authorization"] = authorization(
        "GET",
        path,
        pairs,
        headers,
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        signed_headers=SIGNED,
    )
    return path + "?" + urlencode(pairs), headers


def body_of(reply):
    return json.loads(reply.body)


# -- every request gets an answer (in-process) -------------------------------------------------


@pytest.mark.parametrize("name", ["x-acs-signature-nonce", "x-acs-date", "x-acs-content-sha256"])
def test_a_signed_header_that_is_not_sent_is_a_403(name):
    emu = Emulator(clock=Clock())
    target, headers = signed(TREND, DAY, "n-missing", drop=[name])
    reply = emu.handle("GET", target, headers)
    assert reply.status == 403, reply.body
    body = body_of(reply)
    assert body["Code"] == "B.Permission.DeniedException" and body["RequestId"]
    assert f"{name} must be sent" in body["Message"]


def test_an_empty_nonce_is_a_403_not_a_nonce():
    emu = Emulator(clock=Clock())
    for _ in range(2):
        reply = emu.handle("GET", *signed(TREND, DAY, " "))
        assert reply.status == 403 and "x-acs-signature-nonce must be sent" in reply.body.decode()


@pytest.mark.parametrize("value", ["9" * 5000, "²", "١٢", str(2**63)])
def test_integers_the_service_cannot_read_are_a_400(value):
    emu = Emulator(clock=Clock())
    for params in ({**DAY, "startTime": value}, {**DAY, "clientIds": value}):
        reply = emu.handle("GET", *signed(TREND, params, f"n-{value[:3]}-{len(params)}"))
        assert reply.status == 400, reply.body
        assert body_of(reply)["errCode"] == "InvalidParameter"


def boom(*args, **kwargs):
    raise RuntimeError("a bug in the emulator")


def test_an_unexpected_error_is_a_500_answer_logged_at_debug(monkeypatch, caplog):
    emu = Emulator(clock=Clock())
    monkeypatch.setattr(emu, "_clients", boom)
    with caplog.at_level(logging.DEBUG, logger="costtrend_nb.emulator"):
        reply = emu.handle("GET", *signed(CLIENTS, {}, "n-boom"))
    assert reply.status == 500
    assert body_of(reply)["errCode"] == "Server.Internal.UnknownError"
    logged = [r for r in caplog.records if r.levelno == logging.DEBUG and r.exc_info]
    assert logged and "a bug in the emulator" in str(logged[0].exc_info[1])


# -- bounded memory ------------------------------------------------------------------------------


def big_queries(n, *, valid, size=20_000):
    """``n`` distinct signed queries of about ``size`` bytes: refused (400) or answered (200)."""
    pad = "p" * size
    base = DAY if valid else {"startTime": "yesterday", "endTime": 1}
    return [signed(TREND, {**base, "pad": f"{i}{pad}"}, f"n-big-{valid}-{i}") for i in range(n)]


def test_3000_refused_20kb_queries_leave_the_memory_bounded_and_are_forgotten():
    clock = Clock()
    emu = Emulator(clock=clock)
    requests = big_queries(3000, valid=False)
    emu.handle("GET", *requests.pop())  # warm up what any first request allocates
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for target, headers in requests:
            assert emu.handle("GET", target, headers).status == 400
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 3,000 x 20 KB kept whole is 63 MB (as on 62822ff); digests keep it near 1.5 MB
    assert grown < 4_000_000, f"{grown / 1e6:.1f} MB kept after 3,000 refused queries"
    assert len(emu._attempts) == len(emu._nonces) == 3000
    clock.advance(minutes=15, seconds=1)  # past the signature window of every one of them
    assert emu.handle("GET", "/api/v1/unknown", {}).status == 404
    assert len(emu._attempts) == len(emu._nonces) == 0


def test_the_tables_are_capped_oldest_forgotten_first():
    emu = Emulator(clock=Clock(), max_nonces=100, max_queries=50)
    assert (Emulator().max_nonces, Emulator().max_queries) == (100_000, 10_000)
    for target, headers in big_queries(150, valid=False, size=100):
        assert emu.handle("GET", target, headers).status == 400
    assert len(emu._nonces) == 100 and len(emu._attempts) == 50
    assert "n-big-False-149" in emu._nonces and "n-big-False-0" not in emu._nonces


def test_the_answers_kept_for_paging_are_capped_in_bytes(monkeypatch):
    assert (emulator_server.CACHE_ANSWERS, emulator_server.CACHE_BYTES) == (64, 64 * 2**20)
    monkeypatch.setattr(emulator_server, "CACHE_BYTES", 100_000)
    emu = Emulator(clock=Clock())
    for i in range(12):  # each a distinct day: about 17 KB of encoded points
        day = {
            **DAY,
            "startTime": DAY["startTime"] - i * 86400,
            "endTime": DAY["endTime"] - i * 86400,
        }
        assert emu.handle("GET", *signed(TREND, day, f"n-day-{i}")).status == 200
    assert 1 < len(emu._cache) < 12
    assert emu._cache_bytes <= 100_000
    assert emu._cache_bytes == sum(e.size + len(k) for k, e in emu._cache.items())


def test_a_replayed_nonce_is_refused_for_its_whole_window():
    clock = Clock()
    emu = Emulator(clock=clock)
    ahead = WALL + dt.timedelta(minutes=14)  # a client clock 14 minutes fast: still accepted
    request = signed(TREND, DAY, "n-replayed", when=ahead)
    assert emu.handle("GET", *request).status == 200
    for minutes in (10, 10, 8):  # 28 minutes on: the date is 14 minutes old, still in the window
        clock.advance(minutes=minutes)
        reply = emu.handle("GET", *request)
        assert reply.status == 403 and "nonce was used before" in reply.body.decode()
    clock.advance(minutes=2)  # the date has left the window: refused for that, and forgotten
    reply = emu.handle("GET", *request)
    assert reply.status == 403 and "15 minutes" in reply.body.decode()
    assert len(emu._nonces) == 0


def test_attempts_are_counted_across_retries_within_the_window():
    clock = Clock()
    emu = Emulator(clock=clock, faults=Faults(error_rate=1.0))
    statuses = []
    for i in range(3):  # retries 14 minutes apart: each within the window of the one before
        statuses.append(
            emu.handle("GET", *signed(TREND, DAY, f"n-retry-{i}", when=clock_at(clock))).status
        )
        clock.advance(minutes=14)
    assert statuses == [500, 500, 200]
    clock.advance(minutes=2)  # 16 minutes after the last try: the query is forgotten
    assert emu.handle("GET", "/api/v1/unknown", {}).status == 404
    assert len(emu._attempts) == 0


def clock_at(clock):
    return dt.datetime.fromtimestamp(clock(), dt.UTC)


# -- the loopback server, with raw sockets ---------------------------------------------------------


class Connection:
    """A raw keep-alive connection to the loopback server; every read times out."""

    def __init__(self, server):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        self.buffer = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)
        return self

    def _fill(self):
        chunk = self.sock.recv(65536)  # raises TimeoutError when nothing comes
        if not chunk:
            raise EOFError("the server closed the connection without an answer")
        self.buffer += chunk

    def answer(self, *, head=False):
        """The next answer: status, headers (lower-cased) and body."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        top, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = top.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in lines)}
        length = 0 if head else int(headers.get("content-length", 0))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, body

    def closed(self):
        """True when the server has closed its side."""
        try:
            return self.buffer == b"" and self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


@pytest.fixture(scope="module")
def server():
    with EmulatorServer() as running:
        yield running


def raw(path, *headers, method="GET", body=b"", host="127.0.0.1"):
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def refused_in_the_gateway_shape(status, answer, code, text):
    got, headers, body = answer
    assert got == status, body
    parsed = json.loads(body)
    assert parsed["Code"] == code and parsed["RequestId"] and text in parsed["Message"]
    assert headers["x-acs-request-id"] == parsed["RequestId"]
    return headers


@pytest.mark.parametrize(
    "length, text",
    [
        ("abc", "must be a number of bytes"),
        ("-1", "must be a number of bytes"),
        ("+5", "must be a number of bytes"),
        ("2000000", "may not exceed 1048576 bytes"),
        ("9" * 5000, "may not exceed 1048576 bytes"),
    ],
)
def test_a_bad_content_length_is_a_400_at_once_and_the_connection_closes(server, length, text):
    with Connection(server) as conn:
        answer = conn.send(raw(TREND, f"content-length: {length}")).answer()
        headers = refused_in_the_gateway_shape(400, answer, "BadRequest", text)
        assert headers["connection"] == "close" and conn.closed()


def test_content_lengths_that_disagree_are_a_400(server):
    with Connection(server) as conn:
        answer = conn.send(raw(TREND, "content-length: 0", "content-length: 5")).answer()
        refused_in_the_gateway_shape(400, answer, "BadRequest", "more than once")
        assert conn.closed()


def test_a_chunked_body_is_a_400_at_once_never_read_as_the_next_request(server):
    with Connection(server) as conn:
        answer = conn.send(raw(TREND, "transfer-encoding: chunked")).answer()
        refused_in_the_gateway_shape(400, answer, "BadRequest", "Transfer-Encoding")
        assert conn.closed()


def test_a_body_on_a_get_is_read_and_the_connection_stays_in_step(server):
    with Connection(server) as conn:
        conn.send(raw("/api/v1/unknown", "content-length: 5", body=b"hello"))
        conn.send(raw("/api/v1/unknown"))
        for _ in range(2):
            refused_in_the_gateway_shape(404, conn.answer(), "InvalidAction.NotFound", "not an API")


def test_a_missing_nonce_is_answered_403_over_the_socket(server):
    target, headers = signed(
        TREND,
        DAY,
        "n",
        when=dt.datetime.now(dt.UTC),
        host=server.endpoint,
        drop=["x-acs-signature-nonce"],
    )
    lines = [f"{k}: {v}" for k, v in headers.items() if k != "host"]
    with Connection(server) as conn:
        answer = conn.send(raw(target, *lines, host=server.endpoint)).answer()
        refused_in_the_gateway_shape(403, answer, "B.Permission.DeniedException", "must be sent")


def test_an_unexpected_error_is_a_500_and_the_connection_stays_open(server, monkeypatch):
    monkeypatch.setattr(server.emulator, "_answer", boom)
    with Connection(server) as conn:
        status, _, body = conn.send(raw(CLIENTS)).answer()
        assert status == 500 and json.loads(body)["errCode"] == "Server.Internal.UnknownError"
        monkeypatch.undo()
        status, _, _ = conn.send(raw("/api/v1/unknown")).answer()
        assert status == 404


def test_a_request_line_over_64_kib_is_a_414_in_the_vendors_shape(server):
    line = b"GET /" + b"a" * (65537 - len(b"GET /"))  # exactly what the server reads, no more
    with Connection(server) as conn:
        answer = conn.send(line).answer()
        refused_in_the_gateway_shape(414, answer, "RequestUriTooLong", "URI")
        assert conn.closed()


@pytest.mark.parametrize(
    "headers",
    [
        b"x-long: " + b"a" * (65537 - len(b"x-long: ")),  # one line past the limit
        b"".join(b"x-many-%d: 1\r\n" % i for i in range(100)),  # 101 with the host
    ],
    ids=["a header over 64 KiB", "more than 100 headers"],
)
def test_oversized_headers_are_a_431_in_the_vendors_shape(server, headers):
    # only what the server reads before it refuses is sent, so nothing is left unread
    request = f"GET {TREND} HTTP/1.1\r\nhost: 127.0.0.1\r\n".encode() + headers
    with Connection(server) as conn:
        answer = conn.send(request).answer()
        refused_in_the_gateway_shape(431, answer, "RequestHeaderFieldsTooLarge", "")
        assert conn.closed()


def test_a_head_answer_has_no_body_and_the_next_answer_is_in_step(server):
    with Connection(server) as conn:
        conn.send(raw(TREND, method="HEAD")).send(raw("/api/v1/unknown"))
        status, _, _ = conn.answer(head=True)
        assert status == 405
        refused_in_the_gateway_shape(404, conn.answer(), "InvalidAction.NotFound", "not an API")


def test_an_unknown_method_is_answered_in_the_vendors_shape(server):
    with Connection(server) as conn:
        answer = conn.send(raw(TREND, method="BREW")).answer()
        refused_in_the_gateway_shape(501, answer, "NotImplemented", "BREW")
