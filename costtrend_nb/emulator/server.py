"""The emulator's request handler: both endpoints of the Model Router billing API, re-implemented.

:class:`Emulator` answers a request given as (method, target, headers, body) with a
:class:`Reply`; :mod:`costtrend_nb.emulator.serve` carries it in-process (an httpx transport)
or over a threaded loopback HTTP server, for any client, the vendor's SDK included.

What it does, as the service would:

* verifies ACS3-HMAC-SHA256 signatures over what the client signed (its ``SignedHeaders``),
  re-encoding the form-decoded query as the vendor does, against the wall clock: a wrong
  signature, an unknown key, an ``x-acs-date`` more than 15 minutes off, or a reused nonce get
  403 ``B.Permission.DeniedException``;
* validates parameters, with 400 ``MissingParameter``/``InvalidParameter`` in the vendor's shape;
* serves hourly buckets on the hour and daily buckets at midnight UTC+8, summed over the
  selected model types, departments, members and key, leaving idle buckets out; ``values`` is
  JSON text encoded twice, as in the vendor's example (``encode_twice=False`` encodes once);
* pages with ``maxResults``/``nextToken`` (1-1000, default 10); a token is opaque and bound to
  its query;
* runs on a frozen data clock, :data:`DEMO_NOW`: the bucket holding it is partial and nothing
  after it exists (the ``Date`` header reports that clock);
* injects :class:`Faults` deterministically: each is chosen by a hash of (seed, query, attempt),
  never by arrival order, and no request fails more than twice in a row;
* answers every request: a signed request without its nonce, date or content hash gets 403, an
  unexpected error inside gets 500 ``Server.Internal.UnknownError`` (logged at debug);
* keeps bounded memory: a nonce is remembered until its ``x-acs-date`` leaves the 15-minute
  window, a query's attempt count for 15 minutes after it was last asked, each table capped
  (oldest forgotten first), and the encoded answers it reuses are capped in number and bytes.

Its parts live apart: the signature check in :mod:`.signature`, reading the parameters and
paging tokens in :mod:`.params`, the refusals' shapes in :mod:`.refusals`, and the bounded
tables of nonces and attempts in :mod:`.recent`.

The demo key pair is public: it opens only the emulator.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import numpy as np
import orjson

from ..catalogue import METRICS
from .aggregate import Buckets, Selection, aggregate
from .params import (
    DEFAULT_RESULTS,
    PageTokens,
    identity_without,
    int_param,
    split_target,
    trend_selection,
)
from .recent import Recent
from .refusals import Refusal, denied, error_body, invalid
from .signature import MAX_SKEW, verify_signature
from .synth import DEMO_NOW, Organisation, demo_organisation

__all__ = [
    "DEMO_ACCESS_KEY_ID",
    "DEMO_ACCESS_KEY_SECRET",
    "DEMO_NOW",
    "Emulator",
    "Faults",
    "Reply",
]

log = logging.getLogger("costtrend_nb.emulator")

#: The demo key pair: public, it opens only the emulator.
DEMO_ACCESS_KEY_ID = "DEMO-costtrend-nb-key"
DEMO_ACCESS_KEY_SECRET = "demo-secret-opens-only-the-emulator"

TREND_PATH = "/api/v1/modelRouter/open/billing/cost/trend"
CLIENTS_PATH = "/api/v1/modelRouter/open/clients"
ACTIONS = {
    TREND_PATH: "ModelRouterQueryCostTrendMetrics",
    CLIENTS_PATH: "ModelRouterQueryClientList",
}
MAX_NONCES = 100_000  #: nonces remembered at most (each for the 15-minute window)
MAX_QUERIES = 10_000  #: query identities whose attempts are counted at most
CACHE_ANSWERS = 64  #: encoded answers kept for reuse by later pages ...
CACHE_BYTES = 64 << 20  #: ... and their total size in bytes


@dataclass(frozen=True)
class Faults:
    """Faults to inject; rates are per request, chosen by hash, never by arrival order.

    Failing faults (500, 429, truncation) strike only a request's first two attempts, so a
    client that retries three times always completes.
    """

    latency_ms: float = 0.0  #: how long every answer takes (processing included)
    spike_rate: float = 0.0  #: share of answers delayed by ``spike_ms`` more
    spike_ms: float = 0.0
    error_rate: float = 0.0  #: share of attempts answered 500 Server.Internal.UnknownError
    throttle_every: int = 0  #: about one attempt in N answered 429 (0: never)
    retry_after_ms: int = 200  #: the ``x-acs-retry-after`` of a 429
    truncate_rate: float = 0.0  #: share of attempts whose body is cut short
    duplicate_rate: float = 0.0  #: share of pages that repeat the last point of the page before

    @property
    def failing(self) -> bool:
        """True when some attempts fail."""
        return bool(self.error_rate or self.throttle_every or self.truncate_rate)


@dataclass
class Reply:
    """An answer: status, headers and body, with the delay and truncation to apply."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    delay: float = 0.0  #: seconds still to wait before answering
    cut: int | None = None  #: send only this many bytes of the body, then close


