"""A model by role: the calls a strategy makes, each one recorded in the trace.

``generate`` and ``sample`` ask for new text; ``continue_`` continues an assistant turn that
begins with a given prefix (backends that declare ``continue`` only); ``score`` rates a given
text (``score``). Seeds come from (run seed, model, strategy, problem, purpose, index within
the purpose), so concurrent calls get the same seeds in every run: give calls issued
concurrently with the same purpose an explicit ``index``, or purposes of their own.

A call that fails after the backend's retries raises :class:`CallFailed` once it is recorded:
the unit is failed, never answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from mistakelab.backends.base import CONTINUE, SCORE
from mistakelab.context.errors import CallFailed, CapabilityError
from mistakelab.context.gateway import Gateway
from mistakelab.core.trace import CallKind, CallRecord, Trace
from mistakelab.core.types import Completion, GenParams, Message

#: ``seeds(role, model_id, purpose, n, index, params, scope)``: the seeds of ``n`` calls
Seeds = Callable[[str, str, str, int, "int | None", GenParams, "str | None"], "list[int | None]"]


@dataclass(frozen=True)
class HandleScope:
    """What a model handle needs of its context, and nothing more: the trace its calls are
    recorded in, the sampling parameters they start from, and where their seeds come from."""

    trace: Trace
    params: GenParams
    seeds: Seeds


class ModelHandle:
    """The model behind one role of a context (``solver``, ``critic``, ``feedback``...)."""

    def __init__(self, scope: HandleScope, role: str, gateway: Gateway) -> None:
        self.scope, self.role, self.gateway = scope, role, gateway

    @property
    def model_id(self) -> str:
        return self.gateway.model_id

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(self.gateway.capabilities)

    def require(self, capability: str, why: str = "") -> None:
        """Raise :class:`CapabilityError` unless this model's backend declares ``capability``."""
        if capability not in self.capabilities:
            strategy = self.scope.trace.strategy
            raise CapabilityError(
                f"strategy {strategy!r} needs capability {capability!r} of its {self.role} model "
                f"{self.model_id!r}, which its backend does not declare{': ' + why if why else ''}")

    async def generate(self, messages: Sequence[Message], *, purpose: str = "solve", index: int | None = None,
                       oracle: bool = False, **overrides: Any) -> Completion:
        """One completion; ``overrides`` change sampling parameters for this call only."""
        return (await self._ask(messages, 1, purpose, None, index, oracle, overrides))[0]

    async def sample(self, messages: Sequence[Message], n: int, *, purpose: str = "sample", prefix: str | None = None,
                     oracle: bool = False, seed_scope: str | None = None, **overrides: Any) -> list[Completion]:
        """``n`` completions of the same prompt (each its own seed); with ``prefix``, ``n``
        continuations of that assistant text. ``seed_scope="self_consistency"`` draws the
        samples that strategy draws with the same purpose and parameters (shared, and cached once)."""
        return await self._ask(messages, n, purpose, prefix, None, oracle, overrides, seed_scope)

    async def continue_(self, messages: Sequence[Message], prefix: str, *, purpose: str = "continue",
                        index: int | None = None, oracle: bool = False, **overrides: Any) -> Completion:
        """Continue an assistant turn that begins with ``prefix``; the completion holds only
        the new text (the whole turn is ``prefix + completion.text``)."""
        return (await self._ask(messages, 1, purpose, prefix, index, oracle, overrides))[0]

    async def score(self, messages: Sequence[Message], text: str, *, purpose: str = "score",
                    prefix: str | None = None, top_logprobs: int = 0, oracle: bool = False) -> Completion:
        """Per-token logprobs of ``text`` as this model's reply to ``messages`` (after the
        assistant text ``prefix``, when given)."""
        self.require(SCORE)
        msgs = _conversation(messages)
        send = msgs if prefix is None else [*msgs, Message(role="assistant", content=prefix)]
        c = await self.gateway.score(purpose, send, text, top_logprobs)
        params = GenParams(max_tokens=1, logprobs=True, top_logprobs=top_logprobs)
        self._record("score", purpose, msgs, prefix, params, c, oracle)
        return self._checked(purpose, [c])[0]

    # -- internals ----------------------------------------------------------------------
    async def _ask(self, messages: Sequence[Message], n: int, purpose: str, prefix: str | None,
                   index: int | None, oracle: bool, overrides: dict[str, Any],
                   scope: str | None = None) -> list[Completion]:
        msgs = _conversation(messages)
        send = msgs
        if prefix is not None:
            self.require(CONTINUE, "it continues a partial answer")
            send = [*msgs, Message(role="assistant", content=prefix)]
        params = self.scope.params.with_(**overrides) if overrides else self.scope.params
        seeds = self.scope.seeds(self.role, self.model_id, purpose, n, index, params, scope)
        outs = await self.gateway.sample(purpose, send, params, seeds)
        kind: CallKind = "generate" if prefix is None else "continue"
        for s, c in zip(seeds, outs):
            self._record(kind, purpose, msgs, prefix, params.with_(seed=s), c, oracle)
        return self._checked(purpose, outs)

    def _record(self, kind: CallKind, purpose: str, messages: list[Message], prefix: str | None,
                params: GenParams, c: Completion, oracle: bool) -> None:
        trace = self.scope.trace
        trace.calls.append(CallRecord(index=len(trace.calls), role=self.role, kind=kind, purpose=purpose,
                                      model=self.model_id, messages=messages, prefix=prefix, params=params,
                                      completion=c, oracle=oracle))
        if oracle:
            trace.used_gold = True

    def _checked(self, purpose: str, outs: list[Completion]) -> list[Completion]:
        for c in outs:
            if c.error is not None:
                raise CallFailed(self.role, self.model_id, purpose, c.error)
        return outs


def _conversation(messages: Sequence[Message]) -> list[Message]:
    msgs = list(messages)
    if msgs and msgs[-1].role == "assistant":
        # Never let a server answer a partial turn as if it were finished (or a new turn).
        raise ValueError("the messages end with an assistant turn: pass that text as prefix= "
                         "(continue_) to continue it, or add the next user turn")
    return msgs
