"""Strategies on the scripted backend: answers recorded, votes, stopping rules, roles."""

from __future__ import annotations

import asyncio

import pytest

from mistakelab.backends import ScriptedBackend, ScriptExhausted
from mistakelab.core import AnswerKind, CritiqueEvent, Problem, StopEvent, VoteEvent
from mistakelab.runner import solve
from mistakelab.strategies import StrategyContext, StrategySpec, majority, parse_verdict

from conftest import ToyAdd

PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


def run(strategy: dict, outputs, roles=None, **kw):  # type: ignore[no-untyped-def]
    fake = outputs if isinstance(outputs, ScriptedBackend) else ScriptedBackend(outputs)
    trace, result = asyncio.run(solve(strategy, fake, PROBLEM, ToyAdd(), roles=roles, **kw))
    return trace, fake, result


def test_cot_one_call_and_final_answer() -> None:
    trace, fake, r = run({"name": "cot"}, ["2 + 3 = 5, so \\boxed{5}"])
    assert len(fake.calls) == 1 and r.correct and r.final_answer == "5"
    assert r.first_correct is True and r.pass_at_k is None and not r.used_gold
    assert [a.kind for a in trace.answers] == [AnswerKind.ATTEMPT, AnswerKind.FINAL]
    assert r.attempts == [True] and r.usage["solver"].calls == 1


def test_self_consistency_majority_pass_at_k_and_seeds() -> None:
    outs = ["\\boxed{4}", "\\boxed{5}", "\\boxed{4}", "no idea"]
    trace, fake, r = run({"name": "self_consistency", "k": 4}, outs)
    assert r.final_answer == "4" and not r.correct
    assert r.pass_at_k is True  # one sample had 5
    seeds = [c.params.seed for c in fake.calls]
    assert len(set(seeds)) == 4 and all(s is not None for s in seeds)
    assert all(c.params.temperature == 0.7 for c in fake.calls)
    assert [a.kind for a in trace.answers] == [AnswerKind.SAMPLE] * 4 + [AnswerKind.FINAL]
    (vote,) = trace.events_of(VoteEvent)
    assert (vote.winner, vote.votes, vote.tally) == ("4", 2.0, {"4": 2.0, "5": 1.0})


def test_self_consistency_seeds_are_reproducible() -> None:
    a = run({"name": "self_consistency", "k": 3}, ["\\boxed{1}"] * 3)[1]
    b = run({"name": "self_consistency", "k": 3}, ["\\boxed{1}"] * 3)[1]
    assert [c.params.seed for c in a.calls] == [c.params.seed for c in b.calls]


def test_samples_of_k4_are_the_first_samples_of_k8() -> None:
    # seeds come from (purpose, index), not from the parameters: maj@4 is nested in maj@8
    four = run({"name": "self_consistency", "k": 4}, ["\\boxed{1}"] * 4)[1]
    eight = run({"name": "self_consistency", "k": 8}, ["\\boxed{1}"] * 8)[1]
    assert [c.params.seed for c in eight.calls][:4] == [c.params.seed for c in four.calls]


@pytest.mark.parametrize(
    "answers, expected",
    [(["3", "4", "4", None, "3"], "3"),  # tie 2-2: first seen wins
     (["4", "3", "3"], "3"),
     ([None, None], None),
     (["1,000", "1000", "7"], "1,000")],  # equivalent answers pool their votes
)
def test_majority_tie_rule(answers, expected) -> None:  # type: ignore[no-untyped-def]
    assert majority(answers, key=ToyAdd().answer_key) == expected


def test_weighted_majority() -> None:
    assert majority(["3", "4", "4"], weights=[3.0, 1.0, 1.0]) == "3"


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


def test_scripted_backend_fails_loudly_when_exhausted() -> None:
    with pytest.raises(ScriptExhausted, match="no output left"):
        run({"name": "self_refine", "rounds": 1}, ["\\boxed{6}"])


def test_record_answer_returns_answer_not_correctness() -> None:
    ctx = StrategyContext.standalone(ScriptedBackend([]), PROBLEM, ToyAdd())
    assert ctx.record_answer("so \\boxed{5}") == "5"
    assert ctx.trace.answers[0].verdict is None and not ctx.trace.used_gold
    assert ctx.oracle_check("\\boxed{5}") is True
    assert ctx.trace.used_gold


def test_strategy_never_sees_the_gold_answer() -> None:
    ctx = StrategyContext.standalone(ScriptedBackend([]), PROBLEM, ToyAdd())
    assert not hasattr(ctx.problem, "answer") and ctx.problem.question == PROBLEM.question


def test_unknown_strategy_and_bad_params_name_the_problem() -> None:
    with pytest.raises(KeyError, match="unknown strategy 'nope'.*cot"):
        StrategySpec(name="nope").resolve()
    with pytest.raises(ValueError, match="(?s)self_consistency.*k"):
        StrategySpec.model_validate({"name": "self_consistency", "k": 0}).resolve()
