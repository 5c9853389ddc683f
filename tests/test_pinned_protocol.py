"""Pages, retries and paging chains of protocol.py whose behaviour no test pinned (issue 16).

Mutation testing of ``costtrend_nb/protocol.py`` found these unpinned: the whole text of each
error a reader may see, the request id each error carries, which response headers count, and
the limits of a chain. Each test fails when one plausible wrong change is made to the module.
"""

from __future__ import annotations

import json
import random
import time

import httpx
import pytest

from costtrend_nb import errors as E
from costtrend_nb import protocol
from costtrend_nb.protocol import (
    RetryPolicy,
    Send,
    Sleep,
    paged_flow,
    read_client_page,
    read_page,
    translate_transport_error,
)
from costtrend_nb.tidy import Page


def _response(body, *, status: int = 200, headers: dict | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers or {})


class _Oversized:
    """A response whose reading stopped at the size cap, as the clients hand it over."""

    status_code = 200
    headers = httpx.Headers({"x-acs-request-id": "cap-1"})
    content = b""
    over_cap = 32 * 1024 * 1024


# -- the whole text of each error a page can raise ----------------------------------------------

PAGE_ERRORS = [
    pytest.param(
        read_page,
        _Oversized(),
        2,
        "page 3 is over 33,554,432 bytes; refused without decoding it (request id: cap-1)",
        id="over the cap",
    ),
    pytest.param(
        read_page,
        _response(b"", headers={"x-acs-request-id": "e-1"}),
        0,
        "page 1: HTTP 200 with an empty body (0 bytes); it may have been cut short in transit "
        "(request id: e-1)",
        id="empty body",
    ),
    pytest.param(
        read_page,
        _response(b'{"success": true, "da'),
        1,
        "page 2: HTTP 200 with a body that is not a JSON object (21 bytes); it may have been "
        "cut short in transit",
        id="cut body",
    ),
    pytest.param(
        read_page,
        _response([1, 2]),
        0,
        "page 1: HTTP 200 with a body that is not a JSON object (6 bytes); it may have been "
        "cut short in transit",
        id="a list, not an object",
    ),
    pytest.param(
        read_page,
        _response({"success": True, "requestId": "n-1", "nextToken": 5, "data": {}}),
        0,
        "page 1: nextToken is int, not text (request id: n-1)",
        id="nextToken a number",
    ),
    pytest.param(
        read_page,
        _response({"success": True, "RequestId": "d-1", "data": [1]}),
        4,
        "page 5: data is list, not an object (request id: d-1)",
        id="data a list",
    ),
    pytest.param(
        read_page,
        _response({"success": True, "data": {"points": {}, "metrics": []}}),
        0,
        "page 1: data.points and data.metrics must be lists",
        id="points an object",
    ),
    pytest.param(
        read_page,
        _response({"success": True, "data": {"points": [], "metrics": "m"}}),
        0,
        "page 1: data.points and data.metrics must be lists",
        id="metrics text",
    ),
    pytest.param(
        read_client_page,
        _response(b"", headers={"x-acs-request-id": "e-2"}),
        2,
        "page 3: HTTP 200 with an empty body (0 bytes); it may have been cut short in transit "
        "(request id: e-2)",
        id="department list: empty body",
    ),
    pytest.param(
        read_client_page,
        _response({"success": True, "requestId": "c-1", "data": "x"}),
        1,
        "page 2 of the department list: data is str, not an object (request id: c-1)",
        id="department list: data text",
    ),
    pytest.param(
        read_client_page,
        _response({"success": True, "requestId": "c-2", "data": {"list": {"id": 1}}}),
        0,
        "page 1 of the department list: data.list must be a list of departments (request id: c-2)",
        id="department list: list an object",
    ),
    pytest.param(
        read_client_page,
        _response({"success": True, "data": {"list": [{"id": 1}, 7]}}),
        0,
        "page 1 of the department list: data.list must be a list of departments",
        id="department list: an item not an object",
    ),
    pytest.param(
        read_client_page,
        _response({"success": True, "requestId": "c-3", "data": {"list": [], "nextToken": ["t"]}}),
        0,
        "page 1: nextToken is list, not text (request id: c-3)",
        id="department list: nextToken a list",
    ),
]


