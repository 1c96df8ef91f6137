"""The one unit executor: capabilities before the first call, one failure policy, grading
after solving (and not at all without a gold answer); its locator twin."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from mistakelab.backends import ScriptedBackend
from mistakelab.backends.base import ScriptExhausted
from mistakelab.context import CapabilityError, DirectGateway
from mistakelab.core import Problem
from mistakelab.locate import LocateRecord, build_locator
from mistakelab.locate.base import Locator
from mistakelab.runner import Unit, execute_locator, execute_unit
from mistakelab.strategies import StrategyDef
from mistakelab.tasks import create_task

PROBLEM = Problem(id="p", question="2+2?", answer="4")


class NoParams(BaseModel):
    pass


def unit(fn, backend: ScriptedBackend, **kw) -> Unit:  # type: ignore[no-untyped-def]
    needs = kw.pop("needs", None)
    sdef = StrategyDef("s", fn, NoParams, needs=(lambda p: needs) if needs else None)
    return Unit(sdef, NoParams(), PROBLEM, create_task("gsm8k_sample"), {"solver": DirectGateway(backend)}, **kw)


async def two_calls(ctx, params):  # type: ignore[no-untyped-def]
    first = await ctx.generate(ctx.question())
    ctx.record_answer(first)
    ctx.final(await ctx.generate(ctx.question(), purpose="again"))


def test_a_finished_unit_is_graded_after_solving() -> None:
    u = unit(two_calls, ScriptedBackend(["\\boxed{3}", "\\boxed{4}"]), label="mine", task_label="t", model="m")
    r = asyncio.run(execute_unit(u))
    assert (r.status, r.correct, r.first_correct, r.calls) == ("done", True, False, 2)
    assert (r.strategy, r.task, r.model) == ("mine", "t", "m") and u.trace.graded and u.exception is None


def test_a_failed_call_fails_the_unit_with_its_error() -> None:
    u = unit(two_calls, ScriptedBackend(["\\boxed{4}", ConnectionError("refused")]))
    r = asyncio.run(execute_unit(u))
    assert r.status == "failed" and r.error == "ConnectionError: refused" and not r.correct
    assert r.calls == 2 and u.trace.answers[0].verdict is None  # failed units are not graded


def test_a_strategy_bug_fails_the_unit_with_its_error() -> None:
    async def buggy(ctx, params):  # type: ignore[no-untyped-def]
        await ctx.generate(ctx.question())
        raise KeyError("missing")

    u = unit(buggy, ScriptedBackend(["x"]))
    r = asyncio.run(execute_unit(u))
    assert r.status == "failed" and r.error == "KeyError: 'missing'" and isinstance(u.exception, KeyError)


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), asyncio.CancelledError(), ScriptExhausted("no more")])
def test_interrupts_cancellation_and_test_bugs_propagate(exc: BaseException) -> None:
    async def interrupted(ctx, params):  # type: ignore[no-untyped-def]
        await ctx.generate(ctx.question())
        raise exc

    u = unit(interrupted, ScriptedBackend(["x"]))
    with pytest.raises(type(exc)):
        asyncio.run(execute_unit(u))
    assert len(u.trace.calls) == 1  # the partial trace stays on the unit


def test_capabilities_are_checked_before_the_first_call() -> None:
    backend = ScriptedBackend(["x"], capabilities=frozenset())
    u = unit(two_calls, backend, needs={"solver": {"continue"}})
    with pytest.raises(CapabilityError, match=r"needs \['continue'\] of its solver model"):
        asyncio.run(execute_unit(u))
    assert backend.calls == []


def test_without_a_gold_answer_nothing_is_graded() -> None:
    u = unit(two_calls, ScriptedBackend(["\\boxed{4}", "\\boxed{4}"]), gold=False)
    r = asyncio.run(execute_unit(u))
    assert r.status == "done" and r.final_answer == "4" and not r.correct and r.first_correct is None
    assert not u.trace.graded


REC = LocateRecord(id="r", problem="2*3?", steps=["2 * 3 = 7", "So 7."], label=0, final_answer_correct=False)


class Broken(Locator):
    name = "broken"

    async def locate(self, record, ctx):  # type: ignore[no-untyped-def]
        raise IndexError("step 9")


def test_the_locator_twin_tells_a_failed_call_from_no_prediction() -> None:
    ok = asyncio.run(execute_locator(build_locator("arithmetic"), REC, None))
    assert ok.result.first_error == 0 and ok.error is None
    down = DirectGateway(ScriptedBackend([ConnectionError("refused")]))
    failed = asyncio.run(execute_locator(build_locator("critic"), REC, down, label="critic(x)"))
    assert failed.error == "ConnectionError: refused" and failed.result.first_error is None
    assert failed.trace.strategy == "critic(x)" and len(failed.trace.calls) == 1
    broken = asyncio.run(execute_locator(Broken(), REC, None))
    assert broken.error is None and broken.result.first_error is None and "IndexError" in broken.result.note


def test_the_proxy_refuses_a_missing_capability_before_any_call(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from mistakelab.serve import ApiError, ServeConfig, parse_request
    from mistakelab.serve.service import Proxy

    fake = ScriptedBackend(["x"], capabilities=frozenset())
    cfg = ServeConfig(backend="scripted", model="fake", store=str(tmp_path / "s.db"),
                      options={"outputs": [], "capabilities": []}, backend_factory=lambda spec: fake)
    body = {"model": "fake", "messages": [{"role": "user", "content": "2+2?"}], "mistakelab": {"strategy": "wait"}}
    req = parse_request(json.dumps(body).encode(), ["fake"], "cot", 64)

    async def ask() -> ApiError:
        proxy = Proxy(cfg)
        await proxy.start()
        try:
            with pytest.raises(ApiError) as info:
                await proxy.solve(req, "0" * 32)
            return info.value
        finally:
            await proxy.close()

    err = asyncio.run(ask())
    assert err.status == 400 and err.code == "capability" and "continue" in err.message and fake.calls == []
