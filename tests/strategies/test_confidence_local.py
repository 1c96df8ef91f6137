"""Real-model smoke tests (smollm2-135m) of the issue-22 strategies (the mentor is the solver itself here): each runs end to end on the
local engine, and what it recorded is consistent with what it did. Run under
``flock /tmp/mistakelab-model.lock``."""

from __future__ import annotations

import asyncio

import pytest

from backends.local_fixtures import backend, local_model  # noqa: F401  (fixture)
from mistakelab.core import AnswerKind, GenParams
from mistakelab.core.events import ScoreEvent, StopEvent
from mistakelab.runner import solve
from mistakelab.tasks import create_task

SHORT = GenParams(max_tokens=48)


@local_model
@pytest.mark.parametrize("spec", [
    "re2", "plan_solve", "adaptive_consistency:max_k=4", "adaptive_consistency:rule=esc,window=2,max_k=4",
    "deepconf:mode=offline,n=3,window=8", "deepconf:n=4,warmup=2,window=8,batch=2",
    "cot_decoding:k=3", "moa:k=2", "mentor:mentor_tokens=8",
    "peers:k=2,every=16,summary_tokens=8,rounds=1", "mcts:simulations=3,step_tokens=16",
])
def test_strategy_on_the_local_model(backend, spec) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    task = create_task("gsm8k_sample")
    trace, r = asyncio.run(solve(spec, backend, task.load(1, 0)[0], task, params=SHORT))
    assert r.status == "done" and r.completion_tokens > 0 and not r.used_gold
    assert trace.answers_of(AnswerKind.FINAL)
    if spec.startswith("adaptive"):
        (stop,) = trace.events_of(StopEvent)
        assert stop.rounds == len(trace.answers_of(AnswerKind.SAMPLE)) <= 4
    if spec.startswith("deepconf"):
        scores = trace.events_of(ScoreEvent)[0].scores
        assert all(s is None or s > 0 for s in scores) and any(s is not None for s in scores)
        assert all(c.completion.logprobs and c.completion.logprobs[0].top for c in trace.calls)
    if spec.startswith("cot_decoding"):
        assert len(trace.answers_of(AnswerKind.SAMPLE)) == 3
        assert [c.kind for c in trace.calls] == ["generate", "continue", "continue", "continue"]
