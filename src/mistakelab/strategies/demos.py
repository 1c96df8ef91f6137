"""Demonstrations of mistakes for in-context learning (``contrastive``): a question with a
wrong and a right solution (or just the two answers).

- :func:`generated_demos`: problems of a task with gold steps (``igsm``, ``knights_knaves``)
  whose gold solution gets one injected error (``task.inject_error``) as the wrong solution.
- :func:`run_demos`: a stored run's own mistakes (:func:`stored_solutions`): each unit whose
  first solution is wrong gives it as the wrong one; the right one is the task's gold solution, else a
  correct solution of another strategy on the same problem in that run, else none (the
  demo then shows only the right answer).

Both are deterministic and cached per process (the same demonstrations for every problem,
so a prefix cache evaluates them once); the strategy drops any demonstration of the problem
being solved.

Example:
    >>> ds = generated_demos("igsm", '{"min_ops": 2, "max_ops": 3}', 2, seed=0)
    >>> len(ds), ds[0].wrong_answer != ds[0].right_answer, ds[0].problem_id
    (2, True, 'igsm-1000-0')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mistakelab.core.trace import Trace
from mistakelab.core.types import Problem
from mistakelab.tasks.base import Task, create_task

#: Generated demonstrations use this seed offset, so they never coincide with problems of
#: the same generator loaded with a small seed.
SEED_OFFSET = 1000


@dataclass(frozen=True)
class Demo:
    problem_id: str
    question: str
    wrong: str
    wrong_answer: str | None
    right: str | None  # a correct solution, when one is known
    right_answer: str


@lru_cache(maxsize=32)
def generated_demos(task_name: str, options_json: str, n: int, seed: int = 0) -> tuple[Demo, ...]:
    """``n`` problems of ``task_name`` (options as JSON; seed ``SEED_OFFSET + seed``), each
    with its gold solution and that solution with one error injected at its middle step."""
    task = create_task(task_name, json.loads(options_json))
    out: list[Demo] = []
    for p in task.load(3 * n, SEED_OFFSET + seed):
        if len(out) == n:
            break
        try:
            bad = task.inject_error(p, len(p.steps or ()) // 2, seed=seed)
        except (ValueError, IndexError, RuntimeError, NotImplementedError):
            continue  # this problem has no usable error to inject; take the next one
        out.append(Demo(p.id, p.question, bad.text, task.extract(bad.text).text, task.gold_solution(p), p.answer))
    return tuple(out)


@dataclass(frozen=True)
class StoredSolution:
    """The first solution of one finished unit of a stored run."""

    strategy: str
    task: Task
    problem: Problem
    text: str
    correct: bool


def stored_solutions(store_path: str, run: str) -> list[StoredSolution]:
    """The first solution (ATTEMPT or SAMPLE) of every finished unit of the stored run
    ``run`` (id, id prefix, or name: the latest of that name), in unit order, with its problem
    and task."""
    from mistakelab.store import StoredRun

    try:
        stored = StoredRun.open(store_path, run)
    except LookupError as exc:
        raise ValueError(str(exc)) from None
    try:
        out: list[StoredSolution] = []
        for u in stored.units():
            if u.result is None or u.result.status != "done" or u.task not in stored.task_specs:
                continue
            trace = stored.trace(u.unit_key)
            text = _first_solution_text(trace) if trace else None
            p = stored.problems_of(u.task).get(u.problem_id)
            if text is not None and p is not None:
                first = trace.first_solution() if trace else None
                out.append(StoredSolution(u.strategy, stored.task(u.task), p, text, bool(first and first.correct)))
        return out
    finally:
        stored.store.close()


@lru_cache(maxsize=32)
def run_demos(store_path: str, run: str, n: int) -> tuple[Demo, ...]:
    """Up to ``n`` mistakes of the stored run ``run`` (id or name), one per problem, in unit order."""
    sols = stored_solutions(store_path, run)
    right = {}
    for s in sols:
        if s.correct:
            right.setdefault(s.problem.id, s.text)
    out: list[Demo] = []
    for s in sols:
        if len(out) == n:
            break
        if s.correct or any(d.problem_id == s.problem.id for d in out):
            continue
        p = s.problem
        out.append(Demo(p.id, p.question, s.text, s.task.extract(s.text).text,
                        s.task.gold_solution(p) or right.get(p.id), p.answer))
    return tuple(out)


def _first_solution_text(trace: Trace) -> str | None:
    first = trace.first_solution()
    if first is None or first.call is None:
        return None
    call = trace.calls[first.call]
    return (call.prefix or "") + call.completion.text
