"""Strategies on the scripted backend: answers recorded, votes, stopping rules."""

from __future__ import annotations

import asyncio

import pytest

from mistakelab.backends import ScriptedBackend, ScriptExhausted
from mistakelab.core.types import Problem
from mistakelab.runner.results import build_result
from mistakelab.strategies import StrategyContext, StrategySpec, majority, parse_verdict

from conftest import ToyAdd

PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


def run(strategy: dict, outputs, **ctx_kw):  # type: ignore[no-untyped-def]
    spec = StrategySpec.model_validate(strategy)
    sdef, params = spec.resolve()
    fake = outputs if isinstance(outputs, ScriptedBackend) else ScriptedBackend(outputs)
    ctx = StrategyContext.standalone(fake, PROBLEM, ToyAdd(), strategy=spec.label, **ctx_kw)
    asyncio.run(sdef.fn(ctx, params))
    return ctx, fake, build_result(ctx.trace, "toy", 0.0, oracle=sdef.oracle)


def test_cot_one_call_and_final_answer() -> None:
    ctx, fake, r = run({"name": "cot"}, ["2 + 3 = 5, so \\boxed{5}"])
    assert len(fake.calls) == 1 and r.correct and r.final_answer == "5"
    assert r.first_correct is True and r.pass_at_k is None and not r.used_gold


def test_self_consistency_majority_pass_at_k_and_seeds() -> None:
    outs = ["\\boxed{4}", "\\boxed{5}", "\\boxed{4}", "no idea"]
    ctx, fake, r = run({"name": "self_consistency", "k": 4}, outs)
    assert r.final_answer == "4" and not r.correct
    assert r.pass_at_k is True  # one sample had 5
    seeds = [c.params.seed for c in fake.calls]
    assert len(set(seeds)) == 4 and all(s is not None for s in seeds)
    assert all(c.params.temperature == 0.7 for c in fake.calls)
    assert [a.stage for a in ctx.trace.answers] == ["sample"] * 4 + ["final"]


def test_self_consistency_seeds_are_reproducible() -> None:
    a = run({"name": "self_consistency", "k": 3}, ["\\boxed{1}"] * 3)[1]
    b = run({"name": "self_consistency", "k": 3}, ["\\boxed{1}"] * 3)[1]
    assert [c.params.seed for c in a.calls] == [c.params.seed for c in b.calls]


@pytest.mark.parametrize(
    "answers, expected",
    [(["3", "4", "4", None, "3"], "3"),  # tie 2-2: first seen wins
     (["4", "3", "3"], "3"),
     ([None, None], None),
     (["1,000", "1000", "7"], "1,000")],  # equivalent answers pool their votes
)
def test_majority_tie_rule(answers, expected) -> None:  # type: ignore[no-untyped-def]
    assert majority(answers, key=ToyAdd().answer_key) == expected


def test_self_refine_stops_when_critique_says_correct() -> None:
    ctx, fake, r = run({"name": "self_refine", "rounds": 3},
                       ["\\boxed{6}", "Looks fine.\nVERDICT: CORRECT"])
    assert len(fake.calls) == 2 and r.final_answer == "6" and not r.correct
    assert [m.role for m in fake.calls[1].messages] == ["user", "assistant", "user"]
    assert "Review your solution" in fake.calls[1].messages[-1].content
    assert not ctx.trace.used_gold


def test_self_refine_refines_and_counts_wrong_to_right() -> None:
    outs = ["\\boxed{6}", "2+3 is 5 not 6.\nVERDICT: INCORRECT", "Fixed: \\boxed{5}",
            "VERDICT: CORRECT"]
    ctx, fake, r = run({"name": "self_refine", "rounds": 2}, outs)
    assert r.first_correct is False and r.correct and r.calls == 4
    refine_call = fake.calls[2]
    assert [m.role for m in refine_call.messages] == ["user", "assistant", "user", "assistant", "user"]
    assert "2+3 is 5 not 6" in refine_call.messages[-2].content


def test_self_refine_stops_after_rounds_and_treats_unparsed_verdict_as_incorrect() -> None:
    outs = ["\\boxed{6}", "hmm", "\\boxed{7}", "VERDICT: INCORRECT", "\\boxed{8}"]
    ctx, fake, r = run({"name": "self_refine", "rounds": 2}, outs)
    assert len(fake.calls) == 5 and r.final_answer == "8"
    critiques = [e for e in ctx.trace.events if e["kind"] == "critique"]
    assert [c["parsed"] for c in critiques] == [False, True]


def test_parse_verdict_last_line_wins() -> None:
    assert parse_verdict("VERDICT: INCORRECT ... on reflection VERDICT: CORRECT") is True
    assert parse_verdict("**VERDICT:** INCORRECT") is False
    assert parse_verdict("I think it is right") is None


def test_scripted_backend_fails_loudly_when_exhausted() -> None:
    with pytest.raises(ScriptExhausted, match="no output left"):
        run({"name": "self_refine", "rounds": 1}, ["\\boxed{6}"])


def test_record_answer_returns_answer_not_correctness() -> None:
    ctx = StrategyContext.standalone(ScriptedBackend([]), PROBLEM, ToyAdd())
    assert ctx.record_answer("x", "so \\boxed{5}") == "5"
    assert ctx.trace.answers[0].verdict.correct and not ctx.trace.used_gold
    assert ctx.oracle_check("\\boxed{5}") is True
    assert ctx.trace.used_gold


def test_unknown_strategy_and_bad_params_name_the_problem() -> None:
    with pytest.raises(KeyError, match="unknown strategy 'nope'.*cot"):
        StrategySpec(name="nope").resolve()
    with pytest.raises(ValueError, match="(?s)self_consistency.*k"):
        StrategySpec.model_validate({"name": "self_consistency", "k": 0}).resolve()
