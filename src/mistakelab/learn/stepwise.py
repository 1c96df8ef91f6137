"""``stepwise``: solutions split into steps with a correctness label per step, for PRM training.

TRL stepwise supervision, standard form: ``prompt`` (the question), ``completions`` (the
steps, from our splitter, :func:`mistakelab.steps.split.split_steps`), ``labels`` (one bool
per step). PRMTrainer appends ``separator`` (default "\\n") to every step and puts the label
on its last token, so a step must not contain the separator: inside a step it is replaced by
a space.

Labels come from the task's exact step verifier (generated tasks): a step is good while it
ends before the first wrong step the verifier found; every step from there on is bad (the
process label of Math-Shepherd: the solution can no longer be right). A wrong final answer
with no wrong step found marks the last step bad. Tasks without a step verifier give no rows.

Example:
    >>> from mistakelab.tasks import create_task
    >>> task = create_task("igsm", {"min_ops": 2, "max_ops": 3})
    >>> p = task.load(1, seed=0)[0]
    >>> steps, labels = step_labels(task, p, task.inject_error(p, step=1).text)
    >>> labels[:3]
    [True, False, False]
"""

from __future__ import annotations

from typing import Iterator

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.types import Problem
from mistakelab.learn.formats import Row, Skip, export_format
from mistakelab.learn.source import RunSource
from mistakelab.steps.split import split_steps
from mistakelab.tasks.base import Task


def clean_step(text: str, separator: str) -> str:
    """``text`` with every occurrence of ``separator`` replaced by one space (and runs of
    spaces that makes squeezed), so a trainer's separator marks only step ends.

    Example:
        >>> clean_step("a = 1\\n  so b = 2", "\\n")
        'a = 1 so b = 2'
    """
    if not separator:
        return text
    return " ".join(p.strip() for p in text.split(separator) if p.strip())


def step_labels(task: Task, problem: Problem, text: str) -> tuple[list[str], list[bool]] | None:
    """Our splitter's steps of ``text`` and their labels, or None without a step verifier."""
    verdict = task.verify_steps(problem, text)
    if verdict is None:
        return None
    steps = split_steps(text)
    if not steps:
        return [], []
    if 0 <= verdict.first_error < len(verdict.steps):
        bad_from = verdict.steps[verdict.first_error].start
        labels = [s.end <= bad_from for s in steps]
    else:
        labels = [True] * len(steps)
        if verdict.final_correct is False:
            labels[-1] = False
    return [s.text for s in steps], labels


class StepwiseParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    separator: str = Field(default="\n", min_length=1)  # the PRM trainer's step separator


@export_format("stepwise", StepwiseParams, columns=("prompt", "completions", "labels"), trainer="PRMTrainer",
               trl_type="stepwise supervision (standard)", method="PRM data from exact step labels, METHODS §1.2, §3.3")
def stepwise(source: RunSource, params: StepwiseParams) -> Iterator[Row | Skip]:
    """Every distinct solution as steps with exact per-step labels."""
    for s in source.solutions():
        got = step_labels(source.tasks[s.task_label], s.problem, s.text)
        if got is None:
            yield Skip(f"task {s.task_label}: no step verifier")
            continue
        steps, labels = got
        kept = [(clean_step(t, params.separator), ok) for t, ok in zip(steps, labels)]
        kept = [(t, ok) for t, ok in kept if t]
        if not kept:
            yield Skip("solution with no steps")
            continue
        yield Row({"prompt": s.problem.question, "completions": [t for t, _ in kept],
                   "labels": [ok for _, ok in kept]},
                  {"problem_id": s.problem.id, "task": s.task_label, "unit": s.unit_key, "correct": s.correct})
