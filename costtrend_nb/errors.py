"""The exceptions of costtrend_nb.

Every error the public API raises is a :class:`CostTrendError`::

    CostTrendError
    ├── QueryError            bad input, raised before any request is sent
    ├── APIError              the service said no: code, message, request_id, http_status
    │   ├── BadRequestError       400, e.g. InvalidParameter
    │   ├── AuthError             403 B.Permission.DeniedException
    │   ├── OrgNotFoundError      403 B.Permission.OrgNoExistException
    │   ├── ThrottledError        429, retry_after
    │   └── ServerError           5xx, Server.Internal.UnknownError
    ├── TransportError        the connection failed
    │   └── TimeoutError          a request timed out, or a fetch ran past its deadline
    ├── ResponseError         a body that is not what the API promises
    └── FetchError            retries ran out for some series; ``.failures`` maps each to its error

:func:`api_error` turns an error response into the most specific :class:`APIError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIError",
    "AuthError",
    "BadRequestError",
    "CostTrendError",
    "FetchError",
    "OrgNotFoundError",
    "QueryError",
    "ResponseError",
    "ServerError",
    "ThrottledError",
    "TimeoutError",
    "TransportError",
    "api_error",
]


class CostTrendError(Exception):
    """The root of every error raised by costtrend_nb."""


class QueryError(CostTrendError, ValueError):
    """The input is invalid; raised before any request is sent."""


class APIError(CostTrendError):
    """The service answered with an error.

    Attributes:
        code: the vendor's error code (``errCode``), e.g. ``B.Permission.DeniedException``.
        message: the vendor's own message, often in Chinese.
        request_id: the request id to quote to Alibaba Cloud support.
        http_status: the HTTP status of the response.
    """

    def __init__(
        self,
        code: str | None,
        message: str | None = None,
        *,
        request_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        super().__init__(self._describe())

    def _describe(self) -> str:
        head = self.code or "error"
        if self.http_status is not None:
            head += f" (HTTP {self.http_status})"
        parts = [head + (f": {self.message}" if self.message else "")]
        explanation = _EXPLANATIONS.get(self.code or "") or _STATUS_EXPLANATIONS.get(
            type(self).__name__
        )
        if explanation:
            parts.append(explanation)
        if self.request_id:
            parts.append(f"Request id: {self.request_id}.")
        return " ".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_api_error,
            (type(self), self.code, self.message, self.request_id, self.http_status, self._extra()),
        )

    def _extra(self) -> dict[str, Any]:
        return {}


class BadRequestError(APIError):
    """The service rejected the parameters (HTTP 400)."""


class AuthError(APIError):
    """Authentication failed or the account lacks permission (HTTP 403)."""


class OrgNotFoundError(APIError):
    """The organisation has not opened the Model Router product (HTTP 403)."""


class ThrottledError(APIError):
    """Too many requests (HTTP 429); ``retry_after`` is the server's wait in seconds, if given."""

    def __init__(
        self,
        code: str | None,
        message: str | None = None,
        *,
        request_id: str | None = None,
        http_status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(code, message, request_id=request_id, http_status=http_status)

    def _extra(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class ServerError(APIError):
    """The service failed on its side (HTTP 5xx); usually worth retrying."""


class TransportError(CostTrendError):
    """The request did not get an answer: connection refused, reset or unreachable."""


class TimeoutError(TransportError):  # shadows the builtin on purpose, as httpx's does
    """A request timed out, or a whole fetch ran past its ``deadline``."""


class ResponseError(CostTrendError):
    """A response body is not what the API promises (truncated, not JSON, looping token...).

    ``retryable`` is True when sending the same request again may well succeed (a body cut
    short in transit), False when the service answered something wrong twice over.
    """

    def __init__(
        self, message: str, *, request_id: str | None = None, retryable: bool = False
    ) -> None:
        self.request_id = request_id
        self.retryable = retryable
        if request_id:
            message = f"{message} (request id: {request_id})"
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_response_error, (str(self), self.request_id, self.retryable))


class FetchError(CostTrendError):
    """Retries ran out for some series of a fetch.

    Attributes:
        failures: each failed series (a label such as ``model_type=Chat, client_id=7``)
            mapped to the last error it met.
    """

    def __init__(self, failures: Mapping[str, BaseException], total: int | None = None) -> None:
        self.failures = dict(failures)
        self.total = total
        lines = [
            f"  {series}: {type(err).__name__}: {err}" for series, err in self.failures.items()
        ]
        of = f" of {total}" if total is not None else ""
        super().__init__(
            f"{len(self.failures)}{of} series could not be fetched:\n"
            + "\n".join(lines)
            + "\nRetry later, raise max_retries or deadline, or pass on_error='partial' "
            "to keep the series that did arrive."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.failures, self.total))


