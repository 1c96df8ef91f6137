"""Flags checked by their type before a command starts anything: ports, positive counts and
durations, URLs, log levels. A bad value is one line naming the flag (exit 2).

Example:
    >>> check_flags(ServeFlags, {"port": ("--port", 8000), "timeout": ("--timeout", 30.0)})
    >>> check_flags(ServeFlags, {"port": ("--port", 99999)})
    Traceback (most recent call last):
    ...
    mistakelab.cli.errors.CliError: flag --port: Input should be less than or equal to 65535 (got 99999)
    >>> check_flags(ServeFlags, {"upstream": ("--upstream", "localhost:8001")})
    Traceback (most recent call last):
    ...
    mistakelab.cli.errors.CliError: flag --upstream: not an http(s) URL with a host, e.g. http://127.0.0.1:8001/v1 (got 'localhost:8001')
"""

from __future__ import annotations

import socket
from typing import Any, Literal, Optional
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import Annotated

from mistakelab.cli.errors import CliError

LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises on a port that is no number or out of range
    except ValueError:
        raise ValueError("not an http(s) URL with a valid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL with a host, e.g. http://127.0.0.1:8001/v1")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


class ServeFlags(BaseModel):
    """``serve``'s flags, as types."""

    model_config = ConfigDict(extra="forbid")

    upstream: Optional[HttpUrl] = None
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8000, ge=1, le=65535)
    timeout: float = Field(600.0, gt=0, le=24 * 3600)
    concurrency: int = Field(16, ge=1, le=4096)
    upstream_retries: int = Field(0, ge=0, le=20)
    max_tokens: int = Field(512, ge=1)
    keepalive: float = Field(5.0, gt=0, le=3600)
    log_level: LogLevel = "info"
    name: str = Field("served", min_length=1)
    upstream_key_env: str = Field("OPENAI_API_KEY", min_length=1)


def check_flags(model: type[BaseModel], values: dict[str, tuple[str, Any]]) -> None:
    """Validate each ``field: (flag, value)`` as ``model``'s field; the first bad one is a
    :class:`CliError` naming its flag."""
    for field, (flag, value) in values.items():
        try:
            model.model_validate({field: value})
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise CliError(f"flag {flag}: {msg} (got {value!r})") from None


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or a :class:`CliError` naming ``--host``/``--port``
    (in use, no such address, no permission), before anything is printed or loaded."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CliError(f"flag --host: cannot bind {host!r} ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise CliError(f"flag --port: cannot listen on {host}:{port} ({exc.strerror or exc}; is another "
                       "server using it?)") from None
    return sock
