"""Whether a strategy spec is oracle-assisted follows from its typed locator/scorer fields
(one rule: ``StrategyDef.is_oracle``), wherever it is asked: the runner's label, ``solve``,
and the proxy's refusal."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import BaseModel

from mistakelab.backends import ScriptedBackend
from mistakelab.context import DirectGateway
from mistakelab.core import Problem
from mistakelab.core.specs import parse_named
from mistakelab.locate import LocatorSpec
from mistakelab.runner import Unit, execute_unit
from mistakelab.serve import ApiError, parse_request
from mistakelab.strategies import StrategyDef, StrategySpec
from mistakelab.tasks import create_task

ORACLE = [
    "in_place:locator=combined:chain=exact+arithmetic,fix=arithmetic",  # was labeled intrinsic
    "in_place:locator=exact,fix=arithmetic",
    "in_place:locator=rollout:k=2,fix=arithmetic",
    "in_place:locator=feedback,fix=arithmetic",
    "in_place:locator=arithmetic,fix=exact",
    "first_error_fix:locator=combined:chain=exact+arithmetic",
    "first_error_fix:locator=arithmetic,scorer=exact",
    "best_of_n:scorer=exact",
    "magicore:outcome=exact,step=arithmetic_step",
    "step_beam:scorer=exact",
]
INTRINSIC = [
    "in_place:locator=combined:chain=arithmetic+critic,fix=arithmetic",
    "in_place:locator=critic,fix=arithmetic",
    "first_error_fix:locator=combined",
    "best_of_n:scorer=mean_logprob",
    "magicore",
]


def resolved(text: str):  # type: ignore[no-untyped-def]
    return StrategySpec.model_validate(parse_named(text)).resolve()


@pytest.mark.parametrize("text", ORACLE)
def test_oracle_specs_are_labeled_and_refused_by_the_proxy(text: str) -> None:
    sdef, params = resolved(text)
    assert sdef.is_oracle(params)
    body = {"model": "m", "messages": [{"role": "user", "content": "2+2?"}], "mistakelab": {"strategy": text}}
    with pytest.raises(ApiError) as info:
        parse_request(json.dumps(body).encode(), ["m"], "cot", 64)
    assert info.value.status == 400 and info.value.code == "oracle_strategy"


@pytest.mark.parametrize("text", INTRINSIC)
def test_intrinsic_specs_are_served(text: str) -> None:
    sdef, params = resolved(text)
    assert not sdef.is_oracle(params)
    body = {"model": "m", "messages": [{"role": "user", "content": "2+2?"}], "mistakelab": {"strategy": text}}
    assert parse_request(json.dumps(body).encode(), ["m"], "cot", 64).strategy == text.partition(":")[0]


def test_a_bad_locator_spec_fails_when_the_strategy_is_resolved() -> None:
    with pytest.raises(ValueError, match="unknown locator 'nope'"):
        resolved("in_place:locator=nope")
    with pytest.raises(ValueError, match="unknown locator 'nope'"):
        resolved("first_error_fix:locator=combined:chain=arithmetic+nope")


def test_a_result_is_labeled_from_the_spec_even_before_the_door_is_used() -> None:
    class Params(BaseModel):
        locator: LocatorSpec = "combined:chain=exact+arithmetic"

    async def answers_at_once(ctx, params):  # type: ignore[no-untyped-def]
        ctx.final("4")

    unit = Unit(StrategyDef("answers_at_once", answers_at_once, Params), Params(),
                Problem(id="p", question="2+2?", answer="4"), create_task("gsm8k_sample"),
                {"solver": DirectGateway(ScriptedBackend([]))})
    result = asyncio.run(execute_unit(unit))
    assert result.used_gold and not unit.trace.used_gold
