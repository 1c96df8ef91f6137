"""The servers of one model: a ``base_url`` that is a list (option of the ``openai`` backend).

Each entry is a URL, a URL followed by ``key=value`` settings (the CLI form, one
``--base-url`` flag per server), or a table (the TOML form)::

    base_url = ["http://a:8000/v1", {url = "http://b:8000/v1", weight = 2, max_concurrency = 32}]
    --base-url http://a:8000/v1 --base-url "http://b:8000/v1 weight=2 max_concurrency=32"

``weight`` (default 1) scales a server's share of the traffic; ``max_concurrency`` (default:
the model's ``max_concurrency`` option) caps its requests in flight.

Example:
    >>> [s.url for s in parse_servers(["http://a/v1/", "http://b/v1 weight=2"])]
    ['http://a/v1', 'http://b/v1']
    >>> parse_servers([{"url": "http://b/v1", "weight": 2, "max_concurrency": 8}])[0].max_concurrency
    8
    >>> parse_servers(["http://a/v1 weigth=2"])
    Traceback (most recent call last):
    ...
    ValueError: openai backend option base_url: server 'http://a/v1 weigth=2': unknown setting 'weigth' (known: weight, max_concurrency)
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mistakelab.core.specs import parse_value


class Server(BaseModel):
    """One server of a pool."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0)
    max_concurrency: int | None = Field(default=None, ge=1)


def _one(entry: Any) -> Server:
    where = f"openai backend option base_url: server {entry!r}"
    if isinstance(entry, str):
        url, *settings = entry.split()
        data: dict[str, Any] = {"url": url}
        for s in settings:
            key, eq, value = s.partition("=")
            if not eq or key not in ("weight", "max_concurrency"):
                raise ValueError(f"{where}: unknown setting {key!r} (known: weight, max_concurrency)")
            data[key] = parse_value(value)
    elif isinstance(entry, dict):
        data = dict(entry)
    else:
        raise ValueError(f"{where}: expected a URL or a table {{url, weight, max_concurrency}}")
    try:
        server = Server.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ValueError(f"{where}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    return server.model_copy(update={"url": server.url.rstrip("/")})


def parse_servers(value: Any) -> list[Server]:
    """The servers a ``base_url`` list names; ``ValueError`` naming the bad entry."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError("openai backend option base_url: expected a URL or a non-empty list of servers")
    servers = [_one(e) for e in value]
    urls = [s.url for s in servers]
    dup = next((u for u in urls if urls.count(u) > 1), None)
    if dup is not None:
        raise ValueError(f"openai backend option base_url: server {dup!r} is listed twice")
    return servers


def is_pool(base_url: Any) -> bool:
    """Whether a ``base_url`` option names a pool of servers (a list) rather than one URL."""
    return isinstance(base_url, (list, tuple))
