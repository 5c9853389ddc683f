"""Reading a request's target and parameters as the service does: the path and the query's
pairs, integers within 64 bits, the trend's selection, and paging tokens (opaque, and bound to
their query). Bad input is refused with 400 ``MissingParameter``/``InvalidParameter``.

Example:
    >>> split_target("/api/v1/x?startTime=1&endTime=2")
    ('/api/v1/x', [('startTime', '1'), ('endTime', '2')])
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from ..catalogue import MODEL_TYPE_METRICS
from .aggregate import Selection
from .refusals import invalid, missing
from .synth import DAY

__all__ = [
    "DEFAULT_RESULTS",
    "MAX_RESULTS",
    "MAX_SPAN",
    "PageTokens",
    "identity_without",
    "int_list",
    "int_param",
    "split_target",
    "trend_selection",
]

MAX_RESULTS = 1000
MAX_SPAN = 366 * DAY
DEFAULT_RESULTS = 10
_INTEGER = re.compile(r"-?[0-9]{1,19}")  # ASCII digits, within a 64-bit integer's length


def int_param(params: Mapping[str, str], name: str, *, required: bool = False) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise missing(name)
        return None
    text = raw.strip()
    if not _INTEGER.fullmatch(text) or not -(2**63) <= int(text) < 2**63:
        raise invalid(f"The parameter {name} must be an integer, not {raw[:40]!r}.")
    return int(text)


def int_list(params: Mapping[str, str], name: str) -> tuple[int, ...] | None:
    raw = params.get(name)
    if raw is None:
        return None
    items = [p.strip() for p in raw.split(",") if p.strip()]
    if not all(_INTEGER.fullmatch(p) and 0 <= int(p) < 2**63 for p in items):
        raise invalid(f"The parameter {name} must be comma-separated integers.")
    return tuple(int(p) for p in items)


def split_target(target: str) -> tuple[str, list[tuple[str, str]]]:
    """The decoded path and the query's pairs of a request target (origin or absolute form)."""
    if not target.startswith("/"):  # "http://host/path?query", as a proxy sends it
        with contextlib.suppress(ValueError):  # e.g. an unbalanced "[" read as an IPv6 host
            target = urlsplit(target)._replace(scheme="", netloc="").geturl()
    path, _, query = target.partition("#")[0].partition("?")
    return unquote(path) or "/", parse_qsl(query, keep_blank_values=True)


def trend_selection(params: Mapping[str, str]) -> tuple[Selection, int, int, str, int]:
    """The trend query's selection, start, end, granularity and page size, checked."""
    start = int_param(params, "startTime", required=True)
    end = int_param(params, "endTime", required=True)
    assert start is not None and end is not None
    if start >= end:
        raise invalid("startTime must be earlier than endTime.")
    if end - start > MAX_SPAN:
        raise invalid("The time range may not exceed 366 days.")
    granularity = params.get("granularity") or "hourly"
    if granularity not in ("hourly", "daily"):
        raise invalid(
            f"The parameter granularity must be hourly or daily, not {granularity[:20]!r}."
        )
    if params.get("clientId") and params.get("clientIds"):
        raise invalid("clientId and clientIds are mutually exclusive.")
    client_id = int_param(params, "clientId")
    client_ids = int_list(params, "clientIds")
    api_key_id = int_param(params, "apiKeyId")
    if api_key_id is not None and client_id is None:
        raise invalid("apiKeyId needs clientId.")
    size = int_param(params, "maxResults")
    size = DEFAULT_RESULTS if size is None else size
    if not 1 <= size <= MAX_RESULTS:
        raise invalid(f"The parameter maxResults must be between 1 and {MAX_RESULTS}.")
    types = None
    if params.get("modelTypes"):
        types = tuple(
            dict.fromkeys(t.strip() for t in params["modelTypes"].split(",") if t.strip())
        )
        unknown = [t for t in types if t not in MODEL_TYPE_METRICS]
        if unknown:
            raise invalid(f"Unknown model type: {unknown[0][:40]}.")
    members = int_list(params, "memberUserIds")
    clients = (client_id,) if client_id is not None else client_ids
    selection = Selection(types, clients, api_key_id, members)
    return selection, start, end, granularity, size


def identity_without(identity: str, names: tuple[str, ...]) -> str:
    """A request identity without some parameters (a query's pages share one)."""
    path, _, query = identity.partition("?")
    kept = [p for p in query.split("&") if p and p.split("=", 1)[0] not in names]
    return path + "?" + "&".join(kept)


class PageTokens:
    """Paging tokens: an offset, bound to its query and signed with ``key``, so that a token is
    opaque and cannot be forged or carried to another query."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def make(self, offset: int, query_id: str) -> str:
        """The token of the page at ``offset`` of the query ``query_id``."""
        payload = f"{offset}.{_bound(query_id)}"
        signed = f"{payload}.{self._mac(payload)}".encode()
        return base64.urlsafe_b64encode(signed).decode().rstrip("=")

    def read(self, token: str | None, query_id: str) -> int:
        """The offset a token stands for (0 for none), refused unless made for this query."""
        if not token:
            return 0
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            offset, bound, mac = text.split(".")
            good = self._mac(f"{offset}.{bound}")
        except (ValueError, UnicodeDecodeError):
            raise invalid("The parameter nextToken is invalid.") from None
        if not hmac.compare_digest(mac, good) or not offset.isdigit():
            raise invalid("The parameter nextToken is invalid.")
        if bound != _bound(query_id):
            raise invalid("The parameter nextToken belongs to another query.")
        return int(offset)

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()[:16]


def _bound(query_id: str) -> str:
    return hashlib.sha256(query_id.encode()).hexdigest()[:16]
