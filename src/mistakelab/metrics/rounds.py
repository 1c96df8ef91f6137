"""Per-round metrics of multi-turn strategies, from Result.attempts and the stored traces.

From results (Result.attempts: the correctness of each ATTEMPT answer, in order):

- :func:`cumulative_accuracy`: after round i, the share of problems solved by one of the
  first i+1 answers (Feedback Friction's curve; for ``try_again`` entry T-1 is Succ@T);
- :func:`turns_to_success`: mean number of answers up to the first correct one, over the
  problems solved at all (UFO).

From traces:

- :func:`unique_answer_ratio`: UFO's E/T, distinct valid answers / valid answers, averaged
  over problems with at least one answer; :func:`repeat_share`: of the problems never
  solved with two or more answers, the share that gave the same answer every time;
- :func:`verify_pass_rates`: how often a check (PRP's masked number) passed a wrong answer,
  and a right one;
- :func:`change_rate`: the share of revision steps that changed the answer (``wait``,
  ``in_place``); :func:`redactions`: feedback texts redacted and occurrences removed;
  :func:`revision_metrics`: all of them at once, as data.

Example:
    >>> from mistakelab.core.types import Result
    >>> rs = [Result(problem_id=str(i), strategy="try_again", model="m", task="t", final_answer=None,
    ...              correct=any(a), attempts=a) for i, a in enumerate([[True], [False, True], [False, False]])]
    >>> [round(x, 2) for x in cumulative_accuracy(rs)], turns_to_success(rs)
    ([0.33, 0.67], 1.5)
"""

from __future__ import annotations

from typing import Sequence

from mistakelab.answers import answer_key
from mistakelab.core.events import AnswerChangeEvent, RedactionEvent, VerifyEvent
from mistakelab.core.trace import AnswerKind, Trace
from mistakelab.core.types import Result


def cumulative_accuracy(results: Sequence[Result]) -> list[float]:
    """Share of problems solved within the first i+1 answers, for i up to the longest run."""
    done = [r for r in results if r.status == "done"]
    longest = max((len(r.attempts) for r in done), default=0)
    return [sum(1 for r in done if any(r.attempts[:i + 1])) / len(done) for i in range(longest)]


def turns_to_success(results: Sequence[Result]) -> float | None:
    """Mean 1-based index of the first correct answer, over the problems ever solved."""
    firsts = [r.attempts.index(True) + 1 for r in results if r.status == "done" and True in r.attempts]
    return sum(firsts) / len(firsts) if firsts else None


def _attempt_keys(trace: Trace) -> list[str]:
    return [answer_key(a.extracted) for a in trace.answers_of(AnswerKind.ATTEMPT) if a.extracted is not None]


def unique_answer_ratio(traces: Sequence[Trace]) -> float | None:
    """Mean over problems of distinct valid answers / valid answers (UFO's E/T).

    ``None`` when no problem has two or more valid answers: for a strategy that answers once,
    E/T is 1 by construction and says nothing.

    Example:
        >>> from mistakelab.core.trace import AnswerRecord
        >>> t = Trace(strategy="s", problem_id="p", model="m", answers=[
        ...     AnswerRecord(kind="attempt", extracted=x) for x in ["3", "3.0", "4", None]])
        >>> round(unique_answer_ratio([t]), 3)
        0.667
        >>> unique_answer_ratio([Trace(strategy="s", problem_id="p", model="m",
        ...     answers=[AnswerRecord(kind="attempt", extracted="3")])]) is None
        True
    """
    per = [keys for keys in map(_attempt_keys, traces) if keys]
    if not any(len(keys) > 1 for keys in per):
        return None
    return sum(len(set(keys)) / len(keys) for keys in per) / len(per)


def repeat_share(traces: Sequence[Trace]) -> tuple[int, int]:
    """(problems never solved that repeated one answer every time, problems never solved
    with two or more answers); needs graded traces."""
    unsolved = [t for t in traces if not any(a.correct for a in t.answers_of(AnswerKind.ATTEMPT))]
    multi = [keys for keys in map(_attempt_keys, unsolved) if len(keys) >= 2]
    return sum(1 for keys in multi if len(set(keys)) == 1), len(multi)


def verify_pass_rates(traces: Sequence[Trace]) -> dict[str, tuple[int, int]]:
    """``{"wrong": (passed, verified), "right": (passed, verified)}``: answers whose
    verification passed (every check of it), by whether the answer was in fact right
    (graded traces)."""
    out = {"wrong": [0, 0], "right": [0, 0]}
    for t in traces:
        attempts = t.answers_of(AnswerKind.ATTEMPT)
        passed: dict[int, bool] = {}
        for ev in t.events_of(VerifyEvent):
            passed[ev.attempt] = passed.get(ev.attempt, True) and ev.passed
        for i, ok in passed.items():
            if i < len(attempts) and attempts[i].correct is not None:
                slot = out["right" if attempts[i].correct else "wrong"]
                slot[0] += int(ok)
                slot[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def change_rate(traces: Sequence[Trace]) -> tuple[int, int]:
    """(revision steps that changed the answer, revision steps)."""
    evs = [e for t in traces for e in t.events_of(AnswerChangeEvent)]
    return sum(1 for e in evs if e.changed), len(evs)


def redactions(traces: Sequence[Trace]) -> tuple[int, int]:
    """(texts redacted, occurrences of the gold answer removed)."""
    evs = [e for t in traces for e in t.events_of(RedactionEvent)]
    return len(evs), sum(e.count for e in evs)


def revision_metrics(traces: Sequence[Trace]) -> dict[str, object]:
    """Every trace-based figure above for one strategy's graded traces, as plain data (for
    reports): ``unique_answer_ratio``, ``repeat_share``, ``verify_pass`` (by right/wrong),
    ``answer_changed`` and ``redactions`` as (count, out of) pairs.

    Example:
        >>> revision_metrics([])["answer_changed"]
        (0, 0)
    """
    return {"unique_answer_ratio": unique_answer_ratio(traces), "repeat_share": repeat_share(traces),
            "verify_pass": verify_pass_rates(traces), "answer_changed": change_rate(traces),
            "redactions": redactions(traces)}
