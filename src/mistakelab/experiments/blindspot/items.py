"""The items of the blind-spot experiment: a problem, the task that grades answers to it,
and an erroneous text to place in the model's turn or in the user's message.

- level 1 (:func:`level1`): a templated fact and a wrong final answer one step off;
- level 2 (:func:`level2`): a generated problem with gold steps (``igsm``, ``knights_knaves``)
  and its gold solution with one injected error, cut right after the wrong step;
- level 3 (:func:`level3`): a stored run's real wrong solutions, cut right after their first
  wrong step (found by the task's exact step verifier where it has one, else by the
  arithmetic checker), or whole when no step is found wrong.

A level-2 or level-3 text stops after the error, so the model has to go on; carrying the
error forward gives a wrong final answer, so a correct one means the error was corrected.

Example:
    >>> items = level1(2, seed=0)
    >>> items[0].error, items[0].problem.answer
    ('The answer is \\\\boxed{888}.', '887')
    >>> it = level2(1, seed=0)[0]
    >>> it.kind, it.error.endswith("\\n"), it.task.verify(it.problem, it.error).correct
    ('wrong_value', True, False)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from mistakelab.core.types import Problem
from mistakelab.experiments.blindspot.facts import ERROR_TEMPLATE, FactsTask
from mistakelab.steps.arithmetic import check_arithmetic
from mistakelab.steps.split import split_steps
from mistakelab.strategies.demos import stored_solutions
from mistakelab.tasks.base import Task, create_task


@dataclass(frozen=True)
class Item:
    level: int
    problem: Problem
    task: Task
    error: str  # the erroneous text, as the model's turn begins or the user's message ends
    kind: str  # level 1: the fact's kind; 2: the injected error's kind; 3: "first_error" or "whole"


def level1(n: int, seed: int = 0) -> list[Item]:
    """``n`` templated facts (the kinds in turn), each with its one-step-off wrong answer."""
    task = FactsTask()
    return [Item(1, p, task, ERROR_TEMPLATE.format(wrong=p.metadata["wrong"]), p.metadata["kind"])
            for p in task.load(n, seed)]


def level2(n: int, seed: int = 0, task_name: str = "igsm", options: dict[str, Any] | None = None) -> list[Item]:
    """``n`` generated problems, each with its gold solution up to one injected error
    (at a random step other than the last, where there is one)."""
    task = create_task(task_name, {"min_ops": 3, "max_ops": 5} if options is None and task_name == "igsm"
                       else options or {})
    out: list[Item] = []
    for p in task.load(2 * n, seed):
        if len(out) == n:
            break
        rng = random.Random(f"blindspot-2-{p.id}")
        step = rng.randrange(max(len(p.steps or ()) - 1, 1))
        try:
            bad = task.inject_error(p, step, seed=seed)
        except (ValueError, IndexError, RuntimeError):
            continue  # no detectable error to inject here: take the next problem
        cut = split_steps(bad.text)[bad.first_error].end
        out.append(Item(2, p, task, bad.text[:cut].rstrip() + "\n", bad.kind))
    return out


def _cut_after_first_error(task: Task, problem: Problem, text: str) -> tuple[str, str]:
    verdict = task.verify_steps(problem, text) or check_arithmetic(text)
    k = verdict.first_error
    if k is None or k < 0 or k >= len(verdict.steps):
        return text, "whole"
    return text[:verdict.steps[k].end].rstrip() + "\n", "first_error"


def level3(store_path: str, run: str, n: int, strategy: str = "cot") -> list[Item]:
    """Up to ``n`` wrong first solutions of ``strategy`` in the stored run ``run`` (id or name)."""
    out: list[Item] = []
    for s in stored_solutions(store_path, run):
        if len(out) == n:
            break
        if s.strategy == strategy and not s.correct:
            error, kind = _cut_after_first_error(s.task, s.problem, s.text)
            out.append(Item(3, s.problem, s.task, error, kind))
    return out