def _rebuild_api_error(
    cls: type[APIError],
    code: str | None,
    message: str | None,
    request_id: str | None,
    http_status: int | None,
    extra: dict[str, Any],
) -> APIError:
    return cls(code, message, request_id=request_id, http_status=http_status, **extra)


def _rebuild_response_error(text: str, request_id: str | None, retryable: bool) -> ResponseError:
    err = ResponseError.__new__(ResponseError)
    err.request_id = request_id
    err.retryable = retryable
    Exception.__init__(err, text)
    return err


# What each vendor code means, in English, and what to do about it.
_EXPLANATIONS: dict[str, str] = {
    "B.Permission.DeniedException": (
        "Authentication failed or the account lacks permission. Check the access key pair, and "
        "grant the RAM user the action aicontent:ModelRouterQueryCostTrendMetrics."
    ),
    "B.Permission.OrgNoExistException": (
        "The organisation does not exist: it has not opened the Model Router product. The main "
        "account must enable it (or ask your administrator), then try again."
    ),
    "Server.Internal.UnknownError": (
        "The service failed with an unknown error. It is usually transient: retry later, and "
        "quote the request id to Alibaba Cloud support if it persists."
    ),
    "InvalidParameter": "The service rejected a parameter; check the query's values.",
    "Throttling": "Too many requests; slow down (lower max_concurrency) and retry later.",
    "Throttling.User": "Too many requests; slow down (lower max_concurrency) and retry later.",
}

_STATUS_EXPLANATIONS: dict[str, str] = {
    "BadRequestError": "The service rejected a parameter; check the query's values.",
    "AuthError": "Check the access key pair and the RAM permissions of the account.",
    "ThrottledError": "Too many requests; lower max_concurrency and retry later.",
    "ServerError": "The service failed on its side; retry later.",
}

_CODE_CLASSES: dict[str, type[APIError]] = {
    "B.Permission.DeniedException": AuthError,
    "B.Permission.OrgNoExistException": OrgNotFoundError,
    "Server.Internal.UnknownError": ServerError,
    "InvalidParameter": BadRequestError,
    "MissingParameter": BadRequestError,
    "Throttling": ThrottledError,
    "Throttling.User": ThrottledError,
    "Throttling.Api": ThrottledError,
}


def _status_class(status: int) -> type[APIError]:
    if status == 429:
        return ThrottledError
    if status in (401, 403):
        return AuthError
    if status >= 500:
        return ServerError
    if status >= 400:
        return BadRequestError
    return APIError


def _pick(body: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = body.get(key)
        if value not in (None, ""):
            return value
    return None


def api_error(
    http_status: int,
    body: Mapping[str, Any] | None,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> APIError:
    """Build the most specific :class:`APIError` for an error response.

    The body may use the trend endpoint's keys (``errCode``/``errMessage``) or the gateway's
    (``code``/``Code``, ``message``/``Message``); HTTP 200 with ``success: false`` is an error too.

    Example:
        >>> err = api_error(403, {"Code": "B.Permission.OrgNoExistException", "RequestId": "r-1"})
        >>> type(err).__name__, err.request_id
        ('OrgNotFoundError', 'r-1')
    """
    body = body or {}
    code = _pick(body, "errCode", "ErrCode", "code", "Code")
    message = _pick(body, "errMessage", "ErrMessage", "message", "Message")
    request_id = _pick(body, "requestId", "RequestId") or request_id
    status = http_status
    declared = _pick(body, "httpStatusCode", "HttpStatusCode")
    if status < 400 and isinstance(declared, int) and declared >= 400:
        status = declared
    code_text = str(code) if code is not None else None
    cls = _CODE_CLASSES.get(code_text or "")
    if cls is None and code_text and code_text.startswith("Throttling"):
        cls = ThrottledError
    if cls is None:
        cls = _status_class(status)
    message_text = str(message) if message is not None else None
    request_text = str(request_id) if request_id is not None else None
    if cls is ThrottledError:
        return ThrottledError(
            code_text,
            message_text,
            request_id=request_text,
            http_status=status,
            retry_after=retry_after,
        )
    return cls(code_text, message_text, request_id=request_text, http_status=status)
