"""What a strategy (or a locator, or a scorer) sees while solving one problem.

- its models by role (:meth:`CallContext.model`; a role nobody configured is the solver);
- the problem's question (never its gold answer), the task's answer extractor, named prompts;
- the trace, where every call, answer and event is recorded;
- :meth:`CallContext.oracle`, the one door to the gold answer: using it marks the result
  oracle-assisted.

Answers are *recorded*, not judged: :meth:`record_answer` returns the extracted answer and the
runner grades every recorded answer after the strategy returns, so the same strategy code
runs where no gold answer exists (the proxy).

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import Problem
    >>> from mistakelab.tasks import create_task
    >>> ctx = CallContext.standalone(ScriptedBackend(["2 + 2 = 4. \\\\boxed{4}"]),
    ...                              Problem(id="p", question="2+2?", answer="4"), create_task("gsm8k_sample"))
    >>> c = asyncio.run(ctx.generate(ctx.question()))
    >>> ctx.record_answer(c)
    '4'
    >>> ctx.trace.answers[0].verdict is None  # graded by the runner, after solving
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from pydantic import BaseModel

from mistakelab.context.conversation import Conversation
from mistakelab.context.errors import OracleUnavailable
from mistakelab.context.gateway import DirectGateway, Gateway
from mistakelab.context.handle import HandleScope, ModelHandle
from mistakelab.context.seeds import call_seed
from mistakelab.core.events import NoteEvent, TraceEvent
from mistakelab.core.trace import AnswerKind, AnswerRecord, Trace
from mistakelab.core.types import Completion, GenParams, Message, Problem

if TYPE_CHECKING:
    from mistakelab.answers import Extraction
    from mistakelab.steps.types import Step, StepVerdict
    from mistakelab.tasks.base import Task

SOLVER = "solver"


class PublicProblem(BaseModel):
    """The part of a problem a strategy may see: no gold answer, no gold steps."""

    id: str
    question: str


class Oracle:
    """The gold answer and what it allows (see :meth:`CallContext.oracle`)."""

    def __init__(self, problem: Problem, task: "Task") -> None:
        self.problem, self.task = problem, task

    @property
    def gold_answer(self) -> str:
        return self.problem.answer

    def gold_solution(self) -> str | None:
        return self.task.gold_solution(self.problem)

    def check(self, text: str) -> bool:
        """Whether the answer in ``text`` is correct."""
        return self.task.verify(self.problem, text).correct

    def check_answer(self, answer: str | None) -> bool:
        """Whether an already extracted answer is correct."""
        return self.task.check(self.problem, answer).correct

    def verify_steps(self, text: str) -> "StepVerdict | None":
        """The task's exact step verdict of ``text`` (tasks with gold steps), else None."""
        return self.task.verify_steps(self.problem, text)


