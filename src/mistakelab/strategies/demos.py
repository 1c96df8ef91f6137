"""Demonstrations of mistakes for in-context learning (``contrastive``): a question with a
wrong and a right solution (or just the two answers).

- :func:`generated_demos`: problems of a task with gold steps (``igsm``, ``knights_knaves``)
  whose gold solution gets one injected error (``task.inject_error``) as the wrong solution.
- :func:`run_demos`: a stored run's own mistakes: each unit with a wrong final answer gives
  its first solution as the wrong one; the right one is the task's gold solution, else a
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

from mistakelab.core.trace import AnswerKind
from mistakelab.tasks.base import create_task

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


@lru_cache(maxsize=32)
def run_demos(store_path: str, run: str, n: int) -> tuple[Demo, ...]:
    """Up to ``n`` mistakes of the stored run ``run`` (id or name), in problem order."""
    from mistakelab.store import RunStore

    st = RunStore(store_path)
    try:
        info = st.get_run(run) or next((r for r in reversed(st.list_runs()) if r.name == run), None)
        if info is None:
            raise ValueError(f"contrastive: no run {run!r} in {store_path}")
        specs = {(t.get("label") or t["name"]): t for t in info.config.get("tasks", [])}
        units = [u for u in st.units(info.id) if u.result and u.result.status == "done"]
        right_by_problem: dict[tuple[str, str], str] = {}
        for u in units:
            trace = st.trace(info.id, u.unit_key) if u.result.correct else None
            if trace and (first := _first_solution_text(trace)):
                right_by_problem.setdefault((u.task, u.problem_id), first)
        out: list[Demo] = []
        problems: dict[str, dict[str, Any]] = {}
        for u in units:
            if len(out) == n:
                break
            trace = None if u.result.correct else st.trace(info.id, u.unit_key)
            wrong = _first_solution_text(trace) if trace else None
            if wrong is None or u.task not in specs:
                continue
            if u.task not in problems:
                problems[u.task] = {p.id: p for p in st.load_problems(info.id, u.task)}
            p = problems[u.task].get(u.problem_id)
            if p is None or any(d.problem_id == p.id for d in out):
                continue
            task = create_task(specs[u.task]["name"], specs[u.task].get("options") or {})
            right = task.gold_solution(p) or right_by_problem.get((u.task, p.id))
            out.append(Demo(p.id, p.question, wrong, task.extract(wrong).text, right, p.answer))
        return tuple(out)
    finally:
        st.close()


def _first_solution_text(trace: Any) -> str | None:
    first = next((a for a in trace.answers if a.kind in (AnswerKind.ATTEMPT, AnswerKind.SAMPLE)), None)
    if first is None or first.call is None:
        return None
    call = trace.calls[first.call]
    return (call.prefix or "") + call.completion.text
