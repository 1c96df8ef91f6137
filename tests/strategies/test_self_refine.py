"""``self_refine`` on the scripted backend: stop rules, rounds, a critic role; reading verdicts."""

from __future__ import annotations

from mistakelab.backends import ScriptedBackend
from mistakelab.core import CritiqueEvent, StopEvent
from mistakelab.strategies import parse_verdict

from strategy_helpers import run


def test_self_refine_stops_when_critique_says_correct() -> None:
    trace, fake, r = run({"name": "self_refine", "rounds": 3},
                         ["\\boxed{6}", "Looks fine.\nVERDICT: CORRECT"])
    assert len(fake.calls) == 2 and r.final_answer == "6" and not r.correct
    assert [m.role for m in fake.calls[1].messages] == ["user", "assistant", "user"]
    assert "Review your solution" in fake.calls[1].messages[-1].content
    assert not trace.used_gold
    assert trace.events_of(StopEvent) == [StopEvent(reason="critique says correct", rounds=1)]


def test_self_refine_refines_and_counts_wrong_to_right() -> None:
    outs = ["\\boxed{6}", "2+3 is 5 not 6.\nVERDICT: INCORRECT", "Fixed: \\boxed{5}",
            "VERDICT: CORRECT"]
    trace, fake, r = run({"name": "self_refine", "rounds": 2}, outs)
    assert r.first_correct is False and r.correct and r.calls == 4
    assert r.attempts == [False, True]
    refine_call = fake.calls[2]
    assert [m.role for m in refine_call.messages] == ["user", "assistant", "user", "assistant", "user"]
    assert "2+3 is 5 not 6" in refine_call.messages[-2].content


def test_self_refine_stops_after_rounds_and_treats_unparsed_verdict_as_incorrect() -> None:
    outs = ["\\boxed{6}", "hmm", "\\boxed{7}", "VERDICT: INCORRECT", "\\boxed{8}"]
    trace, fake, r = run({"name": "self_refine", "rounds": 2}, outs)
    assert len(fake.calls) == 5 and r.final_answer == "8"
    assert [c.parsed for c in trace.events_of(CritiqueEvent)] == [False, True]


def test_self_refine_with_a_critic_role() -> None:
    solver = ScriptedBackend(["\\boxed{6}", "Fixed: \\boxed{5}"], model_id="solver-m")
    critic = ScriptedBackend(["6 is wrong.\nVERDICT: INCORRECT", "VERDICT: CORRECT"], model_id="critic-m")
    trace, _, r = run({"name": "self_refine", "rounds": 2, "critic": "critic-m"}, solver,
                      roles={"critic": critic})
    assert r.correct and len(solver.calls) == 2 and len(critic.calls) == 2
    # the critic sees the problem and the solution in one user message
    first_review = critic.calls[0].messages
    assert [m.role for m in first_review] == ["user"]
    assert "What is 2 + 3?" in first_review[0].content and "\\boxed{6}" in first_review[0].content
    # the solver gets the critic's review as a user turn
    assert "6 is wrong." in solver.calls[1].messages[-1].content
    assert [c.role for c in trace.calls] == ["solver", "critic", "solver", "critic"]
    assert r.usage["critic"].calls == 2 and r.usage["solver"].calls == 2
    assert [e.role for e in trace.events_of(CritiqueEvent)] == ["critic", "critic"]


def test_parse_verdict_last_line_wins() -> None:
    assert parse_verdict("VERDICT: INCORRECT ... on reflection VERDICT: CORRECT") is True
    assert parse_verdict("**VERDICT:** INCORRECT") is False
    assert parse_verdict("I think it is right") is None
