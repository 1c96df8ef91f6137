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
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.answers import first_boxed_end
from mistakelab.core.registry import Registry
from mistakelab.core.stopping import cut_at_low_confidence
from mistakelab.core.types import Completion, GenParams, Message, ServerStats


#: Continue a final assistant message (a prefix) instead of answering it as a new turn.
CONTINUE = "continue"
#: Exact statistics of the full next-token distribution (entropy, self-certainty) per token.
FULL_DISTRIBUTION = "full_distribution"
#: Several samples of one prompt in one call, sharing the prompt's evaluation.
MULTI_SAMPLE = "multi_sample"
#: Score a given text: per-token logprobs of a completion, without generating (``score``).
SCORE = "score"
#: The top-k alternatives of each generated token.
TOP_LOGPROBS = "top_logprobs"
CAPABILITIES = frozenset({CONTINUE, FULL_DISTRIBUTION, MULTI_SAMPLE, SCORE, TOP_LOGPROBS})


class ScriptExhausted(RuntimeError):
    """A scripted backend has no output left for a call: the test expected fewer calls.

    Never recorded as a failed call: it is raised through every layer, so the test fails."""


class Backend(ABC):
    """Base class of model backends.

    ``model_id`` names the exact model (it is part of the completion-cache key), so two
    backends serving the same weights the same way should report the same id.

    A request whose last message is an ``assistant`` message asks to *continue* that text;
    only backends that declare :data:`CONTINUE` in ``capabilities`` may receive one (the
    gateway refuses it for the others, so a prefix is never answered as a new turn).
    """

    model_id: str = "unknown"
    #: what this backend can do; names from :data:`CAPABILITIES`
    capabilities: frozenset[str] = frozenset()

    @abstractmethod
    async def generate(self, messages: Sequence[Message], params: GenParams) -> Completion:
        """One completion for ``messages``."""

    async def sample(
        self, messages: Sequence[Message], params: GenParams, seeds: Sequence[int | None]
    ) -> list[Completion]:
        """One completion per seed for the same prompt (k samples); a sample whose request
        raised comes back failed on its own, the others stand.

        Backends that can share the prompt's evaluation between samples override this.
        """
        outs = await asyncio.gather(*(self.generate(messages, params.with_(seed=s)) for s in seeds),
                                    return_exceptions=True)
        for o in outs:  # a scripted backend out of script is a test bug: raise it
            if isinstance(o, ScriptExhausted):
                raise o
        return [Completion.from_error(o) if isinstance(o, BaseException) else o for o in outs]

    async def score(self, messages: Sequence[Message], text: str, *, top_logprobs: int = 0) -> Completion:
        """How likely the model finds ``text`` as its reply to ``messages`` (:data:`SCORE`).

        The result's ``text`` is ``text``, ``logprobs`` one entry per token of it.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot score a given text")

    def take_server_stats(self) -> list[ServerStats]:
        """Per-server figures since the last take, for a backend that routes over several
        servers (:mod:`mistakelab.backends.pool`); none for the others."""
        return []

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


@dataclass(frozen=True)
class BackendFactory:
    """How a backend is built, and what it can do, known before any model is loaded.

    ``capabilities(spec)`` lets a run refuse a strategy its model cannot serve before the
    first call; ``check(spec)`` validates the options (raise ``ValueError``) without loading;
    ``identity(spec)`` is what the backend adds to the model's completion-cache identity (a
    server's URL, an adapter's content hash), so two specs share cached completions only
    when they would answer alike.
    """

    create: Callable[[ModelSpec], Backend]
    capabilities: Callable[[ModelSpec], frozenset[str]]
    check: Callable[[ModelSpec], None] | None = None
    identity: Callable[[ModelSpec], str] | None = None


#: Backend factories by name (``spec.backend``).
backends: Registry[BackendFactory] = Registry("backend")


def cut_after_boxed(c: Completion, params: GenParams) -> Completion:
    """Apply ``params.stop_after_boxed`` to a finished completion: the text ends just after its
    first complete ``\\boxed{...}``. The local engine stops generating there (the tokens are
    saved); for a backend that cannot, this keeps the text the same on every backend.

    Example:
        >>> c = Completion(text="\\\\boxed{4}. Let me check again", finish_reason="length")
        >>> cut_after_boxed(c, GenParams(stop_after_boxed=True)).text
        '\\\\boxed{4}'
    """
    if not params.stop_after_boxed or not c.ok:
        return c
    end = first_boxed_end(c.text)
    if end is None or end == len(c.text):
        return c
    return c.model_copy(update={"text": c.text[:end], "finish_reason": "stop", "logprobs": None})


def apply_stops(c: Completion, params: GenParams) -> Completion:
    """The text a request's stops leave, the same on every backend: a backend that cannot stop
    early (``confidence_stop``, ``stop_after_boxed``) is cut here, in the order the stops would
    have fired while generating (the earlier token wins); one that stopped itself is unchanged.

    Example:
        >>> apply_stops(Completion(text="\\\\boxed{4} and more"), GenParams(stop_after_boxed=True)).text
        '\\\\boxed{4}'
    """
    return cut_after_boxed(cut_at_low_confidence(c, params), params)


def create_backend(spec: ModelSpec) -> Backend:
    """Build the backend a :class:`ModelSpec` describes."""
    return backends.get(spec.backend).create(spec)


def spec_capabilities(spec: ModelSpec) -> frozenset[str]:
    """What the backend of ``spec`` can do, without building it.

    Example:
        >>> sorted(spec_capabilities(ModelSpec(backend="openai", model="m")))
        ['top_logprobs']
    """
    return backends.get(spec.backend).capabilities(spec)


def check_spec(spec: ModelSpec) -> None:
    """Validate ``spec`` without loading a model: unknown backend or bad options raise."""
    factory = backends.get(spec.backend)
    if factory.check is not None:
        factory.check(spec)
