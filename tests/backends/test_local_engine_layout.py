"""The engine's KV layout, statistics at generation and the boxed-answer stop (smollm2-135m).

One KV stream per sequence (the default) must keep what the unified cache gave: the same
greedy text for the same batch, a shared prompt evaluated once, generated text reused by the
prefix cache. Token statistics recorded while sampling must equal a ``score`` call's on the
same text, and ``stop_after_boxed`` must end a generation right after its first boxed answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from local_fixtures import SETTINGS_KW, backend, engine, local_model, user  # noqa: F401

from mistakelab.backends.base import cut_after_boxed
from mistakelab.core.types import GenParams, Message

pytestmark = local_model

PROMPTS = ["Count from one to ten.", "Name three colors.", "What is 12 times 3?",
           "Write a haiku about rain.", "Spell the word cat.", "List two fruits."]


async def _batch(b, prompts: list[str], params: GenParams):  # type: ignore[no-untyped-def]
    """Greedy texts of ``prompts`` started in one step, and each one's first logits row."""
    first: dict = {}

    def hook(step) -> None:  # type: ignore[no-untyped-def]
        for tag, row in zip(step.tags, step.logits):
            first.setdefault(tag[0], row)

    remove = b.engine.add_logits_hook(hook)
    try:
        with b.engine.hold():  # one batch composition, whatever the layout
            tasks = [asyncio.ensure_future(b.generate(user(p), params)) for p in prompts]
            await asyncio.sleep(0)
        texts = [c.text for c in await asyncio.gather(*tasks)]
    finally:
        remove()
    return texts, [first[k] for k in sorted(first)]


async def test_streams_layout_keeps_the_unified_layouts_greedy_text(backend):  # noqa: F811
    """One KV stream per sequence vs the unified cache (both without flash attention).

    Alone, a sequence runs the same kernels in both layouts: bit-identical logits and text.
    In a batch, llama.cpp splits a streams batch into equal per-sequence micro-batches, so
    prompts are evaluated in other matmul shapes, which round differently (by up to ~1 logit
    on this Q4 model, as sharing a batch does: see the engine's notes), and a near-tie can
    turn a greedy text. Measured here on 6 prompts x 24 tokens: 4 of 6 texts identical. That
    no systematic loss follows is what ``bench/batch_fidelity.py`` measures on GSM8K.
    """
    import numpy as np

    from mistakelab.backends.local.backend import LocalBackend, release_engine

    assert not backend.settings.kv_unified and not backend.settings.flash_attn  # the defaults
    unified = LocalBackend("smollm2-135m", replace(backend.settings, kv_unified=True))
    params = GenParams(max_tokens=24)
    try:
        alone_s, rows_s = await _batch(backend, PROMPTS[:1], params)
        alone_u, rows_u = await _batch(unified, PROMPTS[:1], params)
        batch_s, first_s = await _batch(backend, PROMPTS, params)
        again_s, _ = await _batch(backend, PROMPTS, params)
        batch_u, first_u = await _batch(unified, PROMPTS, params)
    finally:
        release_engine(unified.engine)
    assert alone_s == alone_u and np.array_equal(rows_s[0], rows_u[0])
    assert again_s == batch_s  # the same batch is reproducible in the streams layout
    assert len(set(batch_s)) == len(PROMPTS)  # different prompts, different texts: a real batch
    assert sum(a == b for a, b in zip(batch_s, batch_u)) >= len(PROMPTS) // 2
    assert max(float(np.abs(a - b).max()) for a, b in zip(first_s, first_u)) < 1.5


async def test_shared_prompt_is_evaluated_once_across_streams(backend, engine):  # noqa: F811
    msgs = user("Tell me a short fact about the moon.")
    n_prompt = len(engine.encode(msgs))
    engine.reset_stats()
    outs = await backend.sample(msgs, GenParams(temperature=0.8, max_tokens=12), [1, 2, 3, 4])
    assert all(c.ok for c in outs)
    stats = engine.stats_snapshot()
    # once, not 4 times (the prefix cache may hold its first part from an earlier test)
    assert stats.prompt_tokens_evaluated + stats.prompt_tokens_reused == n_prompt
    assert stats.kv_copies == 3  # the other branches got the prompt's cells copied
    assert len({c.text for c in outs}) > 1  # and they really are different samples


