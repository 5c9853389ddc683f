"""The service's refusals: an exception carrying status, code and message, and the two shapes of
the body that says no (the API gateway's, for signatures and framing, and the API's own).

Example:
    >>> refusal = invalid("startTime must be earlier than endTime.")
    >>> refusal.status, error_body(refusal, "REQ-1")["errCode"]
    (400, 'InvalidParameter')
"""

from __future__ import annotations

from typing import Any

__all__ = ["Refusal", "denied", "error_body", "invalid", "missing"]

_DENIED = "B.Permission.DeniedException"


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, *, gateway: bool = False) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.gateway = status, code, message, gateway


def denied(reason: str) -> Refusal:
    return Refusal(403, _DENIED, f"鉴权失败或权限不足: {reason}", gateway=True)


def missing(name: str) -> Refusal:
    return Refusal(400, "MissingParameter", f"The parameter {name} is required.")


def invalid(message: str) -> Refusal:
    return Refusal(400, "InvalidParameter", message)


def error_body(refusal: Refusal, request_id: str) -> dict[str, Any]:
    """The body of a refusal: the gateway's shape or the API's, as the service sends it."""
    if refusal.gateway:
        return {
            "RequestId": request_id,
            "HostId": "aicontent.aliyuncs.com",
            "Code": refusal.code,
            "Message": refusal.message,
            "Recommend": "https://api.aliyun.com/troubleshoot?q=" + refusal.code,
        }
    return {
        "requestId": request_id,
        "success": False,
        "httpStatusCode": refusal.status,
        "errCode": refusal.code,
        "errMessage": refusal.message,
        "code": refusal.code,
        "message": refusal.message,
    }
