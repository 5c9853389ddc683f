"""A small fake of the two endpoints for ``httpx.MockTransport`` tests.

Deliberately simple and independent of the package's emulator: every (model type, department,
hour) has a value from a closed formula, so tests can compute the expected frame themselves.
"""

from __future__ import annotations

import base64
import email.utils
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx

from costtrend_nb.catalogue import MODEL_TYPE_METRICS
from costtrend_nb.query import MODEL_TYPES

NOW = 1_795_000_000  # 2026-11-18T11:06:40Z: the fake service's clock
DEPARTMENTS = [
    {"id": 1, "name": "Head office", "parentId": 0, "level": 1},
    {"id": 7, "name": "Research", "parentId": 1, "level": 2},
    {"id": 9, "name": "客服中心", "parentId": 1, "level": 2},
]


def is_idle(model_type: str, client_id: int, ts: int) -> bool:
    """Idle buckets are left out of responses, as a real service does."""
    return (ts // 3600 + MODEL_TYPES.index(model_type) + client_id) % 9 == 0


def series_values(model_type: str, client_id: int, ts: int, now: int = NOW) -> dict[str, float]:
    """The usage of one model type in one department in the bucket starting at ``ts``."""
    if is_idle(model_type, client_id, ts) or ts >= now:
        return {}
    i = MODEL_TYPES.index(model_type) + 1
    hour = (ts // 3600) % 24
    amount = round(i * 0.25 + client_id * 0.01 + hour * 0.125, 4)
    values = {"total_amount": amount, "total_calls": float(i * 10 + hour), "model_count": 1.0}
    for n, key in enumerate(MODEL_TYPE_METRICS[model_type]):
        values[key] = float(1000 * i + 10 * hour + n)
    return values


def aggregate(
    model_types: list[str], client_ids: list[int], ts: int, now: int = NOW
) -> dict[str, float]:
    """What the service returns for several types and departments: sums, and a distinct count."""
    out: dict[str, float] = {}
    used = set()
    for t in model_types:
        for c in client_ids:
            v = series_values(t, c, ts, now)
            if v:
                used.add(t)
            for k, x in v.items():
                if k != "model_count":
                    out[k] = round(out.get(k, 0.0) + x, 4)
    if out:
        out["model_count"] = float(len(used))
    return out


def rfc1123(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


@dataclass
class FakeAPI:
    """Answers both endpoints; ``hook(request, n)`` may return a response to send instead."""

    encode_twice: bool = True
    now: int = NOW
    hook: Callable[[httpx.Request, int], httpx.Response | None] | None = None
    latency: float = 0.0
    requests: list[httpx.Request] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            n = len(self.requests)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            if self.hook is not None:
                custom = self.hook(request, n)
                if custom is not None:
                    return custom
            if request.url.path.endswith("/clients"):
                return self._clients(request, n)
            return self._trend(request, n)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _params(self, request: httpx.Request) -> dict[str, str]:
        return dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))

    def _respond(self, body: dict[str, Any], n: int) -> httpx.Response:
        return httpx.Response(
            200,
            json=body,
            headers={"date": rfc1123(self.now), "x-acs-request-id": f"req-{n}"},
        )

    def _trend(self, request: httpx.Request, n: int) -> httpx.Response:
        q = self._params(request)
        start, end = int(q["startTime"]), int(q["endTime"])
        step = 3600 if q.get("granularity", "hourly") == "hourly" else 86400
        types = q["modelTypes"].split(",") if q.get("modelTypes") else list(MODEL_TYPES)
        if q.get("clientId"):
            clients = [int(q["clientId"])]
        elif q.get("clientIds"):
            clients = [int(c) for c in q["clientIds"].split(",")]
        else:
            clients = [d["id"] for d in DEPARTMENTS]
        points = []
        for ts in range(start, end, step):
            hours = range(ts, ts + step, 3600)
            values: dict[str, float] = {}
            for h in hours:
                for k, x in aggregate(types, clients, h, self.now).items():
                    values[k] = (
                        round(values.get(k, 0.0) + x, 4)
                        if k != "model_count"
                        else max(values.get(k, 0.0), x)
                    )
            if values:
                text = json.dumps(values)
                points.append(
                    {"timestamp": ts, "values": json.dumps(text) if self.encode_twice else text}
                )
        size = int(q.get("maxResults", 10))
        token = q.get("nextToken")
        offset = int(base64.b64decode(token).decode()) if token else 0
        body: dict[str, Any] = {
            "requestId": f"req-{n}",
            "success": True,
            "httpStatusCode": 200,
            "maxResults": size,
            "data": {
                "defaultMetric": "total_amount",
                "granularity": q.get("granularity"),
                "metrics": [],
                "points": points[offset : offset + size],
            },
        }
        if offset + size < len(points):
            body["nextToken"] = base64.b64encode(str(offset + size).encode()).decode()
        return self._respond(body, n)

    def _clients(self, request: httpx.Request, n: int) -> httpx.Response:
        q = self._params(request)
        size = int(q.get("maxResults", 10))
        offset = int(q.get("nextToken") or 0)
        data: dict[str, Any] = {
            "list": DEPARTMENTS[offset : offset + size],
            "total": len(DEPARTMENTS),
        }
        if offset + size < len(DEPARTMENTS):
            data["nextToken"] = str(offset + size)
        return self._respond({"requestId": f"req-{n}", "success": True, "data": data}, n)

    def trend_requests(self) -> list[dict[str, str]]:
        return [self._params(r) for r in self.requests if r.url.path.endswith("/trend")]


CLI_CREDENTIALS = ("AKIDclitest00001", "cli-secret")


def serve_cli(monkeypatch: Any) -> FakeAPI:
    """Make ``costtrend-nb`` (``cli.main``) talk to a new :class:`FakeAPI`, with no waits."""
    from costtrend_nb import CostTrendClient, Credentials, cli

    api = FakeAPI()
    credentials = Credentials(*CLI_CREDENTIALS)
    monkeypatch.setattr(
        cli,
        "_make_client",
        lambda args: CostTrendClient(credentials, transport=api.transport(), sleep=lambda s: None),
    )
    return api