def _uniform(*parts: object) -> list[float]:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return [int.from_bytes(digest[i : i + 4], "big") / 2**32 for i in range(0, 32, 4)]


def _request_id(*parts: object) -> str:
    h = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest().upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class _Encoded:
    """A query's answer, encoded: each served point as JSON text, and the metric definitions."""

    points: list[str]
    metrics: str
    size: int = 0  #: bytes of text held

    @classmethod
    def of(cls, buckets: Buckets, omit_idle: bool, encode_twice: bool) -> _Encoded:
        every = np.arange(len(buckets.starts))
        rows = every[buckets.used] if omit_idle else every
        whole = [METRICS[k].unit not in ("CNY", "s") for k in buckets.keys]
        points = []
        for i in rows.tolist():
            values = {
                k: (int(v) if w else float(v))
                for k, v, w in zip(buckets.keys, buckets.values[i].tolist(), whole, strict=True)
            }
            text = orjson.dumps(values).decode()
            if encode_twice:  # the vendor's example: the JSON text, as a JSON string
                text = orjson.dumps(text).decode()
            points.append(
                f'{{"timestamp":{int(buckets.starts[i])},"values":{orjson.dumps(text).decode()}}}'
            )
        metrics = [
            {"key": k, "label": METRICS[k].label_zh, "unit": METRICS[k].unit_zh, "sortable": True}
            for k in buckets.keys
        ]
        text = _dumps(metrics).decode("utf-8")
        return cls(points, text, sum(map(len, points)) + len(text))


