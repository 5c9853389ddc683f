"""Retries, paging and error envelopes that mutation testing found unpinned (issue 16).

Each test fails when one plausible wrong change is made to protocol.py or client.py: the
backoff's cap, the unit of ``x-acs-retry-after``, the per-request timeout cut to what is left
of the deadline, ``nextToken`` inside ``data``, a token loop longer than one step, and an HTTP
200 body that says ``"Success": false``.
"""

from __future__ import annotations

import asyncio
import json
import random

import httpx
import pytest

from costtrend_nb import AsyncCostTrendClient, CostTrendClient, Credentials
from costtrend_nb import errors as E
from costtrend_nb.protocol import RetryPolicy, Send, Sleep, paged_flow, read_page
from costtrend_nb.tidy import Page

CREDS = Credentials("AKIDfaketest0001", "fake-secret-never-shown")
EMPTY = {"success": True, "requestId": "r", "data": {"points": [], "metrics": []}}


class _Top(random.Random):
    """A 'random' source whose uniform(a, b) is always b: the backoff's upper bound."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_backoff_doubles_from_base_and_stops_at_the_cap():
    policy = RetryPolicy(max_retries=20, base=0.5, cap=8.0)
    error = E.ServerError("boom")
    waits = [policy.delay(error, attempt, _Top()) for attempt in range(8)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]


def test_retry_after_is_read_in_milliseconds_and_floors_the_wait():
    response = httpx.Response(
        429, headers={"x-acs-retry-after": "1500"}, json={"code": "Throttling", "message": "slow"}
    )
    with pytest.raises(E.ThrottledError) as caught:
        read_page(response)
    assert caught.value.retry_after == 1.5
    policy = RetryPolicy(base=0.5, cap=8.0)
    assert policy.delay(caught.value, 0, _Top()) == 1.5  # longer than the backoff's 0.5
    assert policy.delay(caught.value, 3, _Top()) == 4.0  # shorter than the backoff's 4


def _sequence(*responses: httpx.Response):
    """A transport answering with ``responses`` in turn; it records each request."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses[min(len(seen), len(responses)) - 1]

    return httpx.MockTransport(handler), seen


def test_a_throttled_fetch_sleeps_as_long_as_the_server_asks_in_seconds():
    transport, seen = _sequence(
        httpx.Response(429, headers={"x-acs-retry-after": "2500"}, json={"code": "Throttling"}),
        httpx.Response(200, json=EMPTY),
    )
    sleeps: list[float] = []
    client = CostTrendClient(CREDS, transport=transport, sleep=sleeps.append, seed=1)
    client.fetch("2026-11-16", "2026-11-16 02:00", model_types="TTS")
    assert len(seen) == 2 and sleeps == [2.5]


def _timeouts(seen: list[httpx.Request]) -> list[float]:
    return [r.extensions["timeout"]["read"] for r in seen]


def test_each_request_gets_at_most_what_is_left_of_the_deadline():
    transport, seen = _sequence(httpx.Response(200, json=EMPTY))
    client = CostTrendClient(
        CREDS, transport=transport, timeout=10.0, deadline=3.0, clock=lambda: 100.0
    )
    client.fetch("2026-11-16", "2026-11-16 02:00", model_types="TTS")
    assert _timeouts(seen) == [3.0]
    transport, seen = _sequence(httpx.Response(200, json=EMPTY))
    client = CostTrendClient(
        CREDS, transport=transport, timeout=2.0, deadline=30.0, clock=lambda: 100.0
    )
    client.fetch("2026-11-16", "2026-11-16 02:00", model_types="TTS")
    assert _timeouts(seen) == [2.0]


def test_the_async_client_cuts_the_timeout_to_the_deadline_too():
    transport, seen = _sequence(httpx.Response(200, json=EMPTY))

    async def run() -> None:
        async with AsyncCostTrendClient(
            CREDS, transport=transport, timeout=10.0, deadline=3.0, clock=lambda: 100.0
        ) as client:
            await client.fetch("2026-11-16", "2026-11-16 02:00", model_types="TTS")

    asyncio.run(run())
    assert _timeouts(seen) == [3.0]


