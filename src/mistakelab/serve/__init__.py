"""An OpenAI-compatible proxy that applies a strategy to every request (``mistakelab serve``).

Modules: :mod:`~mistakelab.serve.config` (what a server starts with),
:mod:`~mistakelab.serve.naming` (the model-name grammar), :mod:`~mistakelab.serve.request`
(reading a request), :mod:`~mistakelab.serve.service` (running it and recording it as a unit
of the served run), :mod:`~mistakelab.serve.passon` (strategy ``none``: sent on unchanged),
:mod:`~mistakelab.serve.responses` (the wire shape, streaming), :mod:`~mistakelab.serve.app`
(HTTP: Starlette + uvicorn, needs the ``serve`` extra; imported on first use), and
:mod:`~mistakelab.serve.summary` (what ``mistakelab show`` prints for a served run).
"""

from __future__ import annotations

from typing import Any

from mistakelab.serve.config import NONE, ServeConfig
from mistakelab.serve.errors import ApiError
from mistakelab.serve.naming import parse_selection, split_model
from mistakelab.serve.summary import ServedRow, summarize_served

# Imported on first use: the HTTP side needs the `serve` extra (starlette, uvicorn), and
# reading a served run (`mistakelab show`) needs neither it nor an HTTP client.
_LAZY = {"Proxy": "service", "final_text": "service", "ServeRequest": "request", "parse_request": "request",
         "TRACE_HEADER": "app", "create_app": "app", "is_loopback": "app", "loopback_socket": "app",
         "server": "app"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"mistakelab.serve.{_LAZY[name]}"), name)
    raise AttributeError(name)


__all__ = [
    "NONE",
    "ApiError",
    "Proxy",
    "ServeConfig",
    "ServeRequest",
    "ServedRow",
    "TRACE_HEADER",
    "create_app",
    "final_text",
    "is_loopback",
    "loopback_socket",
    "parse_request",
    "parse_selection",
    "server",
    "split_model",
    "summarize_served",
]