@dataclass(repr=False)
class Emulator:
    """The Model Router billing endpoints, answering from the demo organisation.

    Example:
        >>> emu = Emulator()
        >>> emu.handle("GET", "/api/v1/unknown", {}).status
        404
    """

    seed: int = 0
    now: int = DEMO_NOW
    faults: Faults = field(default_factory=Faults)
    encode_twice: bool = True
    omit_idle: bool = True
    key_pairs: dict[str, str] = field(
        default_factory=lambda: {DEMO_ACCESS_KEY_ID: DEMO_ACCESS_KEY_SECRET}
    )
    sts_tokens: dict[str, str] = field(default_factory=dict)  #: token -> key id it belongs to
    clock: Callable[[], float] = time.time  #: the wall clock signatures are checked against
    org: Organisation | None = None
    max_nonces: int = MAX_NONCES  #: nonces remembered at most; past it the oldest are forgotten
    max_queries: int = MAX_QUERIES  #: queries whose attempts are counted at most

    def __repr__(self) -> str:
        # the key pairs are secrets (a test's own); never raises, even half-built
        keys = getattr(self, "key_pairs", None)
        return (
            f"Emulator(seed={getattr(self, 'seed', None)!r}, now={getattr(self, 'now', None)!r}, "
            f"faults={getattr(self, 'faults', None)!r}, "
            f"key_pairs=<{len(keys) if isinstance(keys, dict) else '?'} hidden>)"
        )

    def __post_init__(self) -> None:
        self.now = int(self.now)
        self._lock = threading.Lock()
        self._nonces = Recent(self.max_nonces)  # nonce -> kept until its date leaves the window
        self._attempts = Recent(self.max_queries)  # query -> attempts, kept 15 min after the last
        self._cache: OrderedDict[str, _Encoded] = OrderedDict()
        self._cache_bytes = 0
        self._tokens = PageTokens(hashlib.sha256(f"token-key|{self.seed}".encode()).digest())
        self.requests = 0

    @property
    def organisation(self) -> Organisation:
        """The organisation served (the demo one for ``seed`` unless given)."""
        if self.org is None:
            self.org = demo_organisation(self.seed)
        return self.org

    # -- the entry point --------------------------------------------------------------------

    def handle(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        received_at: float | None = None,
    ) -> Reply:
        """Answer one request; ``target`` is the path with its query string.

        The reply's ``delay`` is what remains of the injected latency after the time spent
        since ``received_at`` (a :func:`time.perf_counter` reading; by default, now): an
        answer takes ``latency_ms`` in all, as a service that slow would. Every request gets
        an answer: an unexpected error inside is a 500 ``Server.Internal.UnknownError``.
        """
        began = time.perf_counter() if received_at is None else received_at
        try:
            reply = self._answer(method, target, headers, body)
        except Exception:  # any bug of ours: answered, as the service would, and logged
            log.debug("unexpected error answering %s %.200r", method, target, exc_info=True)
            reply = self._refuse(
                Refusal(500, "Server.Internal.UnknownError", "未知错误"),
                _request_id(self.seed, "unknown-error", time.perf_counter()),
            )
        if reply.delay:
            reply.delay = max(0.0, reply.delay - (time.perf_counter() - began))
        return reply

    def http_error(self, status: int, message: str) -> Reply:
        """The gateway's answer to a request the HTTP layer refused (bad framing, too long).

        Example:
            >>> Emulator().http_error(400, "Content-Length must be a number.").status
            400
        """
        with self._lock:
            self.requests += 1
        code = re.sub("[^A-Za-z]", "", HTTPStatus(status).phrase.title())  # e.g. BadRequest
        refusal = Refusal(int(status), code, message, gateway=True)
        return self._refuse(refusal, _request_id(self.seed, "http", status, message))

    def _answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        now = self.clock()
        with self._lock:
            self.requests += 1
            self._nonces.forget_expired(now)
            self._attempts.forget_expired(now)
        lowered = {k.lower(): v for k, v in headers.items()}
        path, pairs = split_target(target)
        params = dict(pairs)
        identity = path + "?" + "&".join(f"{k}={v}" for k, v in sorted(pairs))
        try:
            if path not in ACTIONS:
                raise Refusal(
                    404,
                    "InvalidAction.NotFound",
                    f"{path[:200]} is not an API of this product.",
                    gateway=True,
                )
            if method.upper() != "GET":
                raise Refusal(405, "UnsupportedHTTPMethod", "Only GET is supported.", gateway=True)
            sent = verify_signature(
                method.upper(),
                path,
                pairs,
                lowered,
                body,
                now,
                key_pairs=self.key_pairs,
                sts_tokens=self.sts_tokens,
                action=ACTIONS[path],
            )
            self._use_nonce(lowered["x-acs-signature-nonce"], sent)
            attempt = self._attempt(identity, now)
            delay = self._delay(identity, attempt)
            fault = self._fault(identity, attempt)
            if isinstance(fault, Reply):
                fault.delay = delay
                return fault
            request_id = _request_id(self.seed, identity, attempt)
            if path == TREND_PATH:
                body = self._trend(params, identity, request_id)
            else:
                body = _dumps(self._clients(params, request_id))
            cut = len(body) // 2 if fault == "truncate" else None
            return Reply(200, self._headers(request_id), body, delay=delay, cut=cut)
        except Refusal as refusal:
            request_id = _request_id(self.seed, identity, "refused", refusal.code)
            reply = self._refuse(refusal, request_id)
            reply.delay = self.faults.latency_ms / 1000.0
            return reply

    # -- authentication ---------------------------------------------------------------------

    def _use_nonce(self, nonce: str, sent: float) -> None:
        """Refuse a nonce seen before; remember it while its date can still pass the check."""
        with self._lock:
            if nonce in self._nonces:
                raise denied("the signature nonce was used before.")
            self._nonces.put(nonce, 1, expires=sent + MAX_SKEW)

    # -- faults -----------------------------------------------------------------------------

    def _attempt(self, identity: str, now: float) -> int:
        """How many times this query was asked before (within 15 minutes of each other)."""
        with self._lock:
            attempt = self._attempts.get(identity)
            self._attempts.put(identity, attempt + 1, expires=now + MAX_SKEW)
            return attempt

    def _fault(self, identity: str, attempt: int) -> Reply | str | None:
        """A refusal to send instead of the answer, ``"truncate"``, or None."""
        f = self.faults
        if not f.failing or attempt >= 2:
            return None
        u = _uniform(self.seed, identity, attempt, "fault")
        request_id = _request_id(self.seed, identity, attempt)
        if f.throttle_every and u[0] < 1.0 / f.throttle_every:
            reply = self._refuse(
                Refusal(
                    429,
                    "Throttling.User",
                    "Request was denied due to user flow control.",
                    gateway=True,
                ),
                request_id,
            )
            reply.headers.append(("x-acs-retry-after", str(f.retry_after_ms)))
            return reply
        if u[1] < f.error_rate:
            return self._refuse(
                Refusal(500, "Server.Internal.UnknownError", "未知错误"), request_id
            )
        if u[2] < f.truncate_rate:
            return "truncate"  # the real answer, cut short in transit
        return None

    def _delay(self, identity: str, attempt: int) -> float:
        f = self.faults
        delay = f.latency_ms / 1000.0
        if f.spike_rate and _uniform(self.seed, identity, attempt, "spike")[0] < f.spike_rate:
            delay += f.spike_ms / 1000.0
        return delay

    # -- the endpoints ----------------------------------------------------------------------

    def _headers(self, request_id: str) -> list[tuple[str, str]]:
        return [
            ("content-type", "application/json;charset=utf-8"),
            ("date", email.utils.formatdate(self.now, usegmt=True)),
            ("x-acs-request-id", request_id),
        ]

    def _refuse(self, refusal: Refusal, request_id: str) -> Reply:
        body = error_body(refusal, request_id)
        return Reply(refusal.status, self._headers(request_id), _dumps(body))

    def _encoded(
        self, identity: str, selection: Selection, start: int, end: int, granularity: str
    ) -> _Encoded:
        """A query's points, JSON-encoded once and reused by each of its pages."""
        with self._lock:
            cached = self._cache.get(identity)
            if cached is not None:
                self._cache.move_to_end(identity)
                return cached
        buckets = aggregate(self.organisation, selection, start, end, granularity, self.now)
        encoded = _Encoded.of(buckets, self.omit_idle, self.encode_twice)
        with self._lock:
            self._keep(identity, encoded)
        return encoded

    def _keep(self, identity: str, encoded: _Encoded) -> None:
        """Cache an encoded answer, forgetting the least recently used past the caps."""
        old = self._cache.pop(identity, None)
        if old is not None:
            self._cache_bytes -= old.size + len(identity)
        self._cache[identity] = encoded
        self._cache_bytes += encoded.size + len(identity)
        while len(self._cache) > 1 and (
            len(self._cache) > CACHE_ANSWERS or self._cache_bytes > CACHE_BYTES
        ):
            dropped_id, dropped = self._cache.popitem(last=False)
            self._cache_bytes -= dropped.size + len(dropped_id)

    def _trend(self, params: Mapping[str, str], identity: str, request_id: str) -> bytes:
        selection, start, end, granularity, size = trend_selection(params)
        query_id = identity_without(identity, ("nextToken", "maxResults"))
        offset = self._tokens.read(params.get("nextToken"), query_id)
        encoded = self._encoded(query_id, selection, start, end, granularity)
        first = offset
        duplicate = self.faults.duplicate_rate
        if offset and duplicate and _uniform(self.seed, identity, "duplicate")[0] < duplicate:
            first = offset - 1  # the last point of the page before, once more
        points = ",".join(encoded.points[first : offset + size])
        token = ""
        if offset + size < len(encoded.points):
            token = f',"nextToken":"{self._tokens.make(offset + size, query_id)}"'
        head = _dumps({"requestId": request_id, "success": True, "httpStatusCode": 200})
        return (
            head[:-1].decode()
            + f',"maxResults":{size}{token},"data":{{"defaultMetric":"total_amount",'
            + f'"granularity":"{granularity}","metrics":{encoded.metrics},"points":[{points}]}}}}'
        ).encode("utf-8")

    def _clients(self, params: Mapping[str, str], request_id: str) -> dict[str, Any]:
        size = int_param(params, "maxResults")
        size = DEFAULT_RESULTS if size is None else size
        if not 1 <= size <= 100:
            raise invalid("The parameter maxResults must be between 1 and 100.")
        parent = int_param(params, "parentId")
        keyword = params.get("keyword") or ""
        departments = [
            d
            for d in self.organisation.departments
            if (parent is None or d.parent_id == parent) and keyword.lower() in d.name.lower()
        ]
        query_id = "clients|" + f"{parent}|{keyword}"
        offset = self._tokens.read(params.get("nextToken"), query_id)
        page = departments[offset : offset + size]
        data: dict[str, Any] = {
            "list": [
                {
                    "id": d.id,
                    "name": d.name,
                    "parentId": d.parent_id,
                    "level": d.level,
                    "nodeType": "DEPARTMENT",
                    "main": 1 if d.parent_id == 0 else 0,
                    "clientUuid": _request_id("client", self.seed, d.id).lower(),
                    "remark": "",
                    "gmtCreate": "2025-08-20 10:00:00",
                    "gmtModified": "2025-08-20 10:00:00",
                }
                for d in page
            ],
            "maxResults": str(size),
            "page": offset // size + 1,
            "pageSize": size,
            "total": len(departments),
        }
        if offset + size < len(departments):
            data["nextToken"] = self._tokens.make(offset + size, query_id)
        return {"requestId": request_id, "success": True, "httpStatusCode": 200, "data": data}
