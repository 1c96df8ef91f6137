"""The model-backend interface: one async, batch-friendly API over every model.

A backend turns chat messages plus sampling parameters into a :class:`Completion`. It never
raises for a failed request after its own retries: it returns a Completion with
``finish_reason="error"`` so that a run records a wrong answer and goes on.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import GenParams, Message
    >>> b = ScriptedBackend(["The answer is 4."])
    >>> asyncio.run(b.generate([Message(role="user", content="2+2?")], GenParams())).text
    'The answer is 4.'
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.registry import Registry
from mistakelab.core.types import Completion, GenParams, Message


class Backend(ABC):
    """Base class of model backends.

    ``model_id`` names the exact model (it is part of the completion-cache key), so two
    backends serving the same weights the same way should report the same id.
    """

    model_id: str = "unknown"
    #: features a strategy or signal may ask for: "prefill" (continue a final assistant
    #: message), "full_distribution" (exact entropy/self-certainty per token),
    #: "top_logprobs".
    capabilities: frozenset[str] = frozenset()

    @abstractmethod
    async def generate(self, messages: Sequence[Message], params: GenParams) -> Completion:
        """One completion for ``messages``."""

    async def sample(
        self, messages: Sequence[Message], params: GenParams, seeds: Sequence[int | None]
    ) -> list[Completion]:
        """One completion per seed for the same prompt (k samples).

        Backends that can share the prompt's evaluation between samples override this.
        """
        return list(
            await asyncio.gather(*(self.generate(messages, params.with_(seed=s)) for s in seeds))
        )

    async def aclose(self) -> None:
        """Release resources (threads, connections). Safe to call twice."""

    async def __aenter__(self) -> "Backend":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


class ModelSpec(BaseModel):
    """How to build a backend: ``backend`` picks the registered factory.

    Example:
        >>> ModelSpec(backend="openai", model="qwen2.5-7b", options={"base_url": "http://127.0.0.1:8000/v1"}).label
        'qwen2.5-7b'
    """

    model_config = ConfigDict(extra="forbid")
    backend: str = "local"
    model: str = "qwen2.5-coder-0.5b"
    name: str | None = None  # label shown in tables; defaults to the model
    options: dict[str, Any] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.name or self.model


#: Factories ``(spec: ModelSpec) -> Backend`` by backend name.
backends: Registry[Any] = Registry("backend")


def create_backend(spec: ModelSpec) -> Backend:
    """Build the backend a :class:`ModelSpec` describes."""
    return backends.get(spec.backend)(spec)