@pytest.mark.parametrize(("read", "response", "index", "message"), PAGE_ERRORS)
def test_each_bad_page_gets_its_whole_message(read, response, index, message):
    with pytest.raises(E.ResponseError) as caught:
        read(response, index)
    assert str(caught.value) == message


@pytest.mark.parametrize("body", [b"[1, 2]", b'"Bad Gateway"', b"<html>502</html>", b""])
def test_an_error_status_with_a_body_that_is_no_object_is_classed_by_its_status(body):
    with pytest.raises(E.ServerError) as caught:
        read_page(_response(body, status=502, headers={"x-acs-request-id": "g-1"}))
    assert (caught.value.code, caught.value.http_status, caught.value.request_id) == (
        None,
        502,
        "g-1",
    )


def test_a_page_read_without_an_index_is_the_first():
    assert read_page(_response({"success": True})).index == 0
    assert read_client_page(_response({"success": True})).index == 0
    for read in (read_page, read_client_page):
        with pytest.raises(E.ResponseError, match=r"^page 1: HTTP 200 with an empty body"):
            read(_response(b""))


def test_only_a_body_cut_short_is_worth_sending_again():
    for response in (_response(b""), _response(b'{"succ'), _response([1])):
        with pytest.raises(E.ResponseError) as caught:
            read_page(response)
        assert caught.value.retryable is True
    for response in (_Oversized(), _response({"success": True, "data": [1]})):
        with pytest.raises(E.ResponseError) as caught:
            read_page(response)
        assert caught.value.retryable is False


# -- what else a page tells: its token, request id, the service's clock, the server's wait ------


@pytest.mark.parametrize(
    ("body", "token"),
    [
        ({"data": {"list": [], "nextToken": "in-data"}}, "in-data"),
        ({"nextToken": "top", "data": {"list": []}}, "top"),
        ({"nextToken": "top", "data": {"list": [], "nextToken": "in-data"}}, "in-data"),
        ({"nextToken": "top", "data": {"list": [], "nextToken": ""}}, None),
        ({"nextToken": "top"}, "top"),
        ({"data": {"list": [{"id": 1}]}}, None),
    ],
)
def test_the_department_list_follows_its_token_in_data_first(body, token):
    page = read_client_page(_response({"success": True, **body}))
    assert page.next_token == token


def test_the_department_list_brings_its_departments_as_points():
    departments = [{"id": 1, "name": "Head office"}, {"id": 7, "name": "Research"}]
    body = {"success": True, "data": {"list": departments}}
    page = read_client_page(_response(body), 3)
    assert page.points == departments and page.metrics == [] and page.index == 3
    for data in (None, {}, {"list": None}):
        page = read_client_page(_response({"success": True, "data": data}))
        assert page.points == [] and page.next_token is None


def test_a_trend_page_with_no_data_is_an_empty_page():
    for data in (None, {}, {"points": None, "metrics": None}):
        page = read_page(_response({"success": True, "data": data}), 2)
        assert (page.points, page.metrics, page.next_token, page.index) == ([], [], None, 2)
    points, metrics = [{"timestamp": 1, "values": "{}"}], [{"key": "total_amount"}]
    page = read_page(_response({"success": True, "data": {"points": points, "metrics": metrics}}))
    assert (page.points, page.metrics) == (points, metrics)


@pytest.mark.parametrize(
    ("body", "headers", "request_id"),
    [
        ({"requestId": "lower", "RequestId": "upper"}, {"x-acs-request-id": "h"}, "lower"),
        ({"RequestId": "upper"}, {"x-acs-request-id": "h"}, "upper"),
        ({"requestId": "", "RequestId": "upper"}, {}, "upper"),
        ({"requestId": 7, "RequestId": "upper"}, {}, "upper"),
        ({"requestId": 7}, {"x-acs-request-id": "h"}, "h"),
        ({"requestId": ""}, {"x-acs-request-id": "h"}, "h"),
        ({}, {"x-acs-request-id": "h"}, "h"),
        ({}, {"x-acs-request-id": ""}, None),
        ({}, {}, None),
    ],
)
def test_the_request_id_comes_from_the_body_then_the_header(body, headers, request_id):
    response = _response({"success": True, **body}, headers=headers)
    assert read_page(response).request_id == request_id
    assert read_client_page(response).request_id == request_id