class CallContext:
    """Per-problem context, created fresh for every unit (strategy × problem × model)."""

    def __init__(self, problem: Problem, task: "Task", models: Mapping[str, Gateway] | Gateway, trace: Trace,
                 params: GenParams | None = None, prompts: Mapping[str, str] | None = None, seed: int = 0,
                 strategy_name: str | None = None, gold: bool = True,
                 messages: Sequence[Message] | None = None) -> None:
        self._problem = problem
        self.task = task
        gateways = dict(models) if isinstance(models, Mapping) else {SOLVER: models}
        if SOLVER not in gateways:
            raise ValueError("a context needs a solver model")
        self.trace = trace
        self.params = params or GenParams()
        self.prompts = dict(prompts or {})
        self.seed = seed
        self.strategy_name = strategy_name or trace.strategy
        self._gold = gold
        self._messages = list(messages) if messages is not None else None
        self._counters: dict[tuple[str, str, str | None], int] = {}
        scope = HandleScope(self.trace, self.params, self.seeds)
        self._handles = {role: ModelHandle(scope, role, g) for role, g in gateways.items()}

    @classmethod
    def standalone(cls, backend: Any, problem: Problem, task: "Task", strategy: str = "adhoc",
                   roles: Mapping[str, Any] | None = None, **kw: Any) -> "CallContext":
        """A context over bare backends (``roles``: role -> backend), for trying things by hand."""
        trace = Trace(strategy=strategy, problem_id=problem.id, model=backend.model_id)
        gateways = {SOLVER: DirectGateway(backend), **{r: DirectGateway(b) for r, b in (roles or {}).items()}}
        return cls(problem, task, gateways, trace, **kw)

    # -- the problem and prompts ---------------------------------------------------------
    @property
    def problem(self) -> PublicProblem:
        return PublicProblem(id=self._problem.id, question=self._problem.question)

    @property
    def problem_id(self) -> str:
        return self._problem.id

    def question(self) -> Conversation:
        """The messages that pose the problem (the task's prompt, or the request's messages)."""
        return Conversation(self._messages if self._messages is not None else self.task.prompt(self._problem))

    def prompt(self, name: str, **fields: Any) -> str:
        """Fill the strategy's named prompt template; ``{question}`` is always available."""
        if name not in self.prompts:
            known = ", ".join(sorted(self.prompts)) or "(none)"
            raise KeyError(f"strategy {self.strategy_name!r} has no prompt {name!r}; it has: {known}")
        fields.setdefault("question", self._problem.question)
        return self.prompts[name].format(**fields)

    # -- models ---------------------------------------------------------------------------
    def model(self, role: str = SOLVER) -> ModelHandle:
        """The model playing ``role``; a role with no model of its own is played by the solver."""
        return self._handles.get(role) or self._handles[SOLVER]

    @property
    def roles(self) -> list[str]:
        return list(self._handles)

    def seeds(self, role: str, model_id: str, purpose: str, n: int, index: int | None,
              params: GenParams, scope: str | None = None) -> list[int | None]:
        """Seeds for ``n`` calls (None for greedy ones); see :mod:`mistakelab.context.seeds`.

        ``scope`` replaces the strategy's name in the seed: calls made under the scope of
        another strategy (``"self_consistency"``) draw that strategy's samples, so strategies
        that choose among the same samples share them (and the completion cache serves them once).
        """
        if params.temperature == 0:
            return [None] * n
        if index is None:
            index = self._counters.get((role, purpose, scope), 0)
            self._counters[(role, purpose, scope)] = index + n
        return [call_seed(self.seed, model_id, scope or self.strategy_name, self._problem.id, purpose, index + i)
                for i in range(n)]

    async def generate(self, messages: Sequence[Message], purpose: str = "solve", **kw: Any) -> Completion:
        return await self.model().generate(messages, purpose=purpose, **kw)

    async def sample(self, messages: Sequence[Message], n: int, purpose: str = "sample", **kw: Any) -> list[Completion]:
        return await self.model().sample(messages, n, purpose=purpose, **kw)

    async def continue_(self, messages: Sequence[Message], prefix: str, purpose: str = "continue",
                        **kw: Any) -> Completion:
        return await self.model().continue_(messages, prefix, purpose=purpose, **kw)

    async def score(self, messages: Sequence[Message], text: str, purpose: str = "score", **kw: Any) -> Completion:
        return await self.model().score(messages, text, purpose=purpose, **kw)

    # -- answers (extracted here, graded by the runner) ------------------------------------
    def extract(self, text: str) -> "Extraction":
        """The final answer in ``text`` (no gold answer involved)."""
        return self.task.extract(text)

    def answer_key(self, answer: str) -> str:
        """Canonical form of an answer, for grouping equivalent answers."""
        return self.task.answer_key(answer)

    def same_answer(self, a: str | None, b: str | None) -> bool:
        if a is None or b is None:
            return False
        return self.task.answer_key(a) == self.task.answer_key(b)

    def record_answer(self, output: Completion | str, kind: AnswerKind | str = AnswerKind.ATTEMPT,
                      label: str = "", call: int | None = None) -> str | None:
        """Record the answer in ``output`` (a completion or text); return only the extracted answer."""
        text = output.text if isinstance(output, Completion) else output
        if call is None and isinstance(output, Completion):
            call = next((c.index for c in reversed(self.trace.calls) if c.completion is output), None)
        ex = self.extract(text)
        return self._add_answer(AnswerKind(kind), label, call, ex.text, ex.method)

    def record_extracted(self, answer: str | None, kind: AnswerKind | str = AnswerKind.ATTEMPT, label: str = "",
                         call: int | None = None, method: str = "given") -> str | None:
        """Record an answer found by other means than the task's extractor (e.g. what a
        program printed); ``method`` says how. Returns ``answer``."""
        return self._add_answer(AnswerKind(kind), label, call, answer, method if answer is not None else "none")

    def final(self, answer: str | Completion | None, method: str = "chosen") -> str | None:
        """Record the strategy's final answer: an extracted answer (e.g. a vote's winner) or a
        completion whose answer is the final one."""
        if isinstance(answer, Completion):
            return self.record_answer(answer, AnswerKind.FINAL, "final")
        return self._add_answer(AnswerKind.FINAL, "final", None, answer, method if answer is not None else "none")

    def _add_answer(self, kind: AnswerKind, label: str, call: int | None, extracted: str | None, method: str) -> str | None:
        rnd = sum(1 for a in self.trace.answers if a.kind == kind)
        self.trace.answers.append(AnswerRecord(kind=kind, label=label or f"{kind.value}-{rnd}", index=rnd,
                                               call=call, extracted=extracted, method=method))
        return extracted

    # -- the oracle door -------------------------------------------------------------------
    def oracle(self) -> Oracle:
        """The gold answer's door: marks this result oracle-assisted."""
        if not self._gold:
            raise OracleUnavailable(f"strategy {self.strategy_name!r} asked for the gold answer, "
                                    "but there is none here (only intrinsic strategies can run without one)")
        self.trace.used_gold = True
        return Oracle(self._problem, self.task)

    def oracle_check(self, text: str) -> bool:
        """Whether ``text``'s answer is correct, using the gold answer (oracle-assisted)."""
        return self.oracle().check(text)

    # -- steps and events ------------------------------------------------------------------
    def steps(self, text: str) -> "list[Step]":
        """``text`` split into steps the way locators split it."""
        from mistakelab.steps.split import split_steps

        return split_steps(text)

    def emit(self, event: TraceEvent) -> None:
        """Add a typed event to the trace."""
        self.trace.events.append(event)

    def note(self, message: str = "", label: str = "", **data: Any) -> None:
        """Add a free-form note to the trace."""
        self.trace.events.append(NoteEvent(label=label, message=message, data=data))
