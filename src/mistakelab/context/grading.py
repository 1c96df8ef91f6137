"""Grading after solving: the runner's one place where the gold answer meets the answers.

Example:
    >>> from mistakelab.core import AnswerRecord, Problem, Trace
    >>> from mistakelab.tasks import create_task
    >>> t = Trace(strategy="s", problem_id="p", model="m",
    ...           answers=[AnswerRecord(kind="final", extracted="4", method="boxed")])
    >>> grade_trace(t, create_task("gsm8k_sample"), Problem(id="p", question="2+2?", answer="4")).answers[0].correct
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mistakelab.core.trace import Trace
from mistakelab.core.types import Problem

if TYPE_CHECKING:
    from mistakelab.tasks.base import Task


def grade_trace(trace: Trace, task: "Task", problem: Problem) -> Trace:
    """Fill in the verdict of every recorded answer (in place; returns the trace)."""
    for a in trace.answers:
        a.verdict = task.check(problem, a.extracted, a.method)
    return trace