async def test_prefix_cache_reuses_generated_text_across_streams(backend, engine):  # noqa: F811
    msgs = user("Say something about the sea.")
    first = await backend.generate(msgs, GenParams(max_tokens=16))
    engine.reset_stats()
    turn = [*msgs, Message(role="assistant", content=first.text), Message(role="user", content="Shorter.")]
    again = await backend.generate(turn, GenParams(max_tokens=4))
    assert again.ok
    # the question and the part of the answer that re-tokenizes the same were not evaluated again
    assert engine.stats_snapshot().prompt_tokens_reused >= len(engine.encode(msgs))


async def _gen_and_score(b):  # type: ignore[no-untyped-def]
    msgs = user("Hi")
    gen = await b.generate(msgs, GenParams(max_tokens=12, logprobs=True, top_logprobs=3))
    scored = await b.score(msgs, gen.text, top_logprobs=3)
    assert len(b.engine.encode(msgs)) + gen.completion_tokens < 64
    # generation also rated the end-of-turn token it stopped on, which is not in the text
    assert len(gen.logprobs) - len(scored.logprobs) == (gen.finish_reason == "stop")
    assert [t.token for t in scored.logprobs] == [t.token for t in gen.logprobs][:len(scored.logprobs)]
    return list(zip(gen.logprobs, scored.logprobs))


async def test_statistics_at_generation_equal_a_score_call(backend):  # noqa: F811
    """The statistics of a sampled token and of a scored one are one computation over the
    logits row; what differs is the row. With flash attention, a prompt batch under 64 tokens
    and one-token decoding give the same rows here: equal to 1e-4. Without it (the default),
    the scoring batch's attention runs in another shape and the rows round differently (up
    to ~0.5 on this Q4 model, as batch sharing does): close, not equal."""
    from mistakelab.backends.local.backend import LocalBackend, release_engine

    fa = LocalBackend("smollm2-135m", replace(backend.settings, flash_attn=True))
    try:
        for g, s in await _gen_and_score(fa):
            assert g.logprob == pytest.approx(s.logprob, abs=1e-4)
            assert g.entropy == pytest.approx(s.entropy, abs=1e-4)
            assert g.kl_from_uniform == pytest.approx(s.kl_from_uniform, abs=1e-4)
            assert [t for t, _ in g.top] == [t for t, _ in s.top]
    finally:
        release_engine(fa.engine)
    for g, s in await _gen_and_score(backend):
        assert g.logprob == pytest.approx(s.logprob, abs=0.1)
        assert g.entropy == pytest.approx(s.entropy, abs=0.1)
        assert g.kl_from_uniform == pytest.approx(s.kl_from_uniform, rel=0.05)


async def test_stop_after_boxed_ends_right_after_the_first_boxed_answer(backend):  # noqa: F811
    # smollm2 answers this with "... as \\boxed{8}." and would go on past the box.
    msgs = user("Solve 3 + 5 and write the answer as \\boxed{8}, then explain.")
    free = await backend.generate(msgs, GenParams(max_tokens=60))
    stopped = await backend.generate(msgs, GenParams(max_tokens=60, stop_after_boxed=True))
    expected = cut_after_boxed(free, GenParams(stop_after_boxed=True)).text
    assert expected.endswith("\\boxed{8}") and expected != free.text  # it wrote past its box
    assert stopped.text == expected and stopped.finish_reason == "stop"
    assert stopped.completion_tokens < free.completion_tokens  # the tokens after it were never generated


async def test_a_profile_stopped_as_soon_as_a_request_finishes_holds_its_step(backend, engine):  # noqa: F811
    """A step resolves its futures before it records its timing: stop_profile must wait for
    the step (the throughput bench stops right after its request and read an empty profile)."""
    import threading

    stopping = threading.Event()
    inner = engine._one_step

    def slow_to_record():  # type: ignore[no-untyped-def]
        out = inner()
        stopping.wait(5)  # the caller is already stopping the profile: record late
        return out

    engine._one_step = slow_to_record
    try:
        steps = engine.start_profile()
        done = await backend.generate(user("Name a color."), GenParams(max_tokens=1))
        stopping.set()
        got = engine.stop_profile()
    finally:
        del engine._one_step
    assert done.ok
    assert got is steps and len(got) >= 1 and got[-1].rows == 1
