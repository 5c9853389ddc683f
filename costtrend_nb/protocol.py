"""The sans-I/O core the sync and async clients share.

Nothing here sends a byte. :func:`build_request` makes a request, :func:`read_page` reads a
response, :class:`RetryPolicy` decides whether and when to try again, and :func:`paged_flow`
is the whole logic of one paged request chain written once as a generator: it yields
:class:`Send` and :class:`Sleep` actions and is sent back what came of them. Each client only
drives it, with its own I/O.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import math
import random
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import (
    APIError,
    CostTrendError,
    ResponseError,
    ServerError,
    ThrottledError,
    TimeoutError,
    TransportError,
    api_error,
)
from .tidy import Page, loads

__all__ = [
    "CLIENTS_ACTION",
    "CLIENTS_PATH",
    "MAX_PAGES_PER_CHAIN",
    "MAX_PAGE_BYTES",
    "TREND_ACTION",
    "TREND_PATH",
    "RetryPolicy",
    "Send",
    "Sleep",
    "build_request",
    "paged_flow",
    "read_client_page",
    "read_page",
    "server_time",
    "translate_transport_error",
]

log = logging.getLogger("costtrend_nb")

TREND_PATH = "/api/v1/modelRouter/open/billing/cost/trend"
TREND_ACTION = "ModelRouterQueryCostTrendMetrics"
CLIENTS_PATH = "/api/v1/modelRouter/open/clients"
CLIENTS_ACTION = "ModelRouterQueryClientList"
#: A page larger than this is refused rather than decoded.
MAX_PAGE_BYTES = 32 * 1024 * 1024
#: A chain longer than this is taken for a service that never stops paging.
MAX_PAGES_PER_CHAIN = 100_000


# -- requests and pages -----------------------------------------------------------------------


def build_request(
    endpoint: httpx.URL,
    path: str,
    action: str,
    params: Mapping[str, str],
    token: str | None = None,
) -> httpx.Request:
    """The unsigned GET for one page (``token`` is the previous page's ``nextToken``).

    Example:
        >>> r = build_request(httpx.URL("https://aicontent.aliyuncs.com"), TREND_PATH,
        ...                   TREND_ACTION, {"startTime": "1", "endTime": "2"}, "t1")
        >>> str(r.url)
        'https://aicontent.aliyuncs.com/api/v1/modelRouter/open/billing/cost/trend?startTime=1&endTime=2&nextToken=t1'
    """
    query = dict(params)
    if token:
        query["nextToken"] = token
    return httpx.Request(
        "GET",
        endpoint.copy_with(path=path, params=query),
        headers={"accept": "application/json", "x-acs-action": action},
    )


def _request_id(response: Any, body: Mapping[str, Any] | None = None) -> str | None:
    if body:
        for key in ("requestId", "RequestId"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])
    header = response.headers.get("x-acs-request-id")
    return str(header) if header else None


def retry_after_seconds(response: Any) -> float | None:
    """The server's ``x-acs-retry-after`` (milliseconds on the wire) in seconds, if positive."""
    raw = response.headers.get("x-acs-retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    # "inf" or "1e400" is no number of milliseconds: waiting on it would crash the sleep
    return value / 1000.0 if 0 < value < math.inf else None


_Y2000, _Y2200 = 946_684_800, 7_258_118_400


def server_time(response: Any) -> float | None:
    """The response's ``Date`` header as Unix seconds (the service's clock), if present."""
    raw = response.headers.get("date")
    if not raw:
        return None
    try:
        when = email.utils.parsedate_to_datetime(raw)
        if when.tzinfo is None:  # "-0000" or no zone: UTC (RFC 5322), never the local clock
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # a clock outside 2000..2200 is not a clock: ignore it rather than trust it
    return seconds if _Y2000 <= seconds < _Y2200 else None


def _read_envelope(response: Any, index: int) -> dict[str, Any]:
    """Decode the JSON body and raise for any error the envelope reports."""
    status = response.status_code
    cap = getattr(response, "over_cap", 0)
    if cap:
        raise ResponseError(
            f"page {index + 1} is over {cap:,} bytes; refused without decoding it",
            request_id=_request_id(response),
        )
    retry_after = retry_after_seconds(response)
    try:
        body = loads(response.content) if response.content else None
    except (ValueError, TypeError, RecursionError):
        body = None
    if status >= 400:
        raise api_error(
            status,
            body if isinstance(body, dict) else None,
            request_id=_request_id(response),
            retry_after=retry_after,
        )
    if not isinstance(body, dict):
        what = "an empty body" if not response.content else "a body that is not a JSON object"
        raise ResponseError(
            f"page {index + 1}: HTTP {status} with {what} ({len(response.content)} bytes); it "
            "may have been cut short in transit",
            request_id=_request_id(response),
            retryable=True,
        )
    if body.get("success") is False or body.get("Success") is False:
        raise api_error(
            status,
            body,
            request_id=_request_id(response, body),
            retry_after=retry_after,
        )
    return body


def _next_token(value: Any, index: int, request_id: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ResponseError(
            f"page {index + 1}: nextToken is {type(value).__name__}, not text",
            request_id=request_id,
        )
    return value


def read_page(response: Any, index: int = 0) -> Page:
    """Read one page of the cost trend endpoint, raising for every kind of error response.

    ``response`` is anything with ``status_code``, ``headers`` and ``content`` (an
    ``httpx.Response`` once read).

    Raises:
        APIError: the service reported an error (by HTTP status or ``success: false``).
        ResponseError: the body is not the promised JSON (``retryable`` when cut short).
    """
    body = _read_envelope(response, index)
    request_id = _request_id(response, body)
    data = body.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ResponseError(
            f"page {index + 1}: data is {type(data).__name__}, not an object",
            request_id=request_id,
        )
    points = data.get("points")
    metrics = data.get("metrics")
    if points is None:
        points = []
    if metrics is None:
        metrics = []
    if not isinstance(points, list) or not isinstance(metrics, list):
        raise ResponseError(
            f"page {index + 1}: data.points and data.metrics must be lists", request_id=request_id
        )
    token = body.get("nextToken", data.get("nextToken"))
    return Page(
        points,
        metrics,
        _next_token(token, index, request_id),
        request_id,
        index,
        server_time(response),
    )


def read_client_page(response: Any, index: int = 0) -> Page:
    """Read one page of the department list; the departments travel as the page's points."""
    body = _read_envelope(response, index)
    request_id = _request_id(response, body)
    data = body.get("data") or {}
    if not isinstance(data, dict):
        raise ResponseError(
            f"page {index + 1} of the department list: data is {type(data).__name__}, "
            "not an object",
            request_id=request_id,
        )
    items = data.get("list") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ResponseError(
            f"page {index + 1} of the department list: data.list must be a list of departments",
            request_id=request_id,
        )
    token = data.get("nextToken", body.get("nextToken"))
    return Page(
        items, [], _next_token(token, index, request_id), request_id, index, server_time(response)
    )


# -- retries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a request again, and how long to wait first.

    Retried: 429, 5xx, timeouts, connection errors and bodies cut short. The wait grows
    exponentially from ``base`` up to ``cap`` with full jitter, and is never shorter than the
    server's ``x-acs-retry-after``.
    """

    max_retries: int = 4
    base: float = 0.5
    cap: float = 8.0

    def should_retry(self, error: CostTrendError, attempt: int) -> bool:
        """True if ``error`` on try number ``attempt`` (0 for the first) deserves another."""
        if attempt >= self.max_retries:
            return False
        if isinstance(error, (ThrottledError, ServerError, TransportError)):
            return True
        if isinstance(error, ResponseError):
            return error.retryable
        return False

    def delay(self, error: CostTrendError, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        backoff = rng.uniform(0, min(self.cap, self.base * 2**attempt))
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            return max(float(retry_after), backoff)
        return backoff


FATAL_ERRORS: tuple[type[CostTrendError], ...] = (APIError,)
"""Errors that stop a whole fetch at once: the service refused the account or the input.
Throttling and server errors that outlive their retries are failures of one series instead."""


def is_fatal(error: BaseException) -> bool:
    """True for errors that no other series would escape (bad credentials, bad parameters)."""
    return isinstance(error, FATAL_ERRORS) and not isinstance(error, (ThrottledError, ServerError))


# -- the flow of one chain ----------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Send ``request``; the whole exchange must end by ``timeout`` seconds from now."""

    request: httpx.Request
    timeout: float


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds`` before going on."""

    seconds: float


Outcome = Any  # a read response (status_code, headers, content), or the CostTrendError met
Flow = Generator["Send | Sleep", Outcome, list[Page]]


def paged_flow(
    make_request: Callable[[str | None], httpx.Request],
    read: Callable[[Any, int], Page],
    *,
    policy: RetryPolicy,
    timeout: float,
    deadline_at: float | None,
    clock: Callable[[], float],
    rng: random.Random,
    label: str = "",
) -> Flow:
    """Follow ``nextToken`` to the last page, retrying each page as ``policy`` allows.

    Yields :class:`Send` (to be answered with the read response or the error met) and
    :class:`Sleep` (answered with None); returns the pages.

    Raises:
        CostTrendError: a page failed for good, a token repeated, or the deadline passed.
    """
    pages: list[Page] = []
    seen: set[str] = set()
    token: str | None = None
    while True:
        attempt = 0
        while True:
            remaining = None if deadline_at is None else deadline_at - clock()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(
                    f"the fetch ran past its deadline before page {len(pages) + 1} of {label}"
                )
            outcome = yield Send(make_request(token), min(timeout, remaining or timeout))
            try:
                if isinstance(outcome, BaseException):
                    raise outcome
                page = read(outcome, len(pages))
                break
            except CostTrendError as error:
                if not policy.should_retry(error, attempt):
                    raise
                wait = policy.delay(error, attempt, rng)
                if deadline_at is not None and clock() + wait >= deadline_at:
                    raise TimeoutError(
                        f"the fetch would run past its deadline retrying {label} "
                        f"(last error: {type(error).__name__}: {error})"
                    ) from error
                log.debug(
                    "retrying %s page %d in %.2fs after %s (try %d of %d)",
                    label,
                    len(pages) + 1,
                    wait,
                    type(error).__name__,
                    attempt + 2,
                    policy.max_retries + 1,
                )
                yield Sleep(wait)
                attempt += 1
        pages.append(page)
        if page.next_token is None:
            return pages
        if page.next_token in seen or page.next_token == token:
            raise ResponseError(
                f"page {len(pages)} of {label}: its nextToken {page.next_token[:40]!r} repeats "
                "an earlier one; the service is paging in a loop",
                request_id=page.request_id,
            )
        if len(pages) >= MAX_PAGES_PER_CHAIN:
            raise ResponseError(
                f"{label} has more than {MAX_PAGES_PER_CHAIN} pages; refusing to go on",
                request_id=page.request_id,
            )
        seen.add(page.next_token)
        token = page.next_token


def translate_transport_error(error: httpx.HTTPError, request: httpx.Request) -> CostTrendError:
    """Our error for an httpx failure (the URL path only: no query, no headers)."""
    where = (
        f"{request.method} {request.url.scheme}://{request.url.netloc.decode()}{request.url.path}"
    )
    if isinstance(error, httpx.TimeoutException):
        return TimeoutError(f"{type(error).__name__} on {where}: no answer in time")
    return TransportError(f"{type(error).__name__} on {where}: {error}")