def test_the_flow_cuts_each_send_to_the_deadline():
    now = [0.0]
    flow = paged_flow(
        lambda token: httpx.Request("GET", "https://example.invalid/"),
        lambda response, index: Page([], next_token=None),
        policy=RetryPolicy(),
        timeout=10.0,
        deadline_at=4.0,
        clock=lambda: now[0],
        rng=random.Random(0),
    )
    step = next(flow)
    assert isinstance(step, Send) and step.timeout == 4.0
    now[0] = 1.5
    step = flow.send(E.ServerError("boom"))
    assert isinstance(step, Sleep)
    step = flow.send(None)
    assert isinstance(step, Send) and step.timeout == 2.5


def test_a_next_token_inside_data_is_followed_and_the_top_level_one_wins():
    def page(body: dict) -> Page:
        return read_page(httpx.Response(200, json={"success": True, **body}))

    assert page({"data": {"points": [], "nextToken": "B"}}).next_token == "B"
    assert page({"nextToken": "A", "data": {"nextToken": "B"}}).next_token == "A"
    assert page({"nextToken": "", "data": {"nextToken": "B"}}).next_token is None
    body = {**EMPTY, "data": {"points": [], "metrics": [], "nextToken": "B"}}
    transport, seen = _sequence(httpx.Response(200, json=body), httpx.Response(200, json=EMPTY))
    CostTrendClient(CREDS, transport=transport).fetch(
        "2026-11-16", "2026-11-16 02:00", model_types="TTS"
    )
    assert [r.url.params.get("nextToken") for r in seen] == [None, "B"]


def _drive(tokens: list[str | None]) -> list[Page]:
    flow = paged_flow(
        lambda token: httpx.Request("GET", "https://example.invalid/", params={"t": token or ""}),
        lambda response, index: Page([], next_token=tokens[index]),
        policy=RetryPolicy(),
        timeout=10.0,
        deadline_at=None,
        clock=lambda: 0.0,
        rng=random.Random(0),
    )
    next(flow)
    try:
        while True:
            flow.send(object())
    except StopIteration as done:
        return done.value


def test_a_token_loop_over_several_pages_is_refused():
    assert len(_drive(["A", "B", None])) == 3
    with pytest.raises(E.ResponseError, match="loop"):
        _drive(["A", "A", None])
    with pytest.raises(E.ResponseError, match="loop"):
        _drive(["A", "B", "A", None])
    with pytest.raises(E.ResponseError, match="loop"):
        _drive(["A", "B", "C", "B", None])


@pytest.mark.parametrize("key", ["success", "Success"])
def test_http_200_with_success_false_is_an_error(key):
    body = {
        key: False,
        "Code": "B.Permission.DeniedException",
        "Message": "denied",
        "RequestId": "r-1",
    }
    with pytest.raises(E.APIError) as caught:
        read_page(httpx.Response(200, content=json.dumps(body).encode()))
    assert caught.value.request_id == "r-1"
    transport, _ = _sequence(httpx.Response(200, json=body))
    with pytest.raises(E.APIError):
        CostTrendClient(CREDS, transport=transport, sleep=lambda s: None).fetch(
            "2026-11-16", "2026-11-16 02:00", model_types="TTS"
        )


@pytest.mark.parametrize("header", ["inf", "1e400", "soon"])
def test_a_retry_after_that_is_no_number_of_milliseconds_falls_back_to_the_backoff(header):
    # "inf" and "1e400" made the sleep raise OverflowError, failing the series (fixed)
    transport, seen = _sequence(
        httpx.Response(429, headers={"x-acs-retry-after": header}, json={"code": "Throttling"}),
        httpx.Response(200, json=EMPTY),
    )
    sleeps: list[float] = []
    client = CostTrendClient(CREDS, transport=transport, sleep=sleeps.append, seed=1)
    client.fetch("2026-11-16", "2026-11-16 02:00", model_types="TTS")
    assert len(seen) == 2 and len(sleeps) == 1 and 0 <= sleeps[0] <= 0.5