def test_an_error_response_names_the_header_request_id():
    with pytest.raises(E.ServerError) as caught:
        read_page(_response({"code": "X"}, status=503, headers={"x-acs-request-id": "h-5"}))
    assert caught.value.request_id == "h-5"
    refused = {"success": False, "code": "B.Permission.DeniedException"}
    with pytest.raises(E.AuthError) as caught:
        read_page(_response(refused, headers={"x-acs-request-id": "h-6"}))
    assert caught.value.request_id == "h-6"
    with pytest.raises(E.ResponseError) as caught:
        read_page(_Oversized())
    assert caught.value.request_id == "cap-1"


@pytest.mark.parametrize(
    ("date", "served_at"),
    [
        ("Wed, 18 Nov 2026 11:06:40 GMT", 1_795_000_000.0),
        ("Sat, 01 Jan 2000 00:00:00 GMT", 946_684_800.0),  # the first second trusted
        ("Fri, 31 Dec 1999 23:59:59 GMT", None),
        ("Tue, 31 Dec 2199 23:59:59 GMT", 7_258_118_399.0),  # the last second trusted
        ("Wed, 01 Jan 2200 00:00:00 GMT", None),
        ("", None),
        ("yesterday", None),
        ("Wed, 18 Nov 2026 11:06:40", 1_795_000_000.0),  # no zone: read as UTC
    ],
)
def test_the_service_clock_is_the_date_header_within_2000_to_2200(date, served_at):
    headers = {"date": date} if date else {}
    response = _response({"success": True}, headers=headers)
    assert read_page(response).served_at == served_at
    assert read_client_page(response).served_at == served_at


@pytest.fixture
def shanghai_clock(monkeypatch):
    """This process's local time zone set to UTC+8 for the test, then put back."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("zone", [" GMT", " +0000", " -0000", ""])
def test_a_date_without_a_zone_is_read_as_utc_whatever_the_local_clock(zone, shanghai_clock):
    # a defect found by mutation testing: "-0000" (RFC 5322: UTC) or no zone at all was read
    # in the local time zone, so east of Greenwich the service's clock fell hours behind
    response = _response({"success": True}, headers={"date": "Wed, 18 Nov 2026 11:06:40" + zone})
    assert read_page(response).served_at == 1_795_000_000.0


@pytest.mark.parametrize(
    ("header", "retry_after"),
    [
        ("1500", 1.5),
        ("250.5", 0.2505),
        ("0.5", 0.0005),
        ("0", None),
        ("-3", None),
        ("soon", None),
        ("inf", None),  # a defect found here: the wait crashed the sleep (OverflowError)
        ("1e400", None),
        ("nan", None),
        (None, None),
    ],
)
def test_the_server_wait_is_read_in_milliseconds_when_positive(header, retry_after):
    headers = {} if header is None else {"x-acs-retry-after": header}
    with pytest.raises(E.ThrottledError) as caught:
        read_page(_response({"code": "Throttling"}, status=429, headers=headers))
    assert caught.value.retry_after == retry_after
    body = {"success": False, "code": "Throttling.User"}
    with pytest.raises(E.ThrottledError) as caught:
        read_page(_response(body, headers=headers))  # HTTP 200 that says no
    assert caught.value.retry_after == retry_after


# -- the request --------------------------------------------------------------------------------


def test_each_page_is_a_get_for_json_naming_its_action_and_the_previous_token():
    endpoint = httpx.URL("https://example.invalid")
    first = protocol.build_request(endpoint, "/p", "Act", {"a": "1"})
    later = protocol.build_request(endpoint, "/p", "Act", {"a": "1"}, "tok/2")
    empty = protocol.build_request(endpoint, "/p", "Act", {"a": "1"}, "")
    for request in (first, later, empty):
        assert request.method == "GET"
        assert request.url.path == "/p"
        assert request.headers["accept"] == "application/json"
        assert request.headers["x-acs-action"] == "Act"
    assert dict(first.url.params) == dict(empty.url.params) == {"a": "1"}
    assert dict(later.url.params) == {"a": "1", "nextToken": "tok/2"}


# -- retries ------------------------------------------------------------------------------------


class _Bottom(random.Random):
    """A 'random' source whose uniform(a, b) is always a: the backoff's lower bound."""

    def uniform(self, a: float, b: float) -> float:
        return a


