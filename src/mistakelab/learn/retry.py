"""``retry`` (Physics of LMs 2.2, METHODS §3.2): gold solutions with wrong steps taken back.

Before each gold step, with probability ``p``, a wrong version of that step is written and
followed by the ``[BACK]`` marker, then the right step comes: the model sees a mistake and
its retraction in one sequence (the paper trains on the wrong tokens too, no masking). Wrong
steps come from the task's error injector, so only generated tasks (``igsm``,
``knights_knaves``) have retry data. Seeded: the same run, ``p`` and ``seed`` give the same
rows.

Example:
    >>> from mistakelab.tasks import create_task
    >>> task = create_task("igsm", {"min_ops": 2, "max_ops": 3})
    >>> p = task.load(1, seed=0)[0]
    >>> text = retry_solution(task, p, p_wrong=1.0, seed=0)
    >>> text.count("[BACK]") == len(p.steps)
    True
    >>> retry_solution(task, p, p_wrong=0.0, seed=0) == task.gold_solution(p)
    True
"""

from __future__ import annotations

import random
from typing import Iterator

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.types import Problem
from mistakelab.learn.formats import Row, Skip, assistant, chat, export_format
from mistakelab.learn.source import RunSource
from mistakelab.tasks.base import Task

MARKER = "[BACK]"


def retry_solution(task: Task, problem: Problem, p_wrong: float, seed: int, marker: str = MARKER) -> str | None:
    """The gold solution with wrong steps inserted and taken back, or None without gold steps."""
    gold = task.gold_solution(problem)
    if gold is None or not problem.steps:
        return None
    rng = random.Random(f"retry-{seed}-{problem.id}")
    out, pos = [], 0
    for i, ref in enumerate(problem.steps):
        at = gold.find(ref.text, pos)
        if at < 0:
            return None
        out.append(gold[pos:at])
        if rng.random() < p_wrong:
            try:
                bad = task.inject_error(problem, i, seed=seed)
            except (NotImplementedError, ValueError, IndexError):
                bad = None  # this step has no wrong version that changes the answer
            if bad is not None:
                out.append(f"{bad.steps[bad.first_error]} {marker}\n")
        out.append(ref.text)
        pos = at + len(ref.text)
    out.append(gold[pos:])
    return "".join(out)


class RetryParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    p: float = Field(default=0.5, ge=0, le=1)  # rate of wrong steps before each gold step
    seed: int = 0
    only_mistakes: bool = False  # only problems the model got wrong somewhere in the run


@export_format("retry", RetryParams, columns=("prompt", "completion"), trainer="SFTTrainer",
               trl_type="prompt-completion (conversational)", method="Physics of LMs 2.2 retry data, METHODS §3.2")
def retry(source: RunSource, params: RetryParams) -> Iterator[Row | Skip]:
    """Gold solutions with wrong steps at rate p, each followed by [BACK] and the right step."""
    wrong = {(s.task_label, s.problem.id) for s in source.solutions() if not s.correct}
    for (label, pid), problem in source.problems.items():
        if params.only_mistakes and (label, pid) not in wrong:
            continue
        text = retry_solution(source.tasks[label], problem, params.p, params.seed)
        if text is None:
            yield Skip(f"task {label}: no gold steps (retry data needs a generated task)")
            continue
        yield Row({"prompt": chat(source.prompt(label, problem)), "completion": assistant(text)},
                  {"problem_id": pid, "task": label, "back": text.count(MARKER)})
