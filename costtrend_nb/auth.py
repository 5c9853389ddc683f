"""Alibaba Cloud signature V3 as an ``httpx.Auth``, over the :class:`Credentials` of
:mod:`costtrend_nb.credentials` (re-exported here with :class:`Secret`).

Signing follows the vendor SDK (``alibabacloud-tea-openapi``) to the byte: the canonical query
sorts the raw keys and percent-encodes values with only ``A-Za-z0-9-_.~`` kept; signed headers
are ``host``, ``content-type`` and every ``x-acs-*`` header.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import threading
import uuid
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping
from urllib.parse import quote

import httpx

from .credentials import Credentials, Secret
from .errors import CostTrendError

__all__ = [
    "ALGORITHM",
    "Secret",
    "API_VERSION",
    "AcsV3Auth",
    "Credentials",
    "authorization",
    "canonical_query",
    "canonical_request",
]

ALGORITHM = "ACS3-HMAC-SHA256"
API_VERSION = "20240611"


def _reveal(value: str | Secret) -> str:
    return value.reveal() if isinstance(value, Secret) else value


# -- signature V3 -----------------------------------------------------------------------------


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


EMPTY_SHA256 = _sha256_hex(b"")


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """The canonical query string: raw keys sorted, values percent-encoded (RFC 3986).

    Example:
        >>> canonical_query([("b", "x y"), ("a", "1,2~")])
        'a=1%2C2~&b=x%20y'
    """
    return "&".join(f"{k}={quote(v, safe='~')}" for k, v in sorted(params))


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    """The headers this client signs: ``host``, ``content-type`` and every ``x-acs-*``."""
    names = {name.lower() for name in headers}
    return sorted(n for n in names if n in ("host", "content-type") or n.startswith("x-acs-"))


def canonical_request(
    method: str,
    path: str,
    params: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    payload_hash: str,
) -> str:
    """The canonical request of signature V3 over the named ``signed_headers``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    names = sorted(signed_headers)
    block = "".join(f"{n}:{str(lowered.get(n, '')).strip()}\n" for n in names)
    return "\n".join(
        [method.upper(), path or "/", canonical_query(params), block, ";".join(names), payload_hash]
    )


def signature(secret: str | Secret, canonical: str) -> str:
    """Hex HMAC-SHA256 over the string to sign of a canonical request."""
    to_sign = f"{ALGORITHM}\n{_sha256_hex(canonical.encode('utf-8'))}"
    return hmac.new(
        _reveal(secret).encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def authorization(
    method: str,
    path: str,
    params: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    *,
    access_key_id: str,
    access_key_secret: str | Secret,
    signed_headers: Iterable[str] | None = None,
    payload_hash: str = EMPTY_SHA256,
) -> str:
    """The ``Authorization`` header value for a request (signature V3, ACS3-HMAC-SHA256).

    Example:
        >>> authorization("GET", "/", [], {"host": "example.com"},
        ...               access_key_id="id", access_key_secret="secret")[:53]
        'ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Sig'
    """
    names = list(signed_headers) if signed_headers is not None else signed_header_names(headers)
    canonical = canonical_request(method, path, params, headers, names, payload_hash)
    return (
        f"{ALGORITHM} Credential={access_key_id},SignedHeaders={';'.join(sorted(names))},"
        f"Signature={signature(access_key_secret, canonical)}"
    )


async def _in_daemon_thread(
    fn: Callable[[httpx.Request], str | None], request: httpx.Request
) -> str | None:
    """``fn(request)`` on a thread of its own. Unlike ``asyncio.to_thread`` the thread is a
    daemon: a call that never returns (a deadline gave up on it) cannot hold up the end of
    ``asyncio.run`` or of the interpreter."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str | None] = loop.create_future()

    def settle(result: str | None) -> None:
        if not done.done():
            done.set_result(result)

    def run() -> None:
        result = fn(request)
        with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
            loop.call_soon_threadsafe(settle, result)

    threading.Thread(target=run, name="costtrend-credentials", daemon=True).start()
    return await done


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_nonce() -> str:
    return uuid.uuid4().hex


class AcsV3Auth(httpx.Auth):
    """Sign httpx requests with Alibaba Cloud signature V3 (``ACS3-HMAC-SHA256``).

    Every request, retries included, gets a fresh ``x-acs-date`` and nonce. ``action`` and
    ``version`` fill ``x-acs-action``/``x-acs-version`` when the request does not set them.

    Example:
        >>> auth = AcsV3Auth(Credentials("AKIDexample1234", "secret"),
        ...                  action="ModelRouterQueryCostTrendMetrics")
        >>> r = httpx.Request("GET", "https://aicontent.aliyuncs.com/api/v1/x?b=2&a=1")
        >>> signed = next(auth.auth_flow(r))
        >>> signed.headers["authorization"].split(",")[0]
        'ACS3-HMAC-SHA256 Credential=AKIDexample1234'
    """

    requires_request_body = True

    def __init__(
        self,
        credentials: Credentials,
        *,
        action: str | None = None,
        version: str = API_VERSION,
        clock: Callable[[], dt.datetime] = _utc_now,
        nonce: Callable[[], str] = _new_nonce,
    ) -> None:
        self.credentials = credentials
        self.action = action
        self.version = version
        self._clock = clock
        self._nonce = nonce

    def __repr__(self) -> str:
        credentials = getattr(self, "credentials", None)
        return f"AcsV3Auth({credentials!r}, action={getattr(self, 'action', None)!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        problem = self._sign(request)
        if problem is not None:  # raised outside any handler: no frame of signing is chained
            raise CostTrendError(problem)
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        if type(self.credentials).current is Credentials.current:
            problem = self._sign(request)
        else:  # a refresh may block (a metadata service): keep the event loop free meanwhile
            problem = await _in_daemon_thread(self._sign, request)
        if problem is not None:
            raise CostTrendError(problem)
        yield request

    def _sign(self, request: httpx.Request) -> str | None:
        """Sign ``request`` in place; what went wrong, or None. Never raises, so that no frame
        holding the token or the string to sign ever travels with an exception."""
        try:
            creds = self.credentials.current()
        except CostTrendError as err:
            return str(err)
        except Exception as err:
            return f"the credential provider failed: {type(err).__name__}: {err}"
        try:
            self._sign_with(request, creds)
        except Exception as err:
            return f"the request to {request.url.path} could not be signed ({type(err).__name__})"
        return None

    def _sign_with(self, request: httpx.Request, creds: Credentials) -> None:
        headers = request.headers
        if self.action and "x-acs-action" not in headers:
            headers["x-acs-action"] = self.action
        headers.setdefault("x-acs-version", self.version)
        headers["x-acs-date"] = self._clock().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers["x-acs-signature-nonce"] = self._nonce()
        payload_hash = _sha256_hex(request.content)
        headers["x-acs-content-sha256"] = payload_hash
        if creds.security_token:
            headers["x-acs-accesskey-id"] = creds.access_key_id
            headers["x-acs-security-token"] = creds.security_token.reveal()
        else:
            for stale in ("x-acs-accesskey-id", "x-acs-security-token"):
                headers.pop(stale, None)
        headers["Authorization"] = authorization(
            request.method,
            request.url.path,
            request.url.params.multi_items(),
            dict(headers.items()),
            access_key_id=creds.access_key_id,
            access_key_secret=creds.access_key_secret,
            payload_hash=payload_hash,
        )
