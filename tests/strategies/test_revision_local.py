"""The feedback and revision strategies and the blind-spot probe on a real model (smollm2-135m).

Small outputs (max 48 tokens) keep these quick; what they check is that each strategy's calls
go through a real backend (continuation included) and leave a complete, graded trace.
"""

from __future__ import annotations

import asyncio

import pytest

from backends.local_fixtures import backend, local_model  # noqa: F401  (fixture)
from mistakelab.core import EditEvent, GenParams, Problem, StopEvent
from mistakelab.core.events import AnswerChangeEvent, DemosEvent, VerifyEvent
from mistakelab.experiments.blindspot import CONDITIONS, level1, probe
from mistakelab.runner import solve
from mistakelab.strategies import StrategyContext

from conftest import ToyAdd

PROBLEM = Problem(id="toy-s", question="Tom has 12 apples and buys 7 more. How many apples does he have?",
                  answer="19")
SHORT = GenParams(max_tokens=48)


@local_model
@pytest.mark.parametrize("spec, oracle, event", [
    ("try_again:turns=2", True, StopEvent),
    ("prp:rounds=2,mask=first", False, VerifyEvent),
    ("feedback:rounds=1,list_tried=true", True, StopEvent),
    ("in_place:locator=feedback,rounds=1", True, StopEvent),
    ("in_place:fix=arithmetic,rounds=1", False, StopEvent),
    ("wait", False, AnswerChangeEvent),
    # one small demonstration: the shared test engine has 512 tokens of context per sequence
    ({"name": "contrastive", "style": "pairs", "demos": 1, "task_options": {"min_ops": 1, "max_ops": 2}},
     False, DemosEvent),
])
def test_strategy_on_a_real_model(backend, spec, oracle, event) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    trace, r = asyncio.run(solve(spec, backend, PROBLEM, ToyAdd(), params=SHORT))
    assert r.status == "done" and trace.calls and all(c.completion.ok for c in trace.calls)
    assert all(c.completion.completion_tokens <= 48 for c in trace.calls)
    assert trace.graded and trace.final_answer() is not None and r.attempts
    assert r.used_gold is oracle
    assert trace.events_of(event)
    if str(spec).startswith("wait") or trace.events_of(EditEvent):  # a continued turn
        assert any(c.kind == "continue" and c.prefix for c in trace.calls)


@local_model
def test_blindspot_probe_on_a_real_model(backend) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    item = level1(1, seed=0)[0]
    for condition in CONDITIONS:
        ctx = StrategyContext.standalone(backend, item.problem, item.task, strategy=condition, params=SHORT)
        asyncio.run(probe(ctx, item.error, condition, " Wait"))
        trace = ctx.trace
        (call,) = trace.calls
        assert call.completion.ok and trace.final_answer() is not None
        assert (call.kind == "continue") is (condition != "user")
        if condition.startswith("own"):
            assert call.prefix.startswith(item.error)
        else:
            assert call.messages[-1].content.endswith(item.error)
