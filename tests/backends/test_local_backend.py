"""The llama.cpp backend: pure-Python parts (sampling, stops, template, scheduling), then
end-to-end checks on smollm2-135m (continuous batching, prompt sharing, determinism).
Scoring is tested in ``test_local_scoring.py``; the shared engine is in ``local_fixtures``.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from mistakelab.backends.local.output import TextOutput
from mistakelab.backends.local.sampling import distribution_stats, sample_row
from mistakelab.backends.local.scheduler import Scheduler
from mistakelab.backends.local.state import DECODE, PREFILL, READY, WAIT, Branch, EngineStats, Group
from mistakelab.backends.local.template import ChatTemplate, TemplateError
from mistakelab.backends.base import apply_stops
from mistakelab.confidence import group_confidences, low_confidence_end, token_confidences
from mistakelab.core.types import ConfidenceStop, GenParams, Message

from local_fixtures import SETTINGS_KW, assert_token_stats, backend, engine, local_model, user  # noqa: F401


# ---- pure parts ------------------------------------------------------------------------


def test_sample_row_greedy_topk_topp_and_seed():
    logits = np.log(np.array([0.1, 0.4, 0.3, 0.2], dtype=np.float32))
    rng = np.random.default_rng(0)
    assert sample_row(logits, temperature=0.0, top_k=0, top_p=1.0, rng=rng) == 1
    assert sample_row(logits, temperature=5.0, top_k=1, top_p=1.0, rng=rng) == 1

    def draws(**kw):
        rng = np.random.default_rng(7)
        return [sample_row(logits, rng=rng, **kw) for _ in range(2000)]

    assert set(draws(temperature=1.0, top_k=2, top_p=1.0)) == {1, 2}
    assert set(draws(temperature=1.0, top_k=0, top_p=0.5)) == {1, 2}  # 0.4 < 0.5 <= 0.4 + 0.3
    full = draws(temperature=1.0, top_k=0, top_p=1.0)
    assert full == draws(temperature=1.0, top_k=0, top_p=1.0)  # same seed, same draws
    assert np.allclose(np.bincount(full, minlength=4) / len(full), [0.1, 0.4, 0.3, 0.2], atol=0.03)


def test_distribution_stats_match_direct_computation():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, 50)).astype(np.float32)
    logits[2, :10] = -np.inf  # masked tokens contribute nothing
    tokens = np.array([0, 5, 20])
    st = distribution_stats(logits, tokens, top_n=4)
    for r in range(3):
        p = np.exp(logits[r].astype(np.float64) - logits[r].max())
        p /= p.sum()
        nz = p > 0
        assert st.entropy[r] == pytest.approx(-(p[nz] * np.log(p[nz])).sum(), abs=1e-5)
        assert st.token_logprob[r] == pytest.approx(np.log(p[tokens[r]]), abs=1e-5)
        assert list(st.top_ids[r]) == list(np.argsort(-p, kind="stable")[:4])
    for r in range(2):  # KL(U || p) = -log V - mean_j log p_j
        logp = logits[r].astype(np.float64) - np.log(np.exp(logits[r].astype(np.float64)).sum())
        assert st.kl_from_uniform[r] == pytest.approx(-np.log(50) - logp.mean(), abs=1e-4)
    finite = logits[2, 10:].astype(np.float64)  # masked row: over the 40 finite logits
    logp2 = finite - np.log(np.exp(finite).sum())
    assert st.kl_from_uniform[2] == pytest.approx(-np.log(40) - logp2.mean(), abs=1e-4)
    assert not np.allclose(st.kl_from_uniform[:2], np.log(50) - st.entropy[:2])  # not KL(p || U)
    flat = distribution_stats(np.zeros((1, 8)), np.array([3]))
    assert flat.entropy[0] == pytest.approx(np.log(8))
    assert flat.kl_from_uniform[0] == pytest.approx(0)


def test_text_output_stops_across_pieces_and_utf8():
    out = TextOutput(stop=("STOP", "ST!"))
    assert not out.feed("caf\u00e9 ".encode()[:4])  # "é" split across two pieces
    assert not out.feed("caf\u00e9 ".encode()[4:] + b"S")
    assert out.text == "caf\u00e9 S"
    assert out.feed(b"T!OP")  # "ST!" completes before "STOP" could
    assert out.finish() == "caf\u00e9 "
    plain = TextOutput()
    plain.feed(b"\xe2\x82")  # truncated euro sign at the very end
    assert plain.finish() == "\ufffd"


def test_chat_template_prefill_and_errors():
    t = ChatTemplate("{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"
                     "{% if add_generation_prompt %}[assistant]{% endif %}")
    msgs = [Message(role="user", content="hi"), Message(role="assistant", content="Sure")]
    assert t.render(msgs[:1]) == "[user]hi[assistant]"
    assert t.render(msgs) == "[user]hi[assistant]Sure"  # continued, not closed
    strict = ChatTemplate("{{ raise_exception('roles must alternate') }}")
    with pytest.raises(TemplateError, match="roles must alternate"):
        strict.render(msgs[:1])


def test_scheduler_shares_and_recycles_the_prompt():
    ops, done = [], []
    sched = Scheduler(2, seq_cp=lambda *a: ops.append(("cp", *a)),
                      seq_rm=lambda *a: ops.append(("rm", *a)),
                      deliver=lambda br, c: done.append((br.tag, c.finish_reason)),
                      stats=EngineStats())
    loop = asyncio.new_event_loop()
    try:
        branches = [Branch(GenParams(), loop.create_future(), loop, tag) for tag in "abc"]
        group = Group([1, 2, 3, 4], branches)
        sched.queue.append(group)
        sched.admit()  # two slots: a evaluates the prompt, b waits for it
        assert [s.state for s in sched.slots] == [PREFILL, WAIT]
        assert list(group.pending) == branches[2:]
        row = np.arange(5, dtype=np.float32)
        shared = sched.prompt_done(sched.slots[0], row)
        assert [(s.branch.tag, s.state) for s, _ in shared] == [("a", DECODE), ("b", DECODE)]
        assert ops == [("cp", 0, 1, 0, 4)]  # b got a's prompt cells
        assert group.first_logits is not None and group.first_logits is not row  # kept for c
        sched.finish(sched.slots[0], "stop")  # a done: c takes its slot, keeping the prompt
        assert ops[-1] == ("rm", 0, 4, -1) and done == [("a", "stop")]
        c = sched.slots[0]
        assert c.branch.tag == "c" and c.state == READY and c.pos == 4
        assert np.array_equal(c.first_row, row) and group.first_logits is None
        assert not sched.queue and sched.stats.kv_copies == 2
        sched.fail_everything("closed")
        assert sorted(done) == [("a", "stop"), ("b", "error"), ("c", "error")]
        assert not sched.has_work()
    finally:
        loop.close()


# ---- end to end on smollm2-135m --------------------------------------------------------


@local_model
async def test_concurrent_requests_share_decode_batches(backend, engine):
    prompts = [f"Write a long story about a {animal}." for animal in ("cat", "dog", "fox", "owl")]
    params = GenParams(max_tokens=12)
    outs = await asyncio.gather(*(backend.generate(user(p), params) for p in prompts))
    assert all(c.ok and c.completion_tokens > 0 for c in outs)
    stats = engine.stats_snapshot()
    assert stats.max_seqs_per_step == 4  # all four decoded in one llama_decode batch
    assert stats.tokens_generated == sum(c.completion_tokens for c in outs)
    assert stats.decode_steps < stats.tokens_generated  # steps were shared, not one per token
    assert stats.shared_steps >= max(c.completion_tokens for c in outs) - 1


@local_model
async def test_lone_request_is_deterministic_per_seed(backend):
    msgs = user("Tell me a fun fact about the ocean.")
    params = GenParams(max_tokens=16, temperature=0.8)
    first = await backend.generate(msgs, params.with_(seed=123))
    again = await backend.generate(msgs, params.with_(seed=123))
    assert first.text == again.text and first.completion_tokens == again.completion_tokens
    others = [(await backend.generate(msgs, params.with_(seed=s))).text for s in (1, 2, 3, 4)]
    assert len({first.text, *others}) >= 2  # seeds matter (5 equal 16-token samples: ~impossible)


@local_model
async def test_same_batch_composition_is_reproducible(backend):
    prompts = [user(f"Give me a name for a {thing}.") for thing in ("boat", "cat", "shop")]
    params = GenParams(max_tokens=10, temperature=0.8)
    runs = []
    for _ in range(2):
        with backend.engine.hold():  # start all three in the same step
            tasks = [asyncio.ensure_future(backend.generate(m, params.with_(seed=i)))
                     for i, m in enumerate(prompts)]
            await asyncio.sleep(0)  # each task submits, then waits
        runs.append([c.text for c in await asyncio.gather(*tasks)])
    assert runs[0] == runs[1]


@local_model
async def test_other_sequences_content_does_not_leak(backend):
    """Same batch shapes, different neighbours: our logits are bit-identical (no cross-talk).

    (Different batch *shapes* do change logits slightly; see the engine module docs.)
    """
    target = user("Explain why the sky is blue.")
    rows: dict[int, list[np.ndarray]] = {}

    def hook(step):
        for tag, row in zip(step.tags, step.logits):
            rows.setdefault(tag[0], []).append(row)

    remove = backend.engine.add_logits_hook(hook)
    try:
        runs = []
        for words in (("cats", "dogs", "rain"), ("fish", "stars", "wind")):
            neighbours = [user(f"Write a haiku about {w}.") for w in words]
            lengths = {len(backend.engine.encode(n)) for n in neighbours}
            assert lengths == {len(backend.engine.encode(user("Write a haiku about cats.")))}
            rows.clear()
            with backend.engine.hold():  # all four start in the same step: same batch shapes
                tasks = [asyncio.ensure_future(backend.generate(m, GenParams(max_tokens=4)))
                         for m in (target, *neighbours)]
                await asyncio.sleep(0)  # each task submits, then waits
            await asyncio.gather(*tasks)
            runs.append(rows[min(rows)])  # the target was submitted first
    finally:
        remove()
    assert len(runs[0]) == len(runs[1]) == 4
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


@local_model
async def test_k_samples_evaluate_the_prompt_once(backend, engine):
    msgs = user("Name a colour.")
    n_prompt = len(backend.engine.encode(msgs))
    outs = await backend.sample(msgs, GenParams(max_tokens=6, temperature=1.0, logprobs=True),
                                [10, 11, 12, 13])
    assert [c.prompt_tokens for c in outs] == [n_prompt] * 4
    stats = engine.stats_snapshot()
    assert stats.prompt_tokens_evaluated + stats.prompt_tokens_reused == n_prompt  # not 4 x n_prompt
    assert stats.kv_copies == 3
    # Every branch sampled its first token from the same logits row.
    assert len({round(c.logprobs[0].entropy, 9) for c in outs}) == 1


@local_model
async def test_more_samples_than_sequences_still_share_one_prompt(backend, engine):
    msgs = user("Say a number.")
    n_prompt = len(backend.engine.encode(msgs))
    outs = await backend.sample(msgs, GenParams(max_tokens=3, temperature=1.0), list(range(11)))
    assert len(outs) == 11 and all(c.ok for c in outs)
    stats = engine.stats_snapshot()
    assert stats.prompt_tokens_evaluated + stats.prompt_tokens_reused == n_prompt  # waiting branches reused it
    assert stats.kv_copies == 10
    assert stats.max_seqs_per_step == SETTINGS_KW["n_seq"]


@local_model
async def test_stop_string_spanning_tokens(backend):
    msgs = user("Write a sentence about mountains.")
    free = await backend.generate(msgs, GenParams(max_tokens=20, logprobs=True))
    pieces = [lp.token for lp in free.logprobs]
    # A stop string made of the end of one token and the start of the next.
    for i in range(2, len(pieces) - 1):
        stop = pieces[i][-2:] + pieces[i + 1][:2]
        cut = len("".join(pieces[:i])) + len(pieces[i]) - 2
        if len(pieces[i]) >= 2 and len(pieces[i + 1]) >= 2 and free.text.find(stop) == cut:
            break
    else:
        pytest.skip("no suitable token boundary in this output")
    stopped = await backend.generate(msgs, GenParams(max_tokens=20, stop=(stop,)))
    assert stopped.finish_reason == "stop"
    assert stopped.text == free.text[:cut]


@local_model
async def test_max_tokens_gives_length(backend):
    c = await backend.generate(user("Write a long essay about history."), GenParams(max_tokens=5))
    assert c.finish_reason == "length" and c.completion_tokens == 5 and c.text


@local_model
async def test_prefill_is_continued(backend):
    question = user("What is the capital of France?")
    prefilled = [*question, Message(role="assistant", content="The capital of France is")]
    tokens = backend.engine.encode(prefilled)
    assert tokens == backend.engine.encode(question) + backend.engine.model.tokenize(
        "The capital of France is")  # generation prompt, then the prefill text
    c = await backend.generate(prefilled, GenParams(max_tokens=6))
    assert c.prompt_tokens == len(tokens)
    assert c.text.startswith(" Paris")


@local_model
async def test_overlong_prompt_errors_without_hurting_others(backend, engine):
    long_msgs = user("word " * 700)  # > 512 tokens per sequence
    bad, good = await asyncio.gather(
        backend.generate(long_msgs, GenParams(max_tokens=4)),
        backend.generate(user("Hi!"), GenParams(max_tokens=4)),
    )
    assert bad.finish_reason == "error" and "per-sequence context is 512" in bad.error
    assert bad.text == "" and bad.prompt_tokens > 512
    assert good.ok and good.completion_tokens > 0
    assert (await backend.generate(user("Hello"), GenParams(max_tokens=2))).ok  # engine alive


@local_model
async def test_logprobs_and_entropy_are_consistent(backend):
    vocab = backend.engine.n_vocab
    for temperature in (0.0, 0.9):
        c = await backend.generate(user("List three fruits."), GenParams(
            max_tokens=8, temperature=temperature, seed=5, logprobs=True, top_logprobs=3))
        assert c.logprobs is not None and len(c.logprobs) == c.completion_tokens
        for lp in c.logprobs:
            assert_token_stats(lp, vocab, top=3)
            if temperature == 0.0:  # greedy picks the most likely token
                assert (lp.token, lp.logprob) == lp.top[0]


@local_model
async def test_a_confidence_stop_ends_the_sequence_at_the_token_it_fires(backend, engine):
    """The engine stops generating where the rule fires (the tokens after it are never
    decoded), at the token the rule finds in the completion's own logprobs, so the caller's
    post-hoc cut changes nothing."""
    msgs = user("Write a long essay about history.")
    base = dict(max_tokens=40, temperature=0.8, seed=3, logprobs=True, top_logprobs=4)
    for threshold, window in ((1e9, 5), (1e9, 1)):  # under any confidence: the first full window fires
        engine.reset_stats()
        stop = ConfidenceStop(window=window, threshold=threshold, top_k=4)
        cut = await backend.generate(msgs, GenParams(**base, confidence_stop=stop))
        assert (cut.finish_reason, cut.completion_tokens, len(cut.logprobs)) == ("low_confidence", window, window)
        assert engine.stats.tokens_generated == window and cut.text
        assert apply_stops(cut, GenParams(**base, confidence_stop=stop)) == cut
    full = await backend.generate(msgs, GenParams(**base))
    conf = token_confidences(full.logprobs, 4)
    threshold = sorted(group_confidences(conf, 5))[len(conf) // 3]  # some window of this text is under it
    cut = await backend.generate(msgs, GenParams(**base, confidence_stop=ConfidenceStop(window=5, threshold=threshold,
                                                                                        top_k=4)))
    own = token_confidences(cut.logprobs, 4)
    if cut.finish_reason == "low_confidence":  # batch rounding may change the sample; the rule holds on its own text
        assert low_confidence_end(own, 5, threshold) == cut.completion_tokens < 40
    else:
        assert low_confidence_end(own, 5, threshold) in (None, cut.completion_tokens)
    never = ConfidenceStop(window=5, threshold=0.0, top_k=4)  # a confidence is never negative
    assert (await backend.generate(msgs, GenParams(**base, confidence_stop=never))).finish_reason != "low_confidence"


@local_model
async def test_logits_hook_sees_each_sampled_row(backend):
    seen = []
    def hook(step):
        seen.extend((int(np.argmax(r)), int(t)) for r, t in zip(step.logits, step.tokens))

    remove = backend.engine.add_logits_hook(hook)
    try:
        c = await backend.generate(user("Count to five."), GenParams(max_tokens=5))
    finally:
        remove()
    assert len(seen) == c.completion_tokens
    assert all(best == tok for best, tok in seen)  # greedy == argmax of the hooked logits


@local_model
async def test_model_id_and_spec_share_the_engine(backend, monkeypatch, tmp_path):
    from mistakelab.backends import ModelSpec, create_backend

    monkeypatch.setenv("MISTAKELAB_CACHE_DIR", str(tmp_path))

    assert backend.model_id == "local:smollm2-135m:b179c9523d0e"
    assert {"continue", "full_distribution", "score"} <= backend.capabilities
    other = create_backend(ModelSpec(backend="local", model="smollm2-135m", options=SETTINGS_KW))
    try:
        assert other.engine is backend.engine and other.model_id == backend.model_id
        assert (await other.generate(user("Hi"), GenParams(max_tokens=2))).ok
    finally:
        await other.aclose()
    assert not backend.engine._closed  # still held by the module fixture
    with pytest.raises(ValueError, match="unknown local backend option"):
        create_backend(ModelSpec(backend="local", model="smollm2-135m", options={"n_gpu": 1}))


@local_model
async def test_cancelled_request_leaves_engine_working(backend):
    long_poem = backend.generate(user("Write a long poem."), GenParams(max_tokens=200))
    task = asyncio.ensure_future(long_poem)
    await asyncio.sleep(0)  # let it submit
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    c = await backend.generate(user("Hi"), GenParams(max_tokens=3))
    assert c.ok
    assert backend.engine.n_active == 0  # the cancelled request released its sequence


@local_model
async def test_min_tokens_masks_end_of_generation(backend):
    msgs = user("Reply with the single word OK.")
    free = await backend.generate(msgs, GenParams(max_tokens=96))
    assert free.finish_reason == "stop" and free.completion_tokens < 80  # it stops by itself
    forced = await backend.generate(msgs, GenParams(max_tokens=96, min_tokens=free.completion_tokens + 8))
    assert forced.completion_tokens >= free.completion_tokens + 8
