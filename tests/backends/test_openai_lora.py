"""A loop's final adapter served by vLLM as a LoRA module: an ``openai`` model spec naming the
module sends that name in every request (a fake OpenAI-shaped server records it), and a run
through that spec works like any other."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from loopback_server import LoopbackServer, Reply, chat_body
from mistakelab.learn.improve import FinalAdapter
from mistakelab.runner import parse_config, run_experiment
from mistakelab.store import RunStore, save_stage


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_the_final_adapter_is_asked_for_by_its_lora_module_name(tmp_path: Path, monkeypatch) -> None:
    from mistakelab.learn.improve import final_adapter

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    store = RunStore(tmp_path / "r.db")
    for r, folder in ((1, "a1"), (2, "a2")):
        save_stage(store, "loop-x", r, "train", "done", {"adapter": str(tmp_path / folder), "gguf": str(tmp_path / f"{folder}.gguf"),
                                                        "base": "qwen2.5-coder-0.5b"})
    adapter = final_adapter(store, "loop-x")
    store.close()
    assert adapter == FinalAdapter("loop-x", 2, str(tmp_path / "a2"), str(tmp_path / "a2.gguf"), "qwen2.5-coder-0.5b")
    assert adapter.vllm_command().endswith(f"--enable-lora --lora-modules loop-x-r2={tmp_path / 'a2'}")
    with LoopbackServer() as server:
        server.script(*[Reply(body=chat_body("7 + 5 = 12. The answer is \\boxed{12}.")) for _ in range(2)])
        spec = adapter.openai_spec(server.url).model_dump()
        spec["options"]["max_retries"] = 0
        cfg = parse_config({"store": str(tmp_path / "run.db"), "n_problems": 2, "models": [spec],
                            "tasks": [{"name": "gsm8k_sample"}], "strategies": [{"name": "cot"}]})
        summary = asyncio.run(run_experiment(cfg))
        assert summary.units_done == 2 and not summary.unit_errors
        assert [r.body["model"] for r in server.requests] == ["loop-x-r2", "loop-x-r2"]
