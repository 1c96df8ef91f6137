"""The in-process vLLM backend against a stand-in ``vllm`` package (tests/backends/fake_vllm)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from mistakelab.backends import ModelSpec, create_backend, spec_capabilities
from mistakelab.core.types import GenParams, Message

FAKE = str(Path(__file__).parent / "fake_vllm")


@pytest.fixture
def vllm(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(FAKE)
    monkeypatch.delitem(sys.modules, "vllm", raising=False)
    import vllm as fake

    fake.CALLS.clear()
    yield fake
    sys.modules.pop("vllm", None)


def test_engine_args_samples_and_logprobs(vllm) -> None:  # type: ignore[no-untyped-def]
    spec = ModelSpec(backend="vllm", model="Qwen/Qwen2.5-7B-Instruct", options={"tensor_parallel_size": 2})
    b = create_backend(spec)
    assert b.llm.engine_args == {"tensor_parallel_size": 2} and b.model_id == "vllm:Qwen/Qwen2.5-7B-Instruct"
    ask = [Message(role="user", content="What is 4 + 1?")]
    outs = asyncio.run(b.sample(ask, GenParams(temperature=0.7, top_logprobs=2), [0, 2]))
    assert [c.text for c in outs] == ["so \\boxed{5}", "so \\boxed{6}"]  # seed 2: (4 + 2) % 3 == 0, wrong
    assert outs[0].completion_tokens == 2 and outs[0].prompt_tokens == 7
    assert outs[0].logprobs[0].logprob == -0.5 and outs[0].logprobs[0].top == [("so", -0.5), ("x", -2.0)]
    call = vllm.CALLS[-1]
    assert call["n"] == 2 and [p.seed for p in call["params"]] == [0, 2] and call["params"][0].top_k == -1
    cont = asyncio.run(b.generate([*ask, Message(role="assistant", content="It is")], GenParams()))
    assert cont.ok and vllm.CALLS[-1]["continue"] and not vllm.CALLS[-1]["add"]
    assert spec_capabilities(spec) == b.capabilities
