"""Real-model smoke tests (smollm2-135m) of the scorers and of best_of_n, first_error_fix,
magicore, step_beam and dvts: each runs end to end on the local engine, and what it
recorded is consistent with what it did. Run under ``flock /work/model.lock``."""

from __future__ import annotations

import asyncio

import pytest

from backends.local_fixtures import backend, local_model  # noqa: F401  (fixture)
from mistakelab.context import CallContext
from mistakelab.core import AnswerKind, GenParams
from mistakelab.core.events import FirstErrorEvent, RouteEvent, ScoreEvent, SearchEvent
from mistakelab.scorers import build_scorer
from mistakelab.runner import solve
from mistakelab.tasks import create_task

SHORT = GenParams(max_tokens=48)


def gsm():  # type: ignore[no-untyped-def]
    task = create_task("gsm8k_sample")
    return task, task.load(1, 0)[0]


def run(spec, backend, task=None, problem=None):  # type: ignore[no-untyped-def]
    if task is None:
        task, problem = gsm()
    return asyncio.run(solve(spec, backend, problem, task, params=SHORT))


@local_model
def test_scorers_on_the_local_model(backend) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    task, problem = gsm()
    ctx = CallContext.standalone(backend, problem, task)
    text = "First, 3 + 4 = 7.\n\nThen 7 * 2 = 14.\n\nSo the answer is \\boxed{14}."
    for name in ("self_certainty_step", "critic_step", "self_certainty", "mean_logprob", "critic_verdict"):
        s = asyncio.run(build_scorer(name).score(ctx, text))
        assert s.aggregate is not None, (name, s.note)
        if name == "critic_step":
            assert len(s.scores) == 3 and all(0.0 <= v <= 1.0 for v in s.scores if v is not None)
        if name == "self_certainty_step":
            assert all(v is not None and v > 0 for v in s.scores)


@local_model
def test_best_of_n_on_the_local_model(backend) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    trace, r = run("best_of_n:n=2", backend)
    assert r.status == "done" and len(trace.answers_of(AnswerKind.SAMPLE)) == 2
    # the token statistics come with the samples: no score call per sample
    assert [c.kind for c in trace.calls].count("score") == 0
    assert all(c.params.logprobs for c in trace.calls if c.kind == "generate")
    trace, r = run("best_of_n:n=2,shared=false,select=borda", backend)
    assert all(c.params.logprobs for c in trace.calls if c.kind == "generate")
    assert trace.events_of(ScoreEvent)


@local_model
def test_first_error_fix_on_the_local_model(backend) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    task = create_task("igsm", {"min_ops": 2, "max_ops": 3})
    trace, r = run("first_error_fix:k=2,locator=exact,feedback=critique", backend, task, task.load(1, 0)[0])
    (fe,) = trace.events_of(FirstErrorEvent)[:1]
    assert r.used_gold and fe.oracle
    if fe.step is not None and fe.step >= 0:
        conts = [c for c in trace.calls if c.purpose == "local-1"]
        assert len(conts) == 2 and len(trace.answers_of(AnswerKind.SAMPLE)) == 2
        assert all(c.prefix is None or trace.calls[0].completion.text.startswith(c.prefix) for c in conts)


@local_model
def test_magicore_on_the_local_model(backend) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    trace, r = run("magicore:k=2,rounds=1,refine=1,share=1.0,confidence=1.0,step=arithmetic_step", backend)
    routes = trace.events_of(RouteEvent)
    assert r.status == "done" and routes
    refined = [c for c in trace.calls if c.purpose.startswith("refine-")]
    assert len(refined) == (1 if routes[0].hard and len(routes) > 1 else 0)


@local_model
@pytest.mark.parametrize("spec", ["step_beam:width=2,expand=2,max_depth=2,step_tokens=24",
                                  "dvts:width=2,expand=1,max_depth=2,step_tokens=24"])
def test_step_search_on_the_local_model(backend, spec) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    trace, r = run(spec, backend)
    assert r.status == "done" and trace.answers_of(AnswerKind.SAMPLE)
    assert trace.events_of(SearchEvent) and trace.answers_of(AnswerKind.FINAL)
    assert all(c.params.max_tokens == 24 for c in trace.calls if c.params.stop)
    assert any(c.kind == "continue" for c in trace.calls)


@local_model
def test_pal_on_the_local_model(backend) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from mistakelab.core.events import ProgramEvent

    trace, r = run("pal:rounds=1", backend)
    events = trace.events_of(ProgramEvent)
    assert r.status == "done" and 1 <= len(events) <= 2
    assert len(trace.answers_of(AnswerKind.ATTEMPT)) == len(events)
    assert all(e.status in ("no_program", "ok", "error", "timeout", "memory", "output_limit", "killed")
               for e in events)
