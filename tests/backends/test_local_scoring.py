"""Scoring a given completion with the local backend: the pure parts (chunking, scheduling,
statistics), then end-to-end checks on smollm2-135m against the model's own generations.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from mistakelab.backends.local.sampling import distribution_stats
from mistakelab.backends.local.scheduler import Scheduler
from mistakelab.backends.local.scoring import ScoreJob, score_rows
from mistakelab.backends.local.state import Branch, EngineStats, Group
from mistakelab.core.types import GenParams

from local_fixtures import assert_token_stats, backend, engine, local_model, user  # noqa: F401

# ---- pure parts ------------------------------------------------------------------------


class FakeBatch:
    def __init__(self) -> None:
        self.rows: list[tuple[int, int, int, bool]] = []

    @property
    def n(self) -> int:
        return len(self.rows)

    def add(self, token: int, pos: int, seq: int, output: bool) -> int:
        self.rows.append((token, pos, seq, output))
        return len(self.rows) - 1


def test_score_job_chunks_and_outputs_only_completion_rows():
    loop = asyncio.new_event_loop()
    try:
        job = ScoreJob([10, 11, 12, 13, 20, 21], 4, "xy",
                       Branch(GenParams(logprobs=True), loop.create_future(), loop, None))
        job.slot = 3
        first = FakeBatch()
        assert job.add_chunk(first, 3) == (-1, 3, 3)  # prompt only: no output rows yet
        second = FakeBatch()
        second.add(99, 7, 0, True)  # another sequence's token comes first
        assert job.add_chunk(second, 100) == (1, 3, 5)
        # Row p predicts token p + 1: rows 3 and 4 score 20 and 21; token 21 is never evaluated.
        assert second.rows[1:] == [(13, 3, 3, True), (20, 4, 3, True)]
        assert [r[:2] for r in first.rows] == [(10, 0), (11, 1), (12, 2)]
        assert job.done and job.n_completion == 2
    finally:
        loop.close()


def test_score_rows_match_distribution_stats_in_blocks():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(150, 40)).astype(np.float32)  # > one block of 64 rows
    targets = rng.integers(0, 40, size=150)
    lps = score_rows(logits, targets, 2, str)
    whole = distribution_stats(logits, targets, top_n=2)
    assert [lp.token for lp in lps] == [str(t) for t in targets]
    assert np.allclose([lp.logprob for lp in lps], whole.token_logprob)
    assert np.allclose([lp.entropy for lp in lps], whole.entropy)
    assert np.allclose([lp.kl_from_uniform for lp in lps], whole.kl_from_uniform)
    assert all(len(lp.top) == 2 for lp in lps)


def test_scheduler_admits_score_jobs_in_order_and_frees_them():
    ops, done = [], []
    sched = Scheduler(1, seq_cp=lambda *a: ops.append(("cp", *a)),
                      seq_rm=lambda *a: ops.append(("rm", *a)),
                      deliver=lambda br, c: done.append((br.tag, c.finish_reason, c.text)),
                      stats=EngineStats())
    loop = asyncio.new_event_loop()
    try:
        job = ScoreJob([1, 2, 3], 2, "z", Branch(GenParams(), loop.create_future(), loop, "s"))
        gen = Group([1, 2], [Branch(GenParams(), loop.create_future(), loop, "g")])
        sched.queue.extend([job, gen])
        sched.admit()  # one slot: the score job first, the request waits
        assert sched.slots == [job] and sched.prefilling == [job] and list(sched.queue) == [gen]
        sched.finish(job, "stop")
        assert ops == [("rm", 0, -1, -1)] and done == [("s", "stop", "z")]
        sched.admit()
        assert sched.slots[0].branch.tag == "g"
        late = ScoreJob([1, 2], 1, "q", Branch(GenParams(), loop.create_future(), loop, "late"))
        sched.queue.append(late)
        sched.fail_everything("closed")
        assert done[1:] == [("g", "error", ""), ("late", "error", "")]
        assert not sched.has_work()
    finally:
        loop.close()


# ---- scoring a given completion ----------------------------------------------------------

# Scoring evaluates the completion in one many-token batch; generation saw it one token per
# step. On this CPU build, batches under 64 tokens use the same kernels as decoding and give
# bit-identical logits; from 64 tokens on llama.cpp switches matmul kernels, whose rounding
# moves logprobs and entropies. Measured on smollm2-135m, 1261 tokens of 19 generations
# (greedy and T=0.8, up to 96 tokens): |diff| mean 0.04, p99 0.23, max 0.56 nats (per
# generation: mean <= 0.073). The bounds below keep about 1.5x margin and still catch any
# misalignment (an off-by-one position moves logprobs by nats on every token).
DRIFT_MEAN, DRIFT_MAX = 0.1, 1.0


def mean_logprob(c) -> float:
    return sum(lp.logprob for lp in c.logprobs) / len(c.logprobs)


def assert_drift_small(a: list, b: list, field: str) -> None:
    diff = np.abs(np.array([getattr(x, field) for x in a]) - [getattr(x, field) for x in b])
    assert diff.mean() <= DRIFT_MEAN and diff.max() <= DRIFT_MAX, (field, diff.mean(), diff.max())


@local_model
@pytest.mark.parametrize("max_tokens", [12, 96], ids=["under-64-token-batch", "long"])
async def test_scoring_own_greedy_output_reproduces_generation(backend, engine, max_tokens):
    msgs = user("How do airplanes fly?")
    gen = await backend.generate(msgs, GenParams(max_tokens=max_tokens, logprobs=True))
    engine.reset_stats()
    scored = await backend.score(msgs, gen.text, top_logprobs=2)
    assert scored.ok and scored.text == gen.text and scored.finish_reason == "stop"
    # A generation stopped by EOS reports the EOS token; its text (and so the score) has none.
    n = gen.completion_tokens - (gen.finish_reason == "stop")
    assert scored.completion_tokens == len(scored.logprobs) == n
    assert [lp.token for lp in scored.logprobs] == [lp.token for lp in gen.logprobs[:n]]
    n_prompt = len(backend.engine.encode(msgs))
    stats = engine.stats_snapshot()
    assert stats.decode_steps == 1  # one forward pass over prompt + completion, no decoding
    assert stats.score_tokens_evaluated == n_prompt + n - 1  # the last token needs no logits
    assert stats.tokens_generated == 0 and stats.tokens_scored == n
    # With one KV stream per sequence and no flash attention (the defaults) the scoring batch's
    # attention runs in another shape than one-token decoding even under 64 tokens, so both
    # lengths drift by rounding; the exact case (flash attention) is in test_local_engine_layout.
    assert (n > 64) == (max_tokens == 96)
    assert_drift_small(scored.logprobs, gen.logprobs[:n], "logprob")
    assert_drift_small(scored.logprobs, gen.logprobs[:n], "entropy")
    assert backend.engine.n_active == 0  # the score job's slot and KV were released


@local_model
async def test_score_statistics_are_consistent(backend):
    vocab = backend.engine.n_vocab
    c = await backend.score(user("Name a fruit."), "A banana is a yellow fruit.", top_logprobs=3)
    assert len(c.logprobs) == c.completion_tokens > 3
    for lp in c.logprobs:
        assert_token_stats(lp, vocab, top=3)


@local_model
async def test_nonsense_scores_lower_than_own_greedy_output(backend):
    msgs = user("What is the capital of France?")
    gen = await backend.generate(msgs, GenParams(max_tokens=24))
    words = gen.text.split()
    nonsense = " ".join(reversed(words))  # same words, no sense
    own, bad = await asyncio.gather(backend.score(msgs, gen.text), backend.score(msgs, nonsense))
    assert mean_logprob(bad) < mean_logprob(own) - 1.0


@local_model
async def test_scoring_coexists_with_generation(backend, engine):
    msgs = user("Write one sentence about rivers.")
    text = "Rivers carry water from the mountains to the sea."
    alone = await backend.score(msgs, text)
    engine.reset_stats()
    with backend.engine.hold():  # score and two generations start in the same step
        tasks = [asyncio.ensure_future(backend.generate(user(p), GenParams(max_tokens=8)))
                 for p in ("Hi!", "Count to three.")]
        tasks.append(asyncio.ensure_future(backend.score(msgs, text)))
        await asyncio.sleep(0)
    *gens, shared = await asyncio.gather(*tasks)
    assert all(g.ok and g.completion_tokens > 0 for g in gens)
    assert engine.stats_snapshot().max_seqs_per_step == 3
    assert [lp.token for lp in shared.logprobs] == [lp.token for lp in alone.logprobs]
    assert_drift_small(shared.logprobs, alone.logprobs, "logprob")  # shared batch: other shape
    assert backend.engine.n_active == 0


@local_model
async def test_long_completion_is_chunked_by_n_batch(backend, engine):
    msgs = user("Repeat the word.")
    long_text = " ".join(["word"] * 300)  # prompt + completion > n_batch (256)
    short_text = " ".join(["word"] * 100)  # a token prefix of long_text
    engine.reset_stats()
    long = await backend.score(msgs, long_text)
    assert long.ok and long.completion_tokens == len(long.logprobs) > 256 - 20
    assert engine.stats_snapshot().decode_steps == 2
    short = await backend.score(msgs, short_text)
    assert [lp.token for lp in long.logprobs[:short.completion_tokens]] == [
        lp.token for lp in short.logprobs]
    assert_drift_small(long.logprobs[:short.completion_tokens], short.logprobs, "logprob")


@local_model
async def test_score_edge_cases(backend):
    msgs = user("Hi")
    empty = await backend.score(msgs, "")
    assert empty.ok and empty.completion_tokens == 0 and empty.logprobs == []
    too_long = await backend.score(msgs, "word " * 600)
    assert too_long.finish_reason == "error" and "per-sequence context is 512" in too_long.error
    literal = await backend.score(msgs, "<|im_end|>")  # special markers stay plain text
    assert literal.ok and literal.completion_tokens > 1
    assert (await backend.generate(msgs, GenParams(max_tokens=2))).ok
