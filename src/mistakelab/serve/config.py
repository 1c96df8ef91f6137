"""What a proxy server is started with; nothing in it changes while it serves.

Example:
    >>> cfg = ServeConfig(backend="openai", upstream="http://127.0.0.1:8001/v1", model="qwen2.5-7b",
    ...                   strategy="self_consistency:k=4")
    >>> cfg.spec("qwen2.5-7b").options["base_url"]
    'http://127.0.0.1:8001/v1'
    >>> "OPENAI_API_KEY" in str(cfg.public())  # the key's variable name, never the key
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from mistakelab.backends.base import Backend, ModelSpec
from mistakelab.serve.limits import ServeLimits

#: The pseudo-strategy that sends the request to the model unchanged.
NONE = "none"


@dataclass(frozen=True)
class ServeConfig:
    """How the proxy serves.

    ``backend``: ``openai`` (an OpenAI-compatible ``upstream``), ``local`` (the embedded
    model ``model``), or any registered backend (``scripted`` in tests). ``model``: the served
    model (for ``openai`` without it, the upstream's model list is asked at start).
    ``strategy``: the default strategy spec (``"cot"``, ``"self_consistency:k=8"``, ``"none"``).
    ``timeout``: seconds one request may take. ``max_concurrency``: upstream requests in
    flight at once, over all requests together. ``api_key``: what clients must send as
    ``Authorization: Bearer ...`` (None: no check; the CLI demands one off loopback).
    ``upstream_key_env``: the environment variable holding the upstream's key; the key is read
    once, goes only into the HTTP clients, and is never logged or stored. ``limits``: what one
    request may cost (:mod:`mistakelab.serve.limits`; ``timeout`` is its wall time).
    """

    backend: str = "openai"
    upstream: str | list[Any] | None = None  # a list: a pool of servers (backends/servers.py)
    model: str | None = None
    strategy: str = "cot"
    store: str = "runs/mistakelab.db"
    name: str = "served"
    timeout: float = 600.0
    max_concurrency: int = 16
    upstream_retries: int = 0
    upstream_key_env: str = "OPENAI_API_KEY"
    api_key: str | None = field(default=None, repr=False)
    max_tokens: int = 512
    max_n: int = 16
    keepalive: float = 5.0
    use_cache: bool = True
    limits: ServeLimits = field(default_factory=ServeLimits)
    options: dict[str, Any] = field(default_factory=dict)
    #: builds the backend of a model spec instead of the registry (tests, benchmarks)
    backend_factory: Callable[[ModelSpec], Backend] | None = field(default=None, repr=False, compare=False)

    def spec(self, model: str) -> ModelSpec:
        """The model spec of a served model (its cache identity and capabilities)."""
        options = dict(self.options)
        if self.backend == "openai":
            options["base_url"] = self.upstream
        return ModelSpec(backend=self.backend, model=model, options=options)

    def public(self) -> dict[str, Any]:
        """What is stored with the served run: everything but secrets and callables."""
        return {"kind": "served", "backend": self.backend, "upstream": self.upstream, "model": self.model,
                "strategy": self.strategy, "timeout": self.timeout, "max_concurrency": self.max_concurrency,
                "upstream_key_env": self.upstream_key_env, "max_tokens": self.max_tokens,
                "use_cache": self.use_cache, "options": self.options, "auth": self.api_key is not None,
                "limits": self.limits.model_dump()}
