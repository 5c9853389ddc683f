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

import datetime as dt
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from .errors import QueryError

__all__ = [
    "ALGORITHM",
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


@dataclass(frozen=True, repr=False)
class Credentials:
    """An access key pair, with an STS token when the pair is temporary.

    ``repr`` shows where the credentials came from and a masked key id, never the secret.

    Example:
        >>> Credentials("AKIDexample1234", "not-shown")
        Credentials(access_key_id='AKID…234', source='explicit')
    """

    access_key_id: str
    access_key_secret: str
    security_token: str | None = None
    source: str = field(default="explicit", compare=False)

    def __post_init__(self) -> None:
        missing = [
            name
            for name, value in (
                ("access_key_id", self.access_key_id),
                ("access_key_secret", self.access_key_secret),
            )
            if not isinstance(value, str) or not value.strip()
        ]
        if missing:
            raise QueryError(
                f"credentials from {self.source} lack {' and '.join(missing)}: give both the "
                "access key id and its secret."
            )
        if self.security_token is not None and not isinstance(self.security_token, str):
            raise QueryError("security_token must be a string (the STS token) or None.")

    def __repr__(self) -> str:
        sts = ", sts=True" if self.security_token else ""
        return (
            f"Credentials(access_key_id={_mask(self.access_key_id)!r}, source={self.source!r}{sts})"
        )

    __str__ = __repr__

    def current(self) -> Credentials:
        """The credentials to sign the next request with (refreshable ones renew here)."""
        return self

    @property
    def account_hash(self) -> str:
        """A short hash of the access key id, to tell accounts apart without naming them."""
        return hashlib.sha256(self.access_key_id.encode()).hexdigest()[:16]

    # -- where credentials come from -------------------------------------------------------

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
        env = os.environ if environ is None else environ
        key_id, secret, token = (env.get(n, "").strip() for n in (ENV_ID, ENV_SECRET, ENV_TOKEN))
        if not (key_id or secret or token):
            return None
        missing = [n for n, v in ((ENV_ID, key_id), (ENV_SECRET, secret)) if not v]
        if missing:
            raise QueryError(
                f"the environment sets Alibaba Cloud credentials only in part: "
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing. "
                "Set both, or unset them all to use the demo."
            )
        return cls(key_id, secret, token or None, source="environment")

    @classmethod
    def from_cli_config(
        cls, path: str | os.PathLike[str] | None = None, profile: str | None = None
    ) -> Credentials | None:
        """Read a profile of the aliyun CLI's ``~/.aliyun/config.json`` (AK or StsToken mode).

        The profile is ``profile``, else ``$ALIBABA_CLOUD_PROFILE``, else the file's ``current``.
        Returns None when the file does not exist or the profile holds no key pair.
        """
        file = Path(path) if path is not None else CLI_CONFIG.expanduser()
        if not file.is_file():
            return None
        try:
            config = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise QueryError(
                f"{file} is not readable JSON ({type(err).__name__}); fix it with `aliyun "
                "configure`, or set ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET instead."
            ) from None
        if not isinstance(config, dict):
            raise QueryError(f"{file} does not hold a JSON object of profiles.")
        chosen = profile or os.environ.get(ENV_PROFILE) or config.get("current") or "default"
        profiles = [p for p in config.get("profiles") or [] if isinstance(p, dict)]
        match = next((p for p in profiles if p.get("name") == chosen), None)
        if match is None:
            if profile or os.environ.get(ENV_PROFILE):
                names = ", ".join(repr(p.get("name")) for p in profiles) or "none"
                raise QueryError(f"profile {chosen!r} is not in {file} (profiles: {names}).")
            return None
        mode = match.get("mode", "AK")
        source = f"profile {chosen!r} of {file}"
        if mode not in ("AK", "StsToken"):
            raise QueryError(
                f"{source} uses mode {mode!r}; costtrend_nb reads AK and StsToken profiles "
                "itself. For other modes pass Credentials.from_vendor_chain() (pip install "
                "'costtrend_nb[aliyun]')."
            )
        key_id = str(match.get("access_key_id") or "").strip()
        secret = str(match.get("access_key_secret") or "").strip()
        token = str(match.get("sts_token") or "").strip() if mode == "StsToken" else ""
        if not (key_id or secret):
            return None
        if mode == "StsToken" and not token:
            raise QueryError(f"{source} is in StsToken mode but has no sts_token.")
        return cls(key_id, secret, token or None, source=source)

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
        provider = VendorClient()
        try:
            first = _VendorCredentials.read(provider)
        except Exception as err:  # the vendor raises many kinds; none may escape as is
            raise QueryError(
                f"the vendor credential chain found no credentials ({type(err).__name__})."
            ) from None
        return first


@dataclass(frozen=True, repr=False)
class _VendorCredentials(Credentials):
    provider: Any = field(default=None, compare=False)

    @classmethod
    def read(cls, provider: Any) -> _VendorCredentials:
        model = provider.get_credential()
        return cls(
            model.access_key_id,
            model.access_key_secret,
            model.security_token or None,
            source="vendor chain",
            provider=provider,
        )

    def current(self) -> Credentials:
        return _VendorCredentials.read(self.provider)


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


def signature(secret: str, canonical: str) -> str:
    """Hex HMAC-SHA256 over the string to sign of a canonical request."""
    to_sign = f"{ALGORITHM}\n{_sha256_hex(canonical.encode('utf-8'))}"
    return hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(
    method: str,
    path: str,
    params: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    *,
    access_key_id: str,
    access_key_secret: str,
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
        return f"AcsV3Auth({self.credentials!r}, action={self.action!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        creds = self.credentials.current()
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
            headers["x-acs-security-token"] = creds.security_token
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
        yield request
