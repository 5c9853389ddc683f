"""Credentials, where to find them, and Alibaba Cloud signature V3 as an ``httpx.Auth``.

Credentials are resolved in this order (:meth:`Credentials.resolve`):

1. the ``Credentials`` passed in;
2. ``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` (and
   ``ALIBABA_CLOUD_SECURITY_TOKEN`` for STS);
3. the current profile of ``~/.aliyun/config.json`` (``ALIBABA_CLOUD_PROFILE`` picks another),
   in ``AK`` or ``StsToken`` mode.

The vendor's full chain (ECS RAM role, OIDC, ...) probes a cloud metadata address, so it is used
only when asked for: :meth:`Credentials.from_vendor_chain`.

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
import json
import os
import threading
import unicodedata
import uuid
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from .errors import CostTrendError, QueryError

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
ENV_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"
ENV_PROFILE = "ALIBABA_CLOUD_PROFILE"
CLI_CONFIG = Path("~/.aliyun/config.json")


def _mask(text: str) -> str:
    if len(text) <= 8:
        return "***"
    return f"{text[:4]}…{text[-3:]}"


class Secret:
    """A credential value that never shows itself: ``repr`` and ``str`` are masked, it cannot be
    pickled, and :meth:`reveal` unwraps it, which only signing does.

    Example:
        >>> token = Secret("not-shown")
        >>> token, f"{token}"
        (Secret('***'), "Secret('***')")
        >>> token == "not-shown"
        True
    """

    __slots__ = ("_value",)
    _value: Any

    def __init__(self, value: Any) -> None:
        # never raises: a raw value must not sit in the local of a frame an error leaves
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The raw value, for the signature and the token header only."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        mine = self._value
        theirs = other._value if isinstance(other, Secret) else other
        if not (isinstance(mine, str) and isinstance(theirs, str)):
            return NotImplemented if not isinstance(other, Secret) else mine is theirs
        return hmac.compare_digest(
            mine.encode("utf-8", "surrogatepass"), theirs.encode("utf-8", "surrogatepass")
        )

    def __hash__(self) -> int:
        return hash(
            ("Secret", hashlib.sha256(str(self._value).encode("utf-8", "surrogatepass")).digest())
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Secret cannot be changed")

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(
            "a Secret cannot be pickled: credentials stay in the process that read them. "
            "Give each process its credentials from the environment or ~/.aliyun instead."
        )

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: Any) -> Secret:
        return self


def _reveal(value: str | Secret) -> str:
    return value.reveal() if isinstance(value, Secret) else value


def _header_problem(name: str, value: Any, *, show: bool, spaces: bool) -> str | None:
    """Why ``value`` cannot travel in an HTTP header or a signature, or None if it can.

    ``show`` names the offending character (never for a secret); ``spaces`` allows inner
    spaces (header values may hold them; the key id, inside ``Authorization``, may not)."""
    if not isinstance(value, str):
        return f"{name} must be a string, not {type(value).__name__}"
    lowest = "\x20" if spaces else "\x21"
    for position, char in enumerate(value):
        if not lowest <= char <= "\x7e":
            what = unicodedata.name(char, "a control character") if show else "a character"
            return (
                f"{name} holds {what} (U+{ord(char):04X}) at position {position + 1} that cannot "
                "be sent in an HTTP header: keys are printable ASCII. It was probably copied "
                "with an invisible character or a space; copy it again"
            )
    return None


def _credentials_problem(
    key_id: Any, secret: Secret, token: Secret | None, source: str
) -> str | None:
    """What is wrong with a key pair (naming no secret), or None."""
    missing = [
        name
        for name, value in (("access_key_id", key_id), ("access_key_secret", secret.reveal()))
        if not isinstance(value, str) or not value.strip()
    ]
    if missing:
        return (
            f"credentials from {source} lack {' and '.join(missing)}: give both the access key "
            "id and its secret."
        )
    if token is not None and not isinstance(token.reveal(), str):
        return "security_token must be a string (the STS token) or None."
    problems = [
        _header_problem("access_key_id", key_id, show=True, spaces=False),
        _header_problem("access_key_secret", secret.reveal(), show=False, spaces=True),
        (
            _header_problem("security_token", token.reveal(), show=False, spaces=True)
            if token is not None
            else None
        ),
    ]
    found = next((p for p in problems if p), None)
    return f"credentials from {source}: {found}." if found else None


class Credentials:
    """An access key pair, with an STS token when the pair is temporary.

    The secret and the token are kept as :class:`Secret` values: ``repr`` shows where the
    credentials came from and a masked key id, never the secret; they cannot be pickled. A
    value that cannot travel in an HTTP header (a space, an invisible character copied along
    with the key) is refused here, before any request.

    Example:
        >>> Credentials("AKIDexample1234", "not-shown")
        Credentials(access_key_id='AKID…234', source='explicit')
    """

    __slots__ = ("access_key_id", "access_key_secret", "security_token", "source")
    access_key_id: str
    access_key_secret: Secret
    security_token: Secret | None
    source: str

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str | Secret,
        security_token: str | Secret | None = None,
        source: str = "explicit",
    ) -> None:
        secret = (
            access_key_secret
            if isinstance(access_key_secret, Secret)
            else Secret(access_key_secret)
        )
        token = (
            None
            if security_token is None
            else security_token
            if isinstance(security_token, Secret)
            else Secret(security_token)
        )
        del access_key_secret, security_token  # no raw value in this frame if we raise
        problem = _credentials_problem(access_key_id, secret, token, str(source))
        if problem:
            raise QueryError(problem)
        for name, value in (
            ("access_key_id", access_key_id),
            ("access_key_secret", secret),
            ("security_token", token),
            ("source", str(source)),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Credentials are immutable; make new ones instead of setting {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.access_key_id, self.access_key_secret, self.security_token) == (
            other.access_key_id,
            other.access_key_secret,
            other.security_token,
        )

    def __hash__(self) -> int:
        return hash((self.access_key_id, self.access_key_secret, self.security_token))

    def __repr__(self) -> str:
        key_id = getattr(self, "access_key_id", None)
        masked = _mask(key_id) if isinstance(key_id, str) else "?"
        sts = ", sts=True" if getattr(self, "security_token", None) else ""
        return (
            f"Credentials(access_key_id={masked!r}, source={getattr(self, 'source', '?')!r}{sts})"
        )

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(
            "Credentials cannot be pickled: the secret would be written out in clear. Give each "
            "process its credentials from the environment or ~/.aliyun/config.json instead."
        )

    def __copy__(self) -> Credentials:
        return self

    def __deepcopy__(self, memo: Any) -> Credentials:
        return self

    def current(self) -> Credentials:
        """The credentials to sign the next request with (refreshable ones renew here)."""
        return self

    @property
    def account_hash(self) -> str:
        """A short hash of the access key id, to tell accounts apart without naming them."""
        return hashlib.sha256(self.access_key_id.encode()).hexdigest()[:16]

    # -- where credentials come from -------------------------------------------------------
    # Each reader works in a helper that returns credentials, None or the message of what is
    # wrong, and never raises: the frames an error leaves hold no secret, no token, no
    # environment and no profile of the CLI's config, even for a formatter that shows locals.

    @classmethod
    def resolve(cls, explicit: Credentials | None = None) -> Credentials | None:
        """Resolve the chain: explicit, environment, then the aliyun CLI profile.

        Returns None when nothing is configured anywhere (the client then uses the demo).

        Raises:
            QueryError: credentials are set only in part, or the CLI profile is unusable.
        """
        if explicit is not None:
            if not isinstance(explicit, Credentials):
                raise QueryError(
                    "credentials must be a costtrend_nb.Credentials, e.g. "
                    "Credentials(access_key_id, access_key_secret)."
                )
            return explicit
        return cls.from_env() or cls.from_cli_config()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials | None:
        """Read ``ALIBABA_CLOUD_ACCESS_KEY_ID``/``_SECRET``/``SECURITY_TOKEN``.

        Example:
            >>> Credentials.from_env({"ALIBABA_CLOUD_ACCESS_KEY_ID": "AKIDexample1234",
            ...                       "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s"}).source
            'environment'
        """
        found = _read_env(cls, os.environ if environ is None else environ)
        del environ
        if isinstance(found, str):
            raise QueryError(found)
        return found

    @classmethod
    def from_cli_config(
        cls, path: str | os.PathLike[str] | None = None, profile: str | None = None
    ) -> Credentials | None:
        """Read a profile of the aliyun CLI's ``~/.aliyun/config.json`` (AK or StsToken mode).

        The profile is ``profile``, else ``$ALIBABA_CLOUD_PROFILE``, else the file's ``current``.
        Returns None when the file does not exist or the profile holds no key pair.
        """
        file = Path(path) if path is not None else CLI_CONFIG.expanduser()
        found = _read_cli_config(cls, file, profile or os.environ.get(ENV_PROFILE) or None)
        if isinstance(found, str):
            raise QueryError(found)
        return found

    @classmethod
    def from_vendor_chain(cls) -> Credentials:
        """Use the vendor's default credential chain (``alibabacloud-credentials``).

        The chain may ask the ECS metadata service (100.100.100.200) for a RAM role, so it is
        never tried implicitly. Temporary credentials it hands out renew themselves.

        Raises:
            QueryError: the ``aliyun`` extra is not installed, or the chain found nothing.
        """
        try:
            from alibabacloud_credentials.client import Client as VendorClient
        except ImportError:
            raise QueryError(
                "Credentials.from_vendor_chain() needs the vendor package: "
                "pip install 'costtrend_nb[aliyun]'."
            ) from None
        found = _VendorCredentials.read(VendorClient())
        if isinstance(found, str):
            raise QueryError(found)
        return found


class _VendorCredentials(Credentials):
    __slots__ = ("provider",)
    provider: Any

    @classmethod
    def read(cls, provider: Any) -> _VendorCredentials | str:
        """Credentials from the vendor's provider, or the message of what went wrong."""
        try:
            model = provider.get_credential()
            made = cls(
                model.access_key_id,
                model.access_key_secret,
                model.security_token or None,
                source="vendor chain",
            )
        except QueryError as err:
            return str(err)
        except Exception as err:  # the vendor raises many kinds; none may escape as is
            return f"the vendor credential chain found no credentials ({type(err).__name__})."
        object.__setattr__(made, "provider", provider)
        return made

    def current(self) -> Credentials:
        found = _VendorCredentials.read(self.provider)
        if isinstance(found, str):
            raise QueryError(found)
        return found


