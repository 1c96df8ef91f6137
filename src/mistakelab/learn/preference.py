"""Right vs wrong: ``preference`` (DPO pairs) and ``unpaired`` (KTO labels).

``preference`` (TRL preference type, conversational; DPOTrainer, RewardTrainer) has two
sources (``sources``):

- ``pairs``: a correct and a wrong solution of the same problem (any strategies of the run),
  at most ``per_problem`` pairs per problem, each wrong solution used once;
- ``scl`` (SCL, METHODS §3.2): a self-correction trace whose first and last attempts differ
  in correctness; chosen = the correct one of (initial, refined), rejected = the other.

``unpaired`` (TRL unpaired preference, conversational; KTOTrainer): every distinct solution
with ``label`` = whether the runner graded it correct.

Example:
    >>> pairs = pair_up(["r1", "r2"], ["w1", "w2", "w3"], per_problem=2)
    >>> pairs
    [('r1', 'w1'), ('r2', 'w2')]
"""

from __future__ import annotations

from typing import Iterator, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.trace import AnswerKind
from mistakelab.learn.formats import Row, Skip, assistant, chat, export_format
from mistakelab.core.types import Problem
from mistakelab.learn.source import RunSource, Solution, call_text

T = TypeVar("T")


def pair_up(right: list[T], wrong: list[T], per_problem: int) -> list[tuple[T, T]]:
    """(chosen, rejected) pairs: each wrong text once, right texts reused in turn."""
    if not right or not wrong:
        return []
    n = len(wrong) if per_problem <= 0 else min(per_problem, len(wrong))
    return [(right[i % len(right)], wrong[i]) for i in range(n)]


class PreferenceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[Literal["pairs", "scl"]] = Field(default_factory=lambda: ["pairs", "scl"])
    per_problem: int = 4  # right-vs-wrong pairs per problem (0: one per wrong solution)


class UnpairedParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _by_problem(solutions: list[Solution]) -> dict[tuple[str, str], list[Solution]]:
    out: dict[tuple[str, str], list[Solution]] = {}
    for s in solutions:
        out.setdefault((s.task_label, s.problem.id), []).append(s)
    return out


def _preference_row(run: RunSource, task_label: str, problem: Problem, chosen: str, rejected: str,
                    **meta: str) -> Row:
    return Row({"prompt": chat(run.prompt(task_label, problem)), "chosen": assistant(chosen),
                "rejected": assistant(rejected)}, {"problem_id": problem.id, "task": task_label, **meta})


def _scl(source: RunSource) -> Iterator[Row | Skip]:
    for row, trace, problem in source.graded_units():
        attempts = [a for a in trace.answers_of(AnswerKind.ATTEMPT) if a.verdict is not None and a.call is not None]
        if len(attempts) < 2:
            continue
        first, last = attempts[0], attempts[-1]
        if first.correct == last.correct:
            continue
        texts = [call_text(trace.calls[a.call]) for a in (first, last)]  # type: ignore[index]
        chosen, rejected = texts if first.correct else texts[::-1]
        yield _preference_row(source, row.task, problem, chosen, rejected, source="scl", unit=row.unit_key)


@export_format("preference", PreferenceParams, columns=("prompt", "chosen", "rejected"), trainer="DPOTrainer",
               trl_type="preference (conversational)", method="right vs wrong pairs; SCL, METHODS §3.2")
def preference(source: RunSource, params: PreferenceParams) -> Iterator[Row | Skip]:
    """(chosen, rejected) solutions of the same problem, and self-correction before/after pairs."""
    if "pairs" in params.sources:
        for group in _by_problem(source.solutions()).values():
            pairs = pair_up([s for s in group if s.correct], [s for s in group if not s.correct], params.per_problem)
            if not pairs:
                yield Skip("problem without both a right and a wrong solution")
            for c, r in pairs:
                yield _preference_row(source, c.task_label, c.problem, c.text, r.text, source="pairs",
                                      chosen_unit=c.unit_key, rejected_unit=r.unit_key)
    if "scl" in params.sources:
        yield from _scl(source)


@export_format("unpaired", UnpairedParams, columns=("prompt", "completion", "label"), trainer="KTOTrainer",
               trl_type="unpaired preference (conversational)", method="KTO labels from graded solutions")
def unpaired(source: RunSource, params: UnpairedParams) -> Iterator[Row | Skip]:
    """Every distinct solution with label = correct."""
    for s in source.solutions():
        yield Row({"prompt": chat(source.prompt(s.task_label, s.problem)), "completion": assistant(s.text),
                   "label": bool(s.correct)},
                  {"problem_id": s.problem.id, "task": s.task_label, "unit": s.unit_key})
