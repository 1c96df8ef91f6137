"""The scripted fake backend users test their strategies with."""

from __future__ import annotations

import asyncio

import pytest

from mistakelab.backends import ScriptedBackend, ScriptExhausted, create_backend, ModelSpec
from mistakelab.core.types import Completion, GenParams, Message

MSG = [Message(role="user", content="hi there")]


def test_list_script_in_order_records_calls_and_exhausts_loudly() -> None:
    b = ScriptedBackend(["a", Completion(text="b", completion_tokens=9)])
    p = GenParams(seed=3)
    assert asyncio.run(b.generate(MSG, p)).text == "a"
    assert asyncio.run(b.generate(MSG, p)).completion_tokens == 9
    assert [c.params.seed for c in b.calls] == [3, 3] and b.remaining == 0
    with pytest.raises(ScriptExhausted, match="had 2"):
        asyncio.run(b.generate(MSG, p))


def test_callable_script_sees_messages_and_params_and_stop() -> None:
    b = ScriptedBackend(lambda m, p: f"{m[-1].content} T={p.temperature} END more")
    out = asyncio.run(b.generate(MSG, GenParams(temperature=0.5, stop=("END",))))
    assert out.text == "hi there T=0.5 " and out.finish_reason == "stop"


def test_async_callable_and_exceptions() -> None:
    async def fn(m, p):  # type: ignore[no-untyped-def]
        return "async ok"

    assert asyncio.run(ScriptedBackend(fn).generate(MSG, GenParams())).text == "async ok"
    with pytest.raises(TimeoutError):
        asyncio.run(ScriptedBackend([TimeoutError("slow")]).generate(MSG, GenParams()))


def test_sample_uses_one_seed_per_output() -> None:
    b = ScriptedBackend(lambda m, p: str(p.seed))
    outs = asyncio.run(b.sample(MSG, GenParams(temperature=1.0), [1, 2, 3]))
    assert [o.text for o in outs] == ["1", "2", "3"]


def test_registry_builds_scripted_from_config() -> None:
    b = create_backend(ModelSpec(backend="scripted", model="m", options={"outputs": ["x"]}))
    assert isinstance(b, ScriptedBackend) and b.model_id == "m"
    with pytest.raises(KeyError, match="unknown backend 'nope'.*scripted"):
        create_backend(ModelSpec(backend="nope", model="m"))
