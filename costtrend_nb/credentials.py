"""Credentials and where to find them; their secret and token as masked :class:`Secret` values.

Credentials are resolved in this order (:meth:`Credentials.resolve`):

1. the ``Credentials`` passed in;
2. ``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` (and
   ``ALIBABA_CLOUD_SECURITY_TOKEN`` for STS);
3. the current profile of ``~/.aliyun/config.json`` (``ALIBABA_CLOUD_PROFILE`` picks another),
   in ``AK`` or ``StsToken`` mode.

The vendor's full chain (ECS RAM role, OIDC, ...) probes a cloud metadata address, so it is used
only when asked for: :meth:`Credentials.from_vendor_chain`. Signing is :mod:`costtrend_nb.auth`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import QueryError

__all__ = [
    "CLI_CONFIG",
    "ENV_ID",
    "ENV_PROFILE",
    "ENV_SECRET",
    "ENV_TOKEN",
    "Credentials",
    "Secret",
]

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
