"""Build a principles memory from a run's mistakes (LEAP, METHODS §3.1).

1. For each wrong solution of the run (at most ``per_problem`` per problem), a model sees
   the question, the wrong solution and a correct one (the task's gold solution, else the
   model's own correct solution of the problem, else the gold answer) and states what went
   wrong and a general principle: the *low-level* principles.
2. The same model condenses them into at most ``max_principles`` *high-level* principles.

Correctness and the correct solutions come from the gold answers, so a memory is
oracle-built by nature (its file says so); the ``principles`` strategy that reads it at test
time uses no gold. Every call goes through the runner's gateway: cached in the run store and
logged under the run id ``<run>:principles``, so building again costs nothing.

Example:
    >>> parse_low("Mistake: added instead of subtracting.\\nPrinciple: Reread what is asked.")
    ('added instead of subtracting.', 'Reread what is asked.')
    >>> parse_list("1. Check sums.\\n2) **Define** each quantity once.\\nThat is all.")
    ['Check sums.', 'Define each quantity once.']
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Callable

from mistakelab.backends.base import Backend, ModelSpec
from mistakelab.core.memory import LowPrinciple, Memory, SourceProblem
from mistakelab.core.types import GenParams, Message
from mistakelab.learn.correction import own_correct, wrong_solutions
from mistakelab.learn.source import RunSource, Solution
from mistakelab.runner.caller import CallStats, ModelCaller

PROMPTS = {
    "low": ("Problem:\n{question}\n\nA wrong solution:\n{wrong}\n\nA correct solution:\n{correct}\n\n"
            "Compare the two solutions. In one sentence, say what the mistake in the wrong solution was. "
            "Then, in one sentence, state a general principle that would have prevented it on similar "
            "problems, without this problem's names or numbers.\n"
            "Answer in exactly this form:\nMistake: ...\nPrinciple: ..."),
    "high": ("Here are principles learned from mistakes on math word problems:\n{principles}\n\n"
             "Condense them into at most {n} general principles that would prevent the most frequent "
             "and important of these mistakes. Write each as one short imperative sentence. "
             "Answer with a numbered list only."),
}

_FIELD = re.compile(r"^\W*(mistake|principle)\W*:\s*(.+)$", re.I | re.M)
_ITEM = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s+(.+?)\s*$", re.M)


def parse_low(reply: str) -> tuple[str, str | None]:
    """(mistake, principle) from a low-level reply; principle None when there is none."""
    found = {k.lower(): v.strip() for k, v in _FIELD.findall(reply)}
    return found.get("mistake", ""), found.get("principle")


def parse_list(reply: str) -> list[str]:
    """The items of a numbered or bulleted list, markdown emphasis removed."""
    return [re.sub(r"[*_`]+", "", m).strip() for m in _ITEM.findall(reply) if m.strip()]


class ModelCallsFailed(RuntimeError):
    """The model could not be reached (not its answer's fault, nor the user's): exit 1, retry."""


@dataclass
class BuildReport:
    mistakes: int  # wrong solutions shown to the model
    stated: int  # of them, replies with a parseable principle
    failed_calls: int
    calls_made: int
    calls_cached: int


def _correct_solution(source: RunSource, s: Solution, own: dict[tuple[str, str], str]) -> str:
    gold = source.tasks[s.task_label].gold_solution(s.problem)
    if gold:
        return gold
    return own.get((s.task_label, s.problem.id)) or f"The correct final answer is {s.problem.answer}."


async def build_memory(source: RunSource, spec: ModelSpec, *, max_principles: int = 5, per_problem: int = 2,
                       max_mistakes: int = 0, max_tokens: int = 256, concurrency: int = 8,
                       prompts: dict[str, str] | None = None,
                       backend_factory: Callable[[ModelSpec], Backend] | None = None) -> tuple[Memory, BuildReport]:
    """The memory built from ``source``'s mistakes by the model ``spec`` (greedy decoding)."""
    prompts = {**PROMPTS, **(prompts or {})}
    own = own_correct(source)
    mistakes = list(wrong_solutions(source, per_problem))[: max_mistakes or None]
    if not mistakes:
        raise ValueError(f"run {source.run_id} has no wrong solutions to learn from")
    stats = CallStats()
    job = f"{source.run_id}:principles"
    caller = ModelCaller.for_spec(spec, source.store, job, stats,
                                  (lambda: backend_factory(spec)) if backend_factory else None)
    params = GenParams(temperature=0.0, max_tokens=max_tokens)
    sem = asyncio.Semaphore(concurrency)

    errors: list[str] = []

    async def ask(unit: str, purpose: str, text: str) -> str | None:
        async with sem:
            c = await caller.generate(unit, purpose, [Message(role="user", content=text)], params)
        if not c.ok:
            errors.append(c.error or "failed")
        return c.text if c.ok else None

    try:
        replies = await asyncio.gather(*(
            ask(f"{job}|{s.unit_key}|{i}", "low", prompts["low"].format(
                question=s.problem.question, wrong=s.text, correct=_correct_solution(source, s, own)))
            for i, s in enumerate(mistakes)))
        low: list[LowPrinciple] = []
        for s, reply in zip(mistakes, replies):
            mistake, principle = parse_low(reply or "")
            if principle:
                low.append(LowPrinciple(problem_id=s.problem.id, text=principle, mistake=mistake))
        if not low and errors:
            raise ModelCallsFailed(f"{len(errors)} of {len(mistakes)} calls to {caller.model_id} failed (first: "
                                   f"{errors[0]}); nothing was learned: run again to retry them")
        if not low:
            raise ValueError(f"the model stated no parseable principle for any of {len(mistakes)} mistakes")
        listing = "\n".join(f"- {lp.text}" for lp in low)
        high = await ask(f"{job}|high", "high", prompts["high"].format(principles=listing, n=max_principles))
    finally:
        await caller.aclose()
    if high is None:
        raise ModelCallsFailed(f"the call condensing the principles to {caller.model_id} failed ({errors[-1]}); "
                               "run again to retry it")
    items = parse_list(high or "")[:max_principles]
    if not items:
        raise ValueError("the model's condensed reply held no numbered list of principles")
    shown = {(s.task_label, s.problem.id): s for s in mistakes}
    memory = Memory(run=source.run_id, model=caller.model_id, principles=items, low=low, prompts=prompts,
                    sources=[SourceProblem.of(pid, label, s.problem.question) for (label, pid), s in shown.items()],
                    params={"max_principles": max_principles, "per_problem": per_problem,
                            "max_mistakes": max_mistakes, "max_tokens": max_tokens, "temperature": 0.0,
                            "model_spec": spec.model_dump(mode="json")})
    report = BuildReport(len(mistakes), len(low), sum(r is None for r in replies), stats.made, stats.cached)
    return memory, report
