"""Signing behaviours that mutation testing found unpinned (issue 16): header values trimmed,
the method upper-cased, ``x-acs-date`` in UTC whatever the clock's or the machine's zone, stale
STS headers dropped when signing with plain keys, ``profile=`` over ``ALIBABA_CLOUD_PROFILE``,
and the content hash of a non-empty body; then async signing (plain keys on the event loop,
refreshable credentials on a daemon thread, a late answer after the loop closed), the signing
error's text and the auth's repr.

The async tests bound every wait: a mutant that loses the thread's answer fails them in
seconds instead of hanging until mutmut's timeout."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import threading
import time

import httpx
import pytest

from costtrend_nb import Credentials
from costtrend_nb.auth import EMPTY_SHA256, AcsV3Auth, authorization, canonical_request
from costtrend_nb.errors import CostTrendError

KEY_ID, SECRET = "AKIDexample1234567", "s3cr3t-Value/+=="
URL = "https://aicontent.aliyuncs.com/api/v1/modelRouter/open/billing/cost/trend?startTime=1"
NONCE = "0123456789abcdef0123456789abcdef"


def _sign(request: httpx.Request, creds: Credentials | None = None, **kw) -> httpx.Request:
    kw.setdefault("clock", lambda: dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC))
    auth = AcsV3Auth(creds or Credentials(KEY_ID, SECRET), action="A", nonce=lambda: NONCE, **kw)
    return next(auth.auth_flow(request))


def test_header_values_are_trimmed_and_the_method_upper_cased():
    text = canonical_request(
        "get",
        "/p",
        [],
        {"Host": "  example.com ", "x-acs-date": "\tD "},
        ["host", "x-acs-date"],
        "h",
    )
    assert text == "GET\n/p\n\nhost:example.com\nx-acs-date:D\n\nhost;x-acs-date\nh"


def test_a_lower_case_method_signs_like_the_upper_case_one():
    lower = _sign(httpx.Request("get", URL)).headers["authorization"]
    upper = _sign(httpx.Request("GET", URL)).headers["authorization"]
    assert lower == upper


def test_the_date_is_sent_in_utc_whatever_zone_the_clock_gives():
    shanghai = dt.timezone(dt.timedelta(hours=8))
    request = _sign(
        httpx.Request("GET", URL), clock=lambda: dt.datetime(2026, 11, 28, 11, 0, tzinfo=shanghai)
    )
    assert request.headers["x-acs-date"] == "2026-11-28T03:00:00Z"


def test_the_default_clock_is_utc_whatever_the_machines_zone(monkeypatch):
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX only")
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30, no DST
    time.tzset()
    try:
        auth = AcsV3Auth(Credentials(KEY_ID, SECRET), action="A")
        sent = next(auth.auth_flow(httpx.Request("GET", URL))).headers["x-acs-date"]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    when = dt.datetime.strptime(sent, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert abs((when - dt.datetime.now(dt.UTC)).total_seconds()) < 60


def test_plain_keys_drop_stale_sts_headers_left_on_the_request():
    stale = httpx.Request(
        "GET", URL, headers={"x-acs-security-token": "old-token", "x-acs-accesskey-id": "old-id"}
    )
    signed = _sign(stale, Credentials(KEY_ID, SECRET))
    assert "x-acs-security-token" not in signed.headers
    assert "x-acs-accesskey-id" not in signed.headers
    assert "security-token" not in signed.headers["authorization"]
    sts = _sign(httpx.Request("GET", URL), Credentials(KEY_ID, SECRET, "new-token"))
    assert sts.headers["x-acs-security-token"] == "new-token"


def test_a_non_empty_body_is_hashed_and_signed():
    body = b'{"a": 1}'
    signed = _sign(httpx.Request("POST", URL, content=body))
    assert (
        signed.headers["x-acs-content-sha256"] == hashlib.sha256(body).hexdigest() != EMPTY_SHA256
    )
    other = _sign(httpx.Request("POST", URL, content=b'{"a": 2}'))
    assert other.headers["authorization"] != signed.headers["authorization"]
    assert _sign(httpx.Request("GET", URL)).headers["x-acs-content-sha256"] == EMPTY_SHA256


def test_the_profile_argument_wins_over_the_environment(tmp_path, monkeypatch):
    def profile(name: str) -> dict:
        return {
            "name": name,
            "mode": "AK",
            "access_key_id": f"{name}-id-123456",
            "access_key_secret": "s",
        }

    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"current": "a", "profiles": [profile("a"), profile("b"), profile("c")]})
    )
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "b")
    assert Credentials.from_cli_config(config, profile="c").access_key_id == "c-id-123456"
    assert Credentials.from_cli_config(config).access_key_id == "b-id-123456"
    monkeypatch.delenv("ALIBABA_CLOUD_PROFILE")
    assert Credentials.from_cli_config(config).access_key_id == "a-id-123456"


# survivors of mutation testing in auth.py (docs/mutation.md)


def test_content_type_is_signed_and_an_empty_path_signs_as_root():
    request = _sign(
        httpx.Request("POST", URL, content=b"{}", headers={"content-type": "application/json"})
    )
    names = request.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert names[0] == "content-type" and "host" in names
    assert canonical_request("GET", "", [], {}, [], "h").split("\n")[:2] == ["GET", "/"]


def test_the_action_fills_a_missing_header_only():
    plain = next(AcsV3Auth(Credentials(KEY_ID, SECRET)).auth_flow(httpx.Request("GET", URL)))
    assert "x-acs-action" not in plain.headers
    given = _sign(httpx.Request("GET", URL, headers={"x-acs-action": "Other"}))
    assert given.headers["x-acs-action"] == "Other"


def test_the_signature_covers_the_body_hash():
    signed = _sign(httpx.Request("POST", URL, content=b"body"))
    headers = {k: v for k, v in signed.headers.items() if k != "authorization"}
    expected = authorization(
        "POST",
        signed.url.path,
        signed.url.params.multi_items(),
        headers,
        access_key_id=KEY_ID,
        access_key_secret=SECRET,
        payload_hash=hashlib.sha256(b"body").hexdigest(),
    )
    assert signed.headers["authorization"] == expected


class _Failing(Credentials):
    __slots__ = ("error",)
    error: Exception

    def __init__(self, error: Exception) -> None:
        super().__init__(KEY_ID, SECRET)
        object.__setattr__(self, "error", error)

    def current(self) -> Credentials:
        raise self.error


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (CostTrendError("the token expired"), "^the token expired$"),
        (RuntimeError("boom"), "^the credential provider failed: RuntimeError: boom$"),
    ],
)
def test_a_failing_credential_provider_is_named_in_the_error(error, message):
    auth = AcsV3Auth(_Failing(error), action="A")
    with pytest.raises(CostTrendError, match=message):
        next(auth.auth_flow(httpx.Request("GET", URL)))

    with pytest.raises(CostTrendError, match=message):
        asyncio.run(_sign_async(auth, httpx.Request("GET", URL)))


class _Renewing(Credentials):
    """Refreshable credentials (``current`` overridden): records the thread each call runs on."""

    __slots__ = ("threads",)
    threads: list[threading.Thread]

    def __init__(self) -> None:
        super().__init__(KEY_ID, SECRET)
        object.__setattr__(self, "threads", [])

    def current(self) -> Credentials:
        self.threads.append(threading.current_thread())
        return Credentials(KEY_ID, SECRET, "renewed-token")


def test_refreshable_credentials_sign_async_requests_on_a_daemon_thread_off_the_loop():
    """A refresh may block (a metadata service): it runs on a named daemon thread of its own,
    so that a call that never returns cannot hold up the end of the interpreter."""
    creds = _Renewing()
    auth = AcsV3Auth(creds, action="A", nonce=lambda: NONCE)
    signed = asyncio.run(_sign_async(auth, httpx.Request("GET", URL)))
    assert signed.headers["x-acs-security-token"] == "renewed-token"
    assert signed.headers["authorization"].startswith("ACS3-HMAC-SHA256 Credential=" + KEY_ID)
    [thread] = creds.threads
    assert thread is not threading.main_thread()
    assert (thread.name, thread.daemon) == ("costtrend-credentials", True)


# survivors of mutation testing in auth.py, second round (docs/mutation.md)


async def _sign_async(auth: AcsV3Auth, request: httpx.Request) -> httpx.Request:
    # bounded: a signing thread that never answers fails the test in seconds, not by hanging
    return await asyncio.wait_for(auth.async_auth_flow(request).__anext__(), timeout=10)


def test_plain_keys_sign_async_requests_on_the_loop_exactly_as_sync_ones():
    """Plain keys never block: they are signed on the event loop's own thread, with the same
    headers as the sync flow."""
    threads = []

    def clock() -> dt.datetime:
        threads.append(threading.current_thread())
        return dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)

    request = httpx.Request("POST", URL, content=b'{"a": 1}')
    signed = asyncio.run(
        _sign_async(
            AcsV3Auth(Credentials(KEY_ID, SECRET), action="A", clock=clock, nonce=lambda: NONCE),
            request,
        )
    )
    assert threads == [threading.main_thread()]
    expected = _sign(httpx.Request("POST", URL, content=b'{"a": 1}'))
    assert dict(signed.headers) == dict(expected.headers)
    assert signed.headers["x-acs-content-sha256"] == hashlib.sha256(b'{"a": 1}').hexdigest()


def test_a_provider_answering_after_the_loop_closed_neither_holds_it_up_nor_raises():
    """A deadline gave up on a slow refresh: ``asyncio.run`` returns while the provider still
    runs, and its late answer, which has no loop to go to, is dropped without an error."""
    started, release, threads = threading.Event(), threading.Event(), []

    class _Slow(Credentials):
        __slots__ = ()

        def current(self) -> Credentials:
            threads.append(threading.current_thread())
            started.set()
            release.wait(10)
            return Credentials(KEY_ID, SECRET, "late-token")

    async def give_up() -> None:
        flow = AcsV3Auth(_Slow(KEY_ID, SECRET), action="A").async_auth_flow(
            httpx.Request("GET", URL)
        )
        await asyncio.wait_for(flow.__anext__(), timeout=0.05)

    errors: list[threading.ExceptHookArgs] = []
    hook, threading.excepthook = threading.excepthook, errors.append
    try:
        with pytest.raises(TimeoutError):
            asyncio.run(give_up())
        assert started.wait(10)
        [thread] = threads
        assert thread.is_alive()  # asyncio.run did not wait for it
        release.set()
        thread.join(10)
    finally:
        threading.excepthook = hook
    assert not thread.is_alive() and errors == []


def test_a_request_that_cannot_be_signed_says_which_and_why():
    def broken_clock() -> dt.datetime:
        raise ValueError("no time")

    with pytest.raises(CostTrendError) as err:
        _sign(httpx.Request("GET", URL), clock=broken_clock)
    assert str(err.value) == (
        "the request to /api/v1/modelRouter/open/billing/cost/trend could not be signed "
        "(ValueError)"
    )
    assert err.value.__context__ is None and err.value.__cause__ is None


def test_a_signed_header_the_request_lacks_is_signed_empty():
    assert canonical_request("GET", "/", [], {}, ["host"], "h") == "GET\n/\n\nhost:\n\nhost\nh"


def test_the_auths_repr_names_its_credentials_and_action_only():
    creds = Credentials(KEY_ID, SECRET, "token")
    assert repr(AcsV3Auth(creds, action="A")) == f"AcsV3Auth({creds!r}, action='A')"
    assert repr(AcsV3Auth(creds)) == f"AcsV3Auth({creds!r}, action=None)"
    unset = AcsV3Auth.__new__(AcsV3Auth)  # a traceback may show one whose __init__ failed
    assert repr(unset) == "AcsV3Auth(None, action=None)"