class _Top(random.Random):
    """A 'random' source whose uniform(a, b) is always b: the backoff's upper bound."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_backoff_has_full_jitter_from_zero():
    policy = RetryPolicy()
    assert [policy.delay(E.ServerError("x"), n, _Bottom()) for n in range(3)] == [0, 0, 0]


def test_the_default_backoff_is_half_a_second_doubling_up_to_eight():
    policy = RetryPolicy()
    assert policy.max_retries == 4
    waits = [policy.delay(E.TransportError("x"), n, _Top()) for n in range(6)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


RETRIED = [
    E.ThrottledError("Throttling"),
    E.ServerError("Server.Internal.UnknownError"),
    E.TransportError("reset"),
    E.TimeoutError("slow"),
    E.ResponseError("cut", retryable=True),
]
NOT_RETRIED = [
    E.ResponseError("wrong"),
    E.APIError("odd"),
    E.BadRequestError("InvalidParameter"),
    E.AuthError("B.Permission.DeniedException"),
    E.OrgNotFoundError("B.Permission.OrgNoExistException"),
    E.QueryError("bad"),
]


@pytest.mark.parametrize("error", RETRIED, ids=lambda e: type(e).__name__)
def test_transient_errors_are_retried_until_the_last_try(error):
    policy = RetryPolicy(max_retries=2)
    assert [policy.should_retry(error, n) for n in range(4)] == [True, True, False, False]


@pytest.mark.parametrize("error", NOT_RETRIED, ids=lambda e: type(e).__name__)
def test_refusals_and_wrong_answers_are_never_retried(error):
    assert not RetryPolicy().should_retry(error, 0)


@pytest.mark.parametrize(
    ("error", "fatal"),
    [
        (E.BadRequestError("InvalidParameter"), True),
        (E.AuthError("B.Permission.DeniedException"), True),
        (E.OrgNotFoundError("B.Permission.OrgNoExistException"), True),
        (E.APIError("odd"), True),
        (E.ThrottledError("Throttling"), False),
        (E.ServerError("Server.Internal.UnknownError"), False),
        (E.TransportError("reset"), False),
        (E.ResponseError("wrong"), False),
        (ValueError("x"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_only_a_refusal_by_the_service_stops_the_whole_fetch(error, fatal):
    assert protocol.is_fatal(error) is fatal


# -- a chain of pages ---------------------------------------------------------------------------


def _flow(
    reads,
    *,
    policy=None,
    deadline_at=None,
    clock=lambda: 0.0,
    rng=None,
    timeout=10.0,
    label="Chat",
):
    """Drive paged_flow: each read is a Page, or an error the send or the read met.

    Returns the steps it yielded and the pages (or the error) it ended with.
    """
    answers = iter(reads)
    steps: list[Send | Sleep] = []

    def read(response, index):
        if isinstance(response, Page):
            return response
        raise response

    flow = paged_flow(
        lambda token: httpx.Request("GET", "https://example.invalid/", params={"t": token or ""}),
        read,
        policy=policy or RetryPolicy(),
        timeout=timeout,
        deadline_at=deadline_at,
        clock=clock,
        rng=rng or _Top(),
        label=label,
    )
    try:
        step = next(flow)
        for _ in range(50):  # a wrong flow may never end
            steps.append(step)
            answer = next(answers) if isinstance(step, Send) else None
            step = flow.send(answer)
        raise AssertionError("the flow did not end")
    except StopIteration as done:
        return steps, done.value
    except E.CostTrendError as error:
        return steps, error


def _kinds(steps) -> str:
    return "".join("S" if isinstance(s, Send) else "z" for s in steps)


def test_each_page_gets_its_own_retries():
    pages = [Page([], next_token="A"), Page([], next_token=None)]
    boom = E.ServerError("boom")
    steps, result = _flow([boom, pages[0], boom, pages[1]], policy=RetryPolicy(max_retries=1))
    assert result == pages
    assert _kinds(steps) == "SzSSzS"
    assert [s.request.url.params["t"] for s in steps if isinstance(s, Send)] == ["", "", "A", "A"]


def test_the_first_request_is_made_without_a_token_and_each_next_with_the_last_one():
    tokens: list[str | None] = []

    def make_request(token):
        tokens.append(token)
        return httpx.Request("GET", "https://example.invalid/")

    flow = paged_flow(
        make_request,
        lambda response, index: response,
        policy=RetryPolicy(),
        timeout=1.0,
        deadline_at=None,
        clock=lambda: 0.0,
        rng=random.Random(0),
    )
    next(flow)
    flow.send(Page([], next_token="A"))
    with pytest.raises(StopIteration):
        flow.send(Page([]))
    assert tokens == [None, "A"]


def test_retries_stop_after_max_retries_with_the_last_error():
    errors = [E.ServerError(f"boom {n}") for n in range(5)]
    steps, result = _flow(errors, policy=RetryPolicy(max_retries=2))
    assert result is errors[2]
    assert _kinds(steps) == "SzSzS"
    assert [s.seconds for s in steps if isinstance(s, Sleep)] == [0.5, 1.0]


def test_a_wrong_answer_is_not_sent_again():
    error = E.ResponseError("wrong")
    steps, result = _flow([error, Page([])])
    assert result is error and _kinds(steps) == "S"


def test_without_a_deadline_each_send_gets_the_whole_timeout():
    steps, _ = _flow([Page([])], timeout=2.5)
    assert steps[0].timeout == 2.5


def test_a_deadline_reached_stops_before_sending():
    steps, result = _flow([Page([])], deadline_at=5.0, clock=lambda: 5.0, label="Chat, 7")
    assert steps == []
    assert isinstance(result, E.TimeoutError)
    assert str(result) == "the fetch ran past its deadline before page 1 of Chat, 7"


def test_the_deadline_is_checked_again_before_each_page():
    now = [0.0]

    def first_page_takes_all_the_time():
        for page in (Page([], next_token="A"), Page([])):
            now[0] += 3.0
            yield page

    steps, result = _flow(first_page_takes_all_the_time(), deadline_at=3.0, clock=lambda: now[0])
    assert _kinds(steps) == "S"
    assert str(result) == "the fetch ran past its deadline before page 2 of Chat"


def test_a_retry_whose_wait_reaches_the_deadline_is_not_waited_for():
    error = E.TransportError("connection reset")
    steps, result = _flow([error, Page([])], deadline_at=0.5, clock=lambda: 0.0)  # waits 0.5
    assert _kinds(steps) == "S"
    assert isinstance(result, E.TimeoutError) and result.__cause__ is error
    assert str(result) == (
        "the fetch would run past its deadline retrying Chat "
        "(last error: TransportError: connection reset)"
    )
    steps, result = _flow([error, Page([])], deadline_at=0.51, clock=lambda: 0.0)
    assert _kinds(steps) == "SzS" and result == [Page([])]


def test_each_retry_is_logged_for_whoever_debugs(caplog):
    caplog.set_level("DEBUG", logger="costtrend_nb")
    pages = [Page([], next_token="A"), Page([])]
    _flow([pages[0], E.ThrottledError("Throttling"), pages[1]], label="TTS")
    assert caplog.messages == ["retrying TTS page 2 in 0.50s after ThrottledError (try 2 of 5)"]


def test_a_repeated_token_names_the_page_the_token_and_the_request():
    token = "T" * 50
    pages = [
        Page([], next_token=token, request_id="r1"),
        Page([], next_token=token, request_id="r2"),
    ]
    _, result = _flow(pages, label="Chat")
    assert isinstance(result, E.ResponseError) and result.request_id == "r2"
    assert str(result) == (
        f"page 2 of Chat: its nextToken {'T' * 40!r} repeats an earlier one; the service is "
        "paging in a loop (request id: r2)"
    )


def test_a_chain_longer_than_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(protocol, "MAX_PAGES_PER_CHAIN", 3)
    pages = [Page([], next_token=t, request_id=f"r{t}") for t in "ABCDE"]
    _, result = _flow(pages, label="Chat")
    assert isinstance(result, E.ResponseError)
    assert str(result) == "Chat has more than 3 pages; refusing to go on (request id: rC)"
    _, result = _flow([*pages[:2], Page([])])
    assert len(result) == 3  # the limit itself is allowed


# -- transport failures -------------------------------------------------------------------------


def test_a_transport_failure_names_the_request_without_its_query():
    request = httpx.Request("GET", "https://example.invalid:8443/api/p?secretish=1&x=2")
    error = translate_transport_error(httpx.ConnectError("refused", request=request), request)
    assert type(error) is E.TransportError
    assert str(error) == "ConnectError on GET https://example.invalid:8443/api/p: refused"
    error = translate_transport_error(httpx.ReadTimeout("timed out", request=request), request)
    assert type(error) is E.TimeoutError
    assert str(error) == "ReadTimeout on GET https://example.invalid:8443/api/p: no answer in time"
