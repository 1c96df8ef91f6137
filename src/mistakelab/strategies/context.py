"""What a strategy sees: ``generate``/``sample``, the task's checkers, and the trace.

A strategy never receives correctness directly: :meth:`StrategyContext.record_answer`
records the verdict in the trace and hands back only the extracted answer. Strategies that
use the gold answer call :meth:`StrategyContext.oracle_check`, which marks the whole result
oracle-assisted.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import Problem
    >>> from mistakelab.tasks import create_task
    >>> ctx = StrategyContext.standalone(
    ...     ScriptedBackend(["2 + 2 = 4. \\\\boxed{4}"]),
    ...     Problem(id="p", question="2+2?", answer="4"),
    ...     create_task("gsm8k_sample"))
    >>> c = asyncio.run(ctx.generate(ctx.question()))
    >>> ctx.record_answer("initial", c)
    '4'
    >>> ctx.trace.answers[0].verdict.correct
    True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from mistakelab.answers import Extraction
from mistakelab.backends.scripted import ScriptExhausted
from mistakelab.core.types import (
    AnswerRecord,
    CallRecord,
    Completion,
    GenParams,
    Message,
    Problem,
    Trace,
)
from mistakelab.strategies.prompts import DEFAULT_PROMPTS
from mistakelab.tasks.base import Task


class Gateway(Protocol):
    """How a context reaches the model (the runner adds caching and call logging)."""

    model_id: str

    async def generate(self, purpose: str, messages: Sequence[Message], params: GenParams) -> Completion: ...

    async def sample(
        self, purpose: str, messages: Sequence[Message], params: GenParams, seeds: Sequence[int | None]
    ) -> list[Completion]: ...


class DirectGateway:
    """A gateway straight to a backend, with no cache or store (tests, notebooks)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.model_id = backend.model_id

    async def generate(self, purpose: str, messages: Sequence[Message], params: GenParams) -> Completion:
        return await _safe(self.backend.generate(messages, params))

    async def sample(self, purpose, messages, params, seeds):  # type: ignore[no-untyped-def]
        try:
            return await self.backend.sample(messages, params, seeds)
        except ScriptExhausted:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed call is a recorded failure
            return [Completion.from_error(exc) for _ in seeds]


async def _safe(coro: Any) -> Completion:
    try:
        return await coro
    except ScriptExhausted:  # a test script too short is a test bug: fail loudly
        raise
    except Exception as exc:  # noqa: BLE001 - model failures never crash a run
        return Completion.from_error(exc)


def _seed_base(*parts: object) -> int:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return int(digest[:8], 16) % (2**31 - 1)


@dataclass
class StrategyContext:
    """Per-problem context; created fresh for every (strategy, problem) unit."""

    problem: Problem
    task: Task
    gateway: Gateway
    trace: Trace
    params: GenParams = field(default_factory=GenParams)
    prompts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PROMPTS))
    seed: int = 0
    _counter: int = 0

    @classmethod
    def standalone(
        cls, backend: Any, problem: Problem, task: Task, strategy: str = "adhoc", **kw: Any
    ) -> "StrategyContext":
        """A context over a bare backend, for trying a strategy by hand."""
        trace = Trace(strategy=strategy, problem_id=problem.id, model=backend.model_id)
        return cls(problem=problem, task=task, gateway=DirectGateway(backend), trace=trace, **kw)

    # -- prompts ------------------------------------------------------------------------
    def question(self) -> list[Message]:
        """The task's messages for this problem."""
        return self.task.prompt(self.problem)

    def prompt(self, name: str, **fields: Any) -> str:
        """Fill the named prompt template (overridable from the config's ``[prompts]``)."""
        fields.setdefault("question", self.problem.question)
        return self.prompts[name].format(**fields)

    # -- model calls --------------------------------------------------------------------
    def _next_seeds(self, n: int, params: GenParams) -> list[int | None]:
        # Greedy decoding ignores the seed: drop it so identical greedy requests share the
        # cache across strategies.
        if params.temperature == 0:
            return [None] * n
        base = _seed_base(self.seed, self.trace.model, self.trace.strategy, self.problem.id)
        seeds = [(base + self._counter + i) % (2**31 - 1) for i in range(n)]
        self._counter += n
        return seeds

    def _record(self, purpose: str, messages: Sequence[Message], params: GenParams, c: Completion) -> int:
        idx = len(self.trace.calls)
        self.trace.calls.append(
            CallRecord(index=idx, purpose=purpose, model=self.gateway.model_id,
                       messages=list(messages), params=params, completion=c)
        )
        return idx

    async def generate(self, messages: Sequence[Message], purpose: str = "solve", **overrides: Any) -> Completion:
        """One completion; ``overrides`` change sampling parameters for this call only."""
        params = self.params.with_(**overrides) if overrides else self.params
        params = params.with_(seed=self._next_seeds(1, params)[0])
        c = await self.gateway.generate(purpose, messages, params)
        self._record(purpose, messages, params, c)
        return c

    async def sample(self, messages: Sequence[Message], n: int, purpose: str = "sample", **overrides: Any) -> list[Completion]:
        """``n`` completions of the same prompt, each with its own seed."""
        params = self.params.with_(**overrides) if overrides else self.params
        seeds = self._next_seeds(n, params)
        outs = await self.gateway.sample(purpose, messages, params, seeds)
        for s, c in zip(seeds, outs):
            self._record(purpose, messages, params.with_(seed=s), c)
        return outs

    # -- answers ------------------------------------------------------------------------
    def extract(self, text: str) -> Extraction:
        """The final answer in ``text`` (no gold answer involved)."""
        return self.task.extract(text)

    def record_answer(self, stage: str, output: Completion | str, call_index: int | None = None) -> str | None:
        """Record an intermediate answer with its verdict; return only the extracted answer."""
        text = output.text if isinstance(output, Completion) else output
        if call_index is None and isinstance(output, Completion):
            call_index = next((c.index for c in reversed(self.trace.calls) if c.completion is output), None)
        ex = self.extract(text)
        verdict = self.task.check(self.problem, ex.text, ex.method)
        self.trace.answers.append(AnswerRecord(stage=stage, text_ref=call_index, verdict=verdict))
        return ex.text

    def final(self, answer: str | None, method: str = "chosen") -> None:
        """Record the strategy's final answer (already extracted, e.g. a majority vote)."""
        verdict = self.task.check(self.problem, answer, method)
        self.trace.answers.append(AnswerRecord(stage="final", verdict=verdict))

    def oracle_check(self, text: str) -> bool:
        """Whether ``text`` is correct, using the gold answer: marks the result oracle-assisted."""
        self.trace.used_gold = True
        return self.task.verify(self.problem, text).correct

    def same_answer(self, a: str | None, b: str | None) -> bool:
        if a is None or b is None:
            return False
        return self.task.answer_key(a) == self.task.answer_key(b)

    def note(self, **event: Any) -> None:
        """Add a free-form event to the trace (e.g. a critique's verdict)."""
        self.trace.events.append(event)
