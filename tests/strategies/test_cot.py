"""``cot`` on the scripted backend."""

from __future__ import annotations

from mistakelab.core import AnswerKind

from strategy_helpers import run


def test_cot_one_call_and_final_answer() -> None:
    trace, fake, r = run({"name": "cot"}, ["2 + 3 = 5, so \\boxed{5}"])
    assert len(fake.calls) == 1 and r.correct and r.final_answer == "5"
    assert r.first_correct is True and r.pass_at_k is None and not r.used_gold
    assert [a.kind for a in trace.answers] == [AnswerKind.ATTEMPT, AnswerKind.FINAL]
    assert r.attempts == [True] and r.usage["solver"].calls == 1