def _read_env(cls: type[Credentials], env: Mapping[str, str]) -> Credentials | str | None:
    """Credentials from environment variables, None, or what is wrong (never raises)."""
    try:
        return _read_env_unguarded(cls, env)
    except Exception as err:  # a strange mapping: say so, without its contents
        return f"the environment could not be read ({type(err).__name__})."


def _read_env_unguarded(cls: type[Credentials], env: Mapping[str, str]) -> Credentials | str | None:
    try:
        key_id = str(env.get(ENV_ID, "")).strip()
        secret = Secret(str(env.get(ENV_SECRET, "")).strip())
        token = Secret(str(env.get(ENV_TOKEN, "")).strip())
    except Exception as err:
        return f"the environment could not be read ({type(err).__name__})."
    if not (key_id or secret or token):
        return None
    missing = [n for n, v in ((ENV_ID, key_id), (ENV_SECRET, secret)) if not v]
    if missing:
        return (
            f"the environment sets Alibaba Cloud credentials only in part: "
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing. "
            "Set both, or unset them all to use the demo."
        )
    try:
        return cls(key_id, secret, token if token else None, source="environment")
    except QueryError as err:
        return f"{str(err).rstrip('.')} (read from {ENV_ID}, {ENV_SECRET}, {ENV_TOKEN})."


