"""Errors the proxy answers with, in OpenAI's error JSON shape, and how a failed model call
maps to an HTTP status.

Statuses: a bad request (bad JSON, a missing or wrong field, an unknown or oracle-assisted
strategy) is 400; an unknown model 404; the upstream unreachable or answering 5xx, 502; an
upstream 429 is passed on with its ``Retry-After``; a timeout (the proxy's own per-request
limit, or the upstream's) 504; anything else 500.

Example:
    >>> e = call_error("openai:http://127.0.0.1:9/v1:m: HTTP 429 (RateLimitError): slow down "
    ...                + retry_after_tag(2.5) + "; gave up after 1 attempts")
    >>> e.status, e.headers
    (429, {'Retry-After': '3'})
    >>> call_error("openai:x:m: connection failed (ConnectError: refused); gave up").status
    502
    >>> ApiError(400, "bad", param="messages").body()["error"]["param"]
    'messages'
"""

from __future__ import annotations

import math
import re
from typing import Any

INVALID_REQUEST = "invalid_request_error"
UPSTREAM = "upstream_error"
TIMEOUT = "timeout_error"
SERVER = "server_error"
RATE_LIMIT = "rate_limit_error"
AUTH = "authentication_error"
NOT_FOUND = "not_found_error"

_TAG = re.compile(r"\s*\[retry-after ([0-9.]+)s\]")
_HTTP = re.compile(r"\bHTTP (\d{3})\b")


class ApiError(Exception):
    """An error answer: HTTP ``status`` and OpenAI's ``{"error": {...}}`` body."""

    def __init__(self, status: int, message: str, kind: str = INVALID_REQUEST, *, code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind
        self.code, self.param = code, param
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, INVALID_REQUEST, code=code, param=param)


def retry_after_tag(seconds: float) -> str:
    """How the proxy's upstream backend writes a ``Retry-After`` into a failed call's error
    text (a call error is text by the time a strategy's failure reaches the proxy)."""
    return f"[retry-after {seconds:g}s]"


def retry_after_header(seconds: float | None) -> dict[str, str]:
    """``{"Retry-After": whole seconds, rounded up}``, or nothing."""
    if seconds is None:
        return {}
    return {"Retry-After": str(max(0, math.ceil(seconds)))}


def call_error(error: str) -> ApiError:
    """The answer for a model call that failed with ``error`` (a Completion's error text)."""
    status_match = _HTTP.search(error)
    tag = _TAG.search(error)
    retry = float(tag.group(1)) if tag else None
    text = _TAG.sub("", error)
    if status_match:
        status = int(status_match.group(1))
        if status == 429:
            return ApiError(429, f"the upstream is rate limiting: {text}", RATE_LIMIT, code="rate_limited",
                            headers=retry_after_header(retry))
        if status in (408, 504):
            return ApiError(504, f"the upstream timed out: {text}", TIMEOUT, code="timeout")
        if status >= 500:
            return ApiError(502, f"the upstream failed: {text}", UPSTREAM, code="upstream_error")
        return ApiError(status, f"the upstream refused a call: {text}", INVALID_REQUEST, code="upstream_refused")
    if "timed out" in error:
        return ApiError(504, f"the upstream timed out: {text}", TIMEOUT, code="timeout")
    if "connection failed" in error or "malformed response" in error or any(
            name in error for name in ("JSONDecodeError", "APIResponseValidationError")):  # a 200 that is no answer
        return ApiError(502, f"the upstream is unreachable or broken: {text}", UPSTREAM, code="upstream_unreachable")
    return ApiError(500, f"a model call failed: {text}", SERVER, code="model_error")


def timeout_error(seconds: float) -> ApiError:
    return ApiError(504, f"the request took longer than the proxy's limit of {seconds:g} s", TIMEOUT,
                    code="timeout")
