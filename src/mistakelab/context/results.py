"""Turn a graded trace into a :class:`Result`, or a failed unit into a failed one
(the runner calls these after grading; see :mod:`mistakelab.context.grading`)."""

from __future__ import annotations

from typing import Callable

from mistakelab.answers import answer_key
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


def final_text(trace: Trace, key: Callable[[str], str] = answer_key) -> tuple[str, str]:
    """(text, finish reason) of the completion that held the final answer: the call the final
    answer was recorded from, else (a vote or a chosen answer) the latest attempt with that
    answer (``key`` groups equivalent answers), else the first sample with it (a vote's winner
    as it first appeared), else the last recorded solution. A continued turn's text is its
    prefix and the continuation (the proxy's answer; a pipeline stage's draft).

    Example:
        >>> from mistakelab.core import AnswerRecord, CallRecord, Completion, GenParams, Trace
        >>> calls = [CallRecord(index=i, purpose="sample", model="m", messages=[], params=GenParams(),
        ...                     completion=Completion(text=t)) for i, t in enumerate(["so 3", "so 4", "hence 4"])]
        >>> answers = [AnswerRecord(kind="sample", call=i, extracted=a) for i, a in enumerate("344")]
        >>> final_text(Trace(strategy="sc", problem_id="p", model="m", calls=calls,
        ...                  answers=[*answers, AnswerRecord(kind="final", extracted="4")]))
        ('so 4', 'stop')
    """
    final = trace.final_answer()

    def of(call: int) -> tuple[str, str]:
        rec = trace.calls[call]  # a continued turn is its prefix and the continuation
        return (rec.prefix or "") + rec.completion.text, rec.completion.finish_reason

    if final is None:
        return (of(len(trace.calls) - 1) if trace.calls else ("", "stop"))
    if final.call is not None:
        return of(final.call)

    def same(a: str | None) -> bool:
        return a == final.extracted if a is None or final.extracted is None else key(a) == key(final.extracted)

    with_call = [a for a in trace.answers if a.call is not None and a.kind != AnswerKind.FINAL]
    attempts = [a for a in with_call if a.kind == AnswerKind.ATTEMPT and same(a.extracted)]
    samples = [a for a in with_call if a.kind == AnswerKind.SAMPLE and same(a.extracted)]
    chosen = attempts[-1] if attempts else samples[0] if samples else with_call[-1] if with_call else None
    if chosen is not None:
        return of(chosen.call)  # type: ignore[arg-type]
    return of(len(trace.calls) - 1) if trace.calls else ("", "stop")
