"""How a context reaches a model: the :class:`Gateway` protocol and a direct one.

The runner's gateway adds the completion cache, the call log and cost accounting; a
:class:`DirectGateway` goes straight to a backend (tests, notebooks). A gateway never raises
for a failed call: it returns a Completion with ``error`` set, and the context decides.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import GenParams, Message
    >>> g = DirectGateway(ScriptedBackend([RuntimeError("down")]))
    >>> asyncio.run(g.sample("solve", [Message(role="user", content="hi")], GenParams(), [None]))[0].error
    'RuntimeError: down'
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from mistakelab.backends.base import apply_stops
from mistakelab.backends.scripted import ScriptExhausted
from mistakelab.core.types import Completion, GenParams, Message


class Gateway(Protocol):
    model_id: str
    capabilities: frozenset[str]

    async def sample(
        self, purpose: str, messages: Sequence[Message], params: GenParams, seeds: Sequence[int | None]
    ) -> list[Completion]: ...

    async def score(
        self, purpose: str, messages: Sequence[Message], text: str, top_logprobs: int = 0
    ) -> Completion: ...


async def guarded(coro: Any, n: int = 1) -> Any:
    """Await a backend call; a raised exception becomes ``n`` failed completions (one if
    ``n`` is None). A scripted backend out of script is a test bug and is re-raised."""
    try:
        return await coro
    except ScriptExhausted:
        raise
    except Exception as exc:  # noqa: BLE001 - a failed call is recorded, never a crash
        return Completion.from_error(exc) if n is None else [Completion.from_error(exc) for _ in range(n)]


class DirectGateway:
    """A gateway straight to a backend, with no cache or store."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.model_id = backend.model_id
        self.capabilities = frozenset(backend.capabilities)

    async def sample(self, purpose: str, messages: Sequence[Message], params: GenParams,
                     seeds: Sequence[int | None]) -> list[Completion]:
        return [apply_stops(c, params) for c in await guarded(self.backend.sample(messages, params, seeds), len(seeds))]

    async def score(self, purpose: str, messages: Sequence[Message], text: str, top_logprobs: int = 0) -> Completion:
        return await guarded(self.backend.score(messages, text, top_logprobs=top_logprobs), None)
