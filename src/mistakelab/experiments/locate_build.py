"""Build a locator benchmark from generated tasks with exact step truth.

Three kinds of records: a model's own solutions labeled by the task's exact step verifier
(``natural``), gold solutions with one injected error at a chosen step (``injected``), and
untouched gold solutions (``gold``, label -1). Natural solutions whose final answer is wrong
but where the verifier flags no step cannot be labeled exactly: they are counted and left
out, never guessed.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from mistakelab.core.types import GenParams, Problem
from mistakelab.locate.records import LocateRecord
from mistakelab.runner.caller import ModelCaller
from mistakelab.tasks.base import Task


@dataclass
class BuildReport:
    natural_correct: int = 0
    natural_wrong_labeled: int = 0
    natural_unlabeled: int = 0  # wrong final answer, no step flagged: left out
    natural_errors: int = 0  # model call failed
    injected: int = 0
    gold: int = 0
    first_error_hist: dict[int, int] = field(default_factory=dict)


def _record(rid: str, task_name: str, opts: dict[str, Any], p: Problem, steps: list[str], label: int,
            final_ok: bool, source: str, split: str) -> LocateRecord:
    return LocateRecord(id=rid, problem=p.question, steps=steps, label=label, final_answer_correct=final_ok,
                        split=split, gold_answer=p.answer, source=source, task=task_name,
                        task_options=opts, problem_data=p.model_dump(mode="json"))


async def natural_records(task: Task, task_name: str, opts: dict[str, Any], problems: list[Problem],
                          caller: ModelCaller, params: GenParams, samples: int, split: str,
                          report: BuildReport, concurrency: int = 8) -> list[LocateRecord]:
    """The policy model's solutions (greedy, plus ``samples - 1`` sampled at T=0.7), labeled."""
    sem = asyncio.Semaphore(concurrency)

    async def one(p: Problem, j: int) -> LocateRecord | None:
        async with sem:
            pj = params if j == 0 else params.with_(temperature=0.7, seed=1000 + j)
            c = await caller.generate(f"build|{p.id}|{j}", "solve", task.prompt(p), pj)
        if not c.ok:
            report.natural_errors += 1
            return None
        verdict = task.verify_steps(p, c.text)
        final_ok = task.verify(p, c.text).correct
        if verdict is None or not verdict.steps:
            report.natural_unlabeled += 1
            return None
        label = verdict.first_error
        if label == -1 and not final_ok:
            report.natural_unlabeled += 1
            return None
        if label == -1:
            report.natural_correct += 1
        else:
            report.natural_wrong_labeled += 1
            report.first_error_hist[label] = report.first_error_hist.get(label, 0) + 1
        return _record(f"{p.id}-nat{j}", task_name, opts, p, [s.text for s in verdict.steps], label,
                       final_ok, "natural", split)

    outs = await asyncio.gather(*(one(p, j) for p in problems for j in range(samples)))
    return [r for r in outs if r is not None]


def injected_records(task: Task, task_name: str, opts: dict[str, Any], problems: list[Problem], n: int,
                     seed: int, split: str, report: BuildReport) -> list[LocateRecord]:
    """``n`` gold solutions with one error each, at a seeded random step."""
    rng = random.Random(f"inject-{seed}")
    out = []
    for i in range(n):
        p = problems[i % len(problems)]
        n_steps = len(p.steps or [])
        if n_steps == 0:
            continue
        step = rng.randrange(n_steps)
        inj = task.inject_error(p, step, seed=seed + i)
        out.append(_record(f"{p.id}-inj{i}", task_name, opts, p, inj.steps, inj.first_error, False, "injected", split))
        report.injected += 1
    return out


def gold_records(task: Task, task_name: str, opts: dict[str, Any], problems: list[Problem], n: int,
                 split: str, report: BuildReport) -> list[LocateRecord]:
    """``n`` untouched gold solutions (label -1), split by the task's own verifier."""
    out = []
    for p in problems[:n]:
        text = task.gold_solution(p)
        verdict = task.verify_steps(p, text) if text else None
        if verdict is None or verdict.first_error != -1:
            continue
        out.append(_record(f"{p.id}-gold", task_name, opts, p, [s.text for s in verdict.steps], -1, True,
                           "gold", split))
        report.gold += 1
    return out


def by_problem(records: list[LocateRecord], problems: list[Problem]) -> list[LocateRecord]:
    """Records of the same problem next to each other (stable), so that locators running
    them concurrently share the problem's prompt prefix in the local engine's KV cache."""
    order = {p.id: i for i, p in enumerate(problems)}

    def key(r: LocateRecord) -> int:
        pid = (r.problem_data or {}).get("id")
        return order.get(pid, len(order)) if isinstance(pid, str) else len(order)

    return sorted(records, key=key)
