"""Signing behaviours that mutation testing found unpinned (issue 16): header values trimmed,
the method upper-cased, ``x-acs-date`` in UTC whatever the clock's or the machine's zone, stale
STS headers dropped when signing with plain keys, ``profile=`` over ``ALIBABA_CLOUD_PROFILE``,
and the content hash of a non-empty body."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
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

    async def sign_async() -> None:
        await auth.async_auth_flow(httpx.Request("GET", URL)).__anext__()

    with pytest.raises(CostTrendError, match=message):
        asyncio.run(sign_async())


class _Renewing(Credentials):
    __slots__ = ()

    def current(self) -> Credentials:
        return Credentials(KEY_ID, SECRET, "renewed-token")


def test_refreshable_credentials_sign_async_requests_off_the_event_loop():
    auth = AcsV3Auth(_Renewing(KEY_ID, SECRET), action="A", nonce=lambda: NONCE)

    async def sign_async() -> httpx.Request:
        return await auth.async_auth_flow(httpx.Request("GET", URL)).__anext__()

    signed = asyncio.run(sign_async())
    assert signed.headers["x-acs-security-token"] == "renewed-token"
    assert signed.headers["authorization"].startswith("ACS3-HMAC-SHA256 Credential=" + KEY_ID)
