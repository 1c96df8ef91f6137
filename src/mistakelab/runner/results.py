"""Turn a finished trace into a :class:`Result`."""

from __future__ import annotations

from mistakelab.core.types import Result, Trace


def build_result(trace: Trace, task: str, seconds: float, oracle: bool = False) -> Result:
    """Summarize a trace: final and first answers, pass@k over samples, cost.

    The final answer is the last answer with stage ``final`` (else the last answer); the
    first answer is the first one recorded, so wrong→right counts compare the two.
    """
    answers = trace.answers
    finals = [a for a in answers if a.stage == "final"]
    final = finals[-1] if finals else (answers[-1] if answers else None)
    samples = [a for a in answers if a.stage == "sample"]
    errors = [c.completion.error for c in trace.calls if c.completion.error]
    return Result(
        problem_id=trace.problem_id,
        strategy=trace.strategy,
        model=trace.model,
        task=task,
        final_answer=final.verdict.extracted if final else None,
        correct=bool(final and final.verdict.correct),
        first_correct=answers[0].verdict.correct if answers else None,
        pass_at_k=any(a.verdict.correct for a in samples) if samples else None,
        prompt_tokens=sum(c.completion.prompt_tokens for c in trace.calls),
        completion_tokens=sum(c.completion.completion_tokens for c in trace.calls),
        calls=len(trace.calls),
        seconds=seconds,
        used_gold=trace.used_gold or oracle,
        error=errors[0] if errors else None,
    )
