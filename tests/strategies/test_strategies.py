"""Every strategy on the scripted backend: answers recorded not judged, no gold in sight, clear errors."""

from __future__ import annotations

import pytest

from mistakelab.backends import ScriptedBackend, ScriptExhausted
from mistakelab.strategies import StrategyContext, StrategySpec

from conftest import ToyAdd
from strategy_helpers import PROBLEM, run


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
