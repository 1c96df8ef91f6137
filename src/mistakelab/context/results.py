"""Turn a graded trace into a :class:`Result`, or a failed unit into a failed one
(the runner calls these after grading; see :mod:`mistakelab.context.grading`)."""

from __future__ import annotations

from mistakelab.core.trace import AnswerKind, Trace
from mistakelab.core.types import Result, Usage


def usage_by_role(trace: Trace) -> dict[str, Usage]:
    """Calls and tokens per model role (cache hits count: they are the strategy's cost)."""
    usage: dict[str, Usage] = {}
    for c in trace.calls:
        u = usage.setdefault(c.role, Usage())
        u.calls += 1
        u.cached += int(c.completion.cached)
        u.prompt_tokens += c.completion.prompt_tokens
        u.completion_tokens += c.completion.completion_tokens
    return usage


def build_result(trace: Trace, task: str, seconds: float, oracle: bool = False, gold: bool = True) -> Result:
    """Summarize a graded trace: final and first answers, pass@k over samples, cost.

    The final answer is the last FINAL answer (else the last solution); the first answer is
    the first solution (ATTEMPT or SAMPLE), so wrong→right counts compare the two.
    ``gold=False``: a problem without a gold answer (served traffic); the trace is not
    graded and the result carries no correctness (``correct`` False, the others None/empty).
    """
    if gold and not trace.graded:
        raise ValueError("build_result needs a graded trace (grade_trace first)")
    final, first = trace.final_answer(), trace.first_solution()
    samples = trace.answers_of(AnswerKind.SAMPLE)
    usage = usage_by_role(trace)
    return Result(
        problem_id=trace.problem_id,
        strategy=trace.strategy,
        model=trace.model,
        task=task,
        final_answer=final.extracted if final else None,
        correct=bool(gold and final and final.correct),
        first_correct=first.correct if first and gold else None,
        pass_at_k=any(a.correct for a in samples) if samples and gold else None,
        prompt_tokens=sum(u.prompt_tokens for u in usage.values()),
        completion_tokens=sum(u.completion_tokens for u in usage.values()),
        calls=len(trace.calls),
        seconds=seconds,
        used_gold=trace.used_gold or oracle,
        usage=usage,
        attempts=[bool(a.correct) for a in trace.answers_of(AnswerKind.ATTEMPT)] if gold else [],
    )


def failed_result(trace: Trace, task: str, seconds: float, error: str) -> Result:
    """A unit that produced no result: a call failed after retries, or the strategy raised."""
    usage = usage_by_role(trace)
    return Result(
        status="failed", problem_id=trace.problem_id, strategy=trace.strategy, model=trace.model,
        task=task, final_answer=None, correct=False, calls=len(trace.calls), seconds=seconds,
        prompt_tokens=sum(u.prompt_tokens for u in usage.values()),
        completion_tokens=sum(u.completion_tokens for u in usage.values()),
        used_gold=trace.used_gold, error=error, usage=usage,
    )
