"""Checking a request's ACS3-HMAC-SHA256 signature, as the service does.

The signature is computed again over what the client signed (its ``SignedHeaders``), with the
form-decoded query re-encoded as the vendor does, and the date is checked against the wall
clock. A wrong signature, an unknown key or security token, an ``x-acs-date`` more than 15
minutes off, a body that does not match its hash, or a request whose nonce, date or content hash
is not signed and sent gets 403 ``B.Permission.DeniedException``. The emulator remembers the
nonces (:class:`~costtrend_nb.emulator.recent.Recent`), so that none is used twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping

from ..auth import ALGORITHM, API_VERSION, authorization
from .refusals import Refusal, denied

__all__ = ["MAX_SKEW", "verify_signature"]

MAX_SKEW = 15 * 60  #: seconds an ``x-acs-date`` may be off the wall clock
_REQUIRED_SIGNED = ("host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")


def verify_signature(
    method: str,
    path: str,
    pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    *,
    key_pairs: Mapping[str, str],
    sts_tokens: Mapping[str, str],
    action: str,
) -> float:
    """Refuse a request unless it is signed as the service demands, for the API ``action``.

    ``headers`` are lower-cased; ``now`` is the wall clock. Returns the Unix time of the
    request's ``x-acs-date``: its nonce must be remembered until that leaves the window.
    """
    value = headers.get("authorization", "")
    if not value.startswith(ALGORITHM + " "):
        raise denied("missing or unsupported Authorization.")
    fields = dict(
        part.strip().split("=", 1) for part in value[len(ALGORITHM) + 1 :].split(",") if "=" in part
    )
    key_id = fields.get("Credential", "")
    secret = key_pairs.get(key_id)
    if secret is None:
        raise denied("unknown access key.")
    signed = [h for h in fields.get("SignedHeaders", "").split(";") if h]
    _check_required(signed, headers)
    sent = _check_date(headers["x-acs-date"], now)
    if hashlib.sha256(body).hexdigest() != headers["x-acs-content-sha256"]:
        raise denied("x-acs-content-sha256 does not match the body.")
    token = headers.get("x-acs-security-token")
    if token is not None and sts_tokens.get(token) != key_id:
        raise denied("unknown security token.")
    expected = authorization(
        method,
        path,
        pairs,
        headers,
        access_key_id=key_id,
        access_key_secret=secret,
        signed_headers=signed,
        payload_hash=headers["x-acs-content-sha256"],
    )
    if not hmac.compare_digest(expected, value.strip()):
        raise denied("the signature does not match.")
    if headers.get("x-acs-action") != action or headers.get("x-acs-version") != API_VERSION:
        raise Refusal(
            400,
            "InvalidAction",
            f"x-acs-action must be {action} and x-acs-version {API_VERSION}.",
            gateway=True,
        )
    return sent


def _check_required(signed: list[str], headers: Mapping[str, str]) -> None:
    """Refuse unless the headers the signature must cover are signed and sent."""
    unsigned = [h for h in _REQUIRED_SIGNED if h not in signed]
    if unsigned:
        raise denied(f"{', '.join(unsigned)} must be signed.")
    absent = [h for h in _REQUIRED_SIGNED if not headers.get(h, "").strip()]
    if absent:
        raise denied(f"{', '.join(absent)} must be sent.")


def _check_date(value: str, now: float) -> float:
    """The Unix time of an ``x-acs-date``, refused unless within 15 minutes of ``now``."""
    try:
        sent = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise denied("x-acs-date is not ISO 8601 UTC.") from None
    if abs(sent.timestamp() - now) > MAX_SKEW:
        raise denied("x-acs-date is more than 15 minutes off.")
    return sent.timestamp()