def _read_cli_config(
    cls: type[Credentials], file: Path, profile: str | None
) -> Credentials | str | None:
    """Credentials from a profile of the CLI's config, None, or what is wrong (never raises)."""
    try:
        return _read_cli_config_unguarded(cls, file, profile)
    except Exception as err:  # a config of an unexpected shape: say so, without its contents
        return (
            f"{file} could not be read as an aliyun CLI config ({type(err).__name__}); fix it "
            "with `aliyun configure`, or set ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET instead."
        )


def _read_cli_config_unguarded(
    cls: type[Credentials], file: Path, profile: str | None
) -> Credentials | str | None:
    try:
        if not file.is_file():
            return None
        config = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        return (
            f"{file} is not readable JSON ({type(err).__name__}); fix it with `aliyun "
            "configure`, or set ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET instead."
        )
    if not isinstance(config, dict):
        return f"{file} does not hold a JSON object of profiles."
    chosen = profile or config.get("current") or "default"
    profiles = [p for p in config.get("profiles") or [] if isinstance(p, dict)]
    match = next((p for p in profiles if p.get("name") == chosen), None)
    if match is None:
        if profile:
            names = ", ".join(repr(p.get("name")) for p in profiles) or "none"
            return f"profile {chosen!r} is not in {file} (profiles: {names})."
        return None
    mode = match.get("mode", "AK")
    source = f"profile {chosen!r} of {file}"
    if mode not in ("AK", "StsToken"):
        return (
            f"{source} uses mode {mode!r}; costtrend_nb reads AK and StsToken profiles "
            "itself. For other modes pass Credentials.from_vendor_chain() (pip install "
            "'costtrend_nb[aliyun]')."
        )
    key_id = str(match.get("access_key_id") or "").strip()
    secret = Secret(str(match.get("access_key_secret") or "").strip())
    token = Secret(str(match.get("sts_token") or "").strip() if mode == "StsToken" else "")
    if not (key_id or secret):
        return None
    if mode == "StsToken" and not token:
        return f"{source} is in StsToken mode but has no sts_token."
    try:
        return cls(key_id, secret, token if token else None, source=source)
    except QueryError as err:
        return str(err)


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
