"""The local engine's prefix cache: the scheduling rules on fakes, then smollm2-135m checks
that reused KV cells (of prompts and of generated tokens) give the logits a fresh evaluation
gives.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from mistakelab.backends.local.scheduler import Scheduler
from mistakelab.backends.local.state import DECODE, PREFILL, Branch, EngineStats, Group
from mistakelab.core.types import GenParams, Message

from local_fixtures import backend, engine, local_model, user  # noqa: F401

# ---- scheduling rules (no llama.cpp) -----------------------------------------------------


def _one(loop, tokens, tag, n=1):
    return Group(list(tokens), [Branch(GenParams(), loop.create_future(), loop, f"{tag}{i}") for i in range(n)])


def _run_prompt(sched, group):
    """Admit ``group`` and finish its prompt evaluation (as the engine would)."""
    sched.queue.append(group)
    sched.admit()
    leader = next(s for s in sched.slots if s is not None and s.group is group and s.state == PREFILL)
    group.n_eval = len(group.tokens)
    sched.prompt_done(leader, np.zeros(3, dtype=np.float32))
    return leader


def _decode(seq, tokens):
    """Sample ``tokens`` as the engine does: each but the last is fed back (gets a KV cell)."""
    for i, tok in enumerate(tokens):
        if i:
            seq.pos += 1  # the previous token went through llama_decode
        seq.generated.append(tok)


def _fake_scheduler(n_seq, prefix_cache=True):
    ops = []
    sched = Scheduler(n_seq, seq_cp=lambda *a: ops.append(("cp", *a)), seq_rm=lambda *a: ops.append(("rm", *a)),
                      deliver=lambda *a: None, stats=EngineStats(), prefix_cache=prefix_cache)
    return sched, ops


@pytest.fixture
def loop():
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


def test_prefix_cache_reuses_the_longest_kept_prompt(loop):
    sched, ops = _fake_scheduler(2)
    a = _run_prompt(sched, _one(loop, [1, 2, 3, 4, 5], "a"))
    sched.finish(a, "stop")
    assert ops[-1] == ("rm", 0, 5, -1) and sched.kept[0] == [1, 2, 3, 4, 5]  # prompt kept
    b_group = _one(loop, [1, 2, 3, 9, 9, 9], "b")
    sched.queue.append(b_group)
    sched.admit()
    b = sched.slots[0]
    assert b.group is b_group and ops[-1] == ("rm", 0, 3, -1)  # keep [1, 2, 3], drop the rest
    assert b_group.n_eval == 3 and sched.stats.prompt_tokens_reused == 3
    assert sched.kept[0] is None
    b_group.n_eval = 6
    sched.prompt_done(b, np.zeros(3, dtype=np.float32))
    # while b decodes, a prompt sharing more with b than with any free slot copies b's cells
    c_group = _one(loop, [1, 2, 3, 9, 7], "c")
    sched.queue.append(c_group)
    sched.admit()
    assert ops[-1] == ("cp", 0, 1, 0, 4) and c_group.n_eval == 4
    sched.finish(sched.slots[1], "stop")
    sched.finish(b, "stop")
    # an identical prompt reuses all but its last token, whose logits are needed
    d_group = _one(loop, [1, 2, 3, 9, 9, 9], "d")
    sched.queue.append(d_group)
    sched.admit()
    assert sched.slots[0].group is d_group and d_group.n_eval == 5
    assert sched.stats.prompt_tokens_reused == 3 + 4 + 5


def test_prefix_cache_spares_kept_prompts_and_can_be_off(loop):
    for on in (True, False):
        sched, ops = _fake_scheduler(3, prefix_cache=on)
        a = _run_prompt(sched, _one(loop, [5, 6, 7], "a"))
        _decode(a, [40, 41])
        sched.finish(a, "stop")
        if not on:
            assert ops[-1] == ("rm", 0, -1, -1) and sched.kept == [None] * 3
            continue
        # a 2-branch prompt sharing nothing: its leader and sibling take the empty slots
        g = _one(loop, [8, 9], "g", n=2)
        sched.queue.append(g)
        sched.admit()
        assert [s.slot for s in g.members] == [1, 2] and sched.kept[0] == [5, 6, 7, 40]
        # a cancelled leader keeps only what it had evaluated; a waiting sibling keeps nothing
        g.n_eval = 1
        sched.finish(g.members[1], None)
        assert sched.kept[2] is None
        sched.finish(g.members[0], None)
        assert sched.kept[1] == [8]
        assert sched.drop_kept() == 2
        assert sched.kept == [None] * 3 and ops[-1] == ("rm", ops[-1][1], -1, -1)


def test_finished_slot_keeps_generated_tokens_for_the_next_turn(loop):
    sched, ops = _fake_scheduler(2)
    a = _run_prompt(sched, _one(loop, [1, 2, 3], "a"))
    _decode(a, [10, 11, 12, 99])  # 99: end of generation, sampled but never fed back
    assert a.state == DECODE and a.cell_tokens() == [1, 2, 3, 10, 11, 12]
    sched.finish(a, "stop")
    assert sched.kept[0] == [1, 2, 3, 10, 11, 12] and ops[-1] == ("rm", 0, 6, -1)
    # the next turn: question, the answer, the end-of-turn marker, a new user turn
    turn = _one(loop, [1, 2, 3, 10, 11, 12, 99, 7, 8], "t")
    sched.queue.append(turn)
    sched.admit()
    assert sched.slots[0].group is turn and turn.n_eval == 6  # only [99, 7, 8] to evaluate
    assert ops[-1] == ("rm", 0, 6, -1) and sched.stats.prompt_tokens_reused == 6
    assert sched.slots[1] is None and sched.kept[0] is None  # the kept cells now belong to it


def test_retokenized_answer_reuses_only_the_common_token_prefix(loop):
    sched, ops = _fake_scheduler(1)
    a = _run_prompt(sched, _one(loop, [1, 2], "a"))
    _decode(a, [20, 21, 22, 23])  # sampled as 20 21 22 | 23; the template re-renders 20 21 5 6
    sched.finish(a, "length")
    assert sched.kept[0] == [1, 2, 20, 21, 22]
    turn = _one(loop, [1, 2, 20, 21, 5, 6, 23, 9], "t")
    sched.queue.append(turn)
    sched.admit()
    assert turn.n_eval == 4 and ops[-1] == ("rm", 0, 4, -1)  # cell of 22 dropped: it differs


def test_a_live_sequence_lends_its_generated_cells(loop):
    sched, ops = _fake_scheduler(2)
    a = _run_prompt(sched, _one(loop, [1, 2, 3], "a"))
    _decode(a, [10, 11, 12])  # still generating: cells for 1 2 3 10 11
    cont = _one(loop, [1, 2, 3, 10, 11, 30, 31], "c")  # continue a prefix a just wrote
    sched.queue.append(cont)
    sched.admit()
    assert ops[-1] == ("cp", 0, 1, 0, 5) and cont.n_eval == 5
    assert sched.slots[1].group is cont and sched.stats.kv_copies == 1


def test_recycled_sibling_slot_keeps_the_prompt_only(loop):
    sched, ops = _fake_scheduler(1)
    g = _one(loop, [1, 2, 3], "g", n=2)  # one slot: the second branch waits for the first
    leader = _run_prompt(sched, g)
    _decode(leader, [10, 11])
    sched.finish(leader, "stop")
    assert ops[-1] == ("rm", 0, 3, -1)  # generated cells dropped: the sibling samples afresh
    sibling = sched.slots[0]
    assert sibling.group is g and sibling.pos == 3 and sibling.cell_tokens() == [1, 2, 3]


def test_failed_sequence_keeps_nothing(loop):
    sched, ops = _fake_scheduler(1)
    a = _run_prompt(sched, _one(loop, [1, 2, 3], "a"))
    _decode(a, [10, 11])
    sched.finish(a, "error", "llama_decode failed")
    assert sched.kept == [None] and ops[-1] == ("rm", 0, -1, -1)


# ---- end to end on smollm2-135m --------------------------------------------------------


class OneSlot:
    """A fresh smollm2-135m engine with one slot and one-token batches: any two of them run a
    request with identical batch shapes, so its logits must be bit-identical whatever the KV
    came from (a wrong or stale cell would show)."""

    def __init__(self, cache: bool) -> None:
        from mistakelab.backends.local.backend import LocalBackend
        from mistakelab.backends.local.engine import EngineSettings

        self.backend = LocalBackend("smollm2-135m", EngineSettings(
            n_seq=1, n_ctx_per_seq=256, n_threads=1, n_batch=1, prefix_cache=cache))
        self._rows: list[np.ndarray] = []
        self.backend.engine.add_logits_hook(lambda step: self._rows.append(step.logits[0].copy()))

    async def ask(self, msgs, max_tokens=8):
        """(text, logits of the first sampled token, prompt tokens reused)."""
        self._rows.clear()
        before = self.backend.engine.stats_snapshot().prompt_tokens_reused
        c = await self.backend.generate(msgs, GenParams(max_tokens=max_tokens))
        assert c.ok
        return c.text, self._rows[0], self.backend.engine.stats_snapshot().prompt_tokens_reused - before


@pytest.fixture
def one_slot(monkeypatch, tmp_path):
    from mistakelab.backends.local.backend import release_engine

    monkeypatch.setenv("MISTAKELAB_CACHE_DIR", str(tmp_path))
    made: list[OneSlot] = []

    def make(cache: bool) -> OneSlot:
        made.append(OneSlot(cache))
        return made[-1]

    yield make
    for m in made:
        release_engine(m.backend.engine)


@local_model
async def test_prefix_cache_reuses_kv_exactly(backend, one_slot):
    """A prompt that extends an earlier one evaluates only its new tokens, with the same result."""
    base = "A farmer has 12 cows, buys 7 more and sells 5. Each cow gives 3 litres of milk a day. "
    prompts = [user(base + "How many cows are left?"), user(base + "How much milk a day?"),
               [*user(base + "How much milk a day?"), Message(role="assistant", content="He has 14 cows,")]]
    results = {}
    for cache in (True, False):
        slot = one_slot(cache)
        results[cache] = ([await slot.ask(m) for m in prompts], slot.backend.engine.stats_snapshot())
    (with_cache, st), (fresh, st_off) = results[True], results[False]
    sizes = [len(backend.engine.encode(m)) for m in prompts]
    assert st_off.prompt_tokens_reused == 0 and st_off.prompt_tokens_evaluated == sum(sizes)
    assert st.prompt_tokens_reused > sizes[0] // 2  # the shared problem text, at least
    assert st.prompt_tokens_evaluated + st.prompt_tokens_reused == sum(sizes)
    for (text, row, _), (text_off, row_off, _) in zip(with_cache, fresh):
        assert text == text_off and np.array_equal(row, row_off)


def _common_prefix(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


@local_model
async def test_next_turn_evaluates_only_its_new_tokens(backend, engine):
    """Question -> answer; then question + answer + a new user turn: the answer's cells are
    reused, up to where the re-rendered answer's tokens first differ from the sampled ones."""
    sampled: list[int] = []
    remove = backend.engine.add_logits_hook(lambda step: sampled.extend(int(t) for t in step.tokens))
    question = user("What is 7 times 6? Explain in one sentence.")
    try:
        first = await backend.generate(question, GenParams(max_tokens=24))
        before = engine.stats_snapshot()
        turn = [*question, Message(role="assistant", content=first.text),
                Message(role="user", content="Now add 8 to it.")]
        second = await backend.generate(turn, GenParams(max_tokens=4))
    finally:
        remove()
    after = engine.stats_snapshot()
    p1, p2 = backend.engine.encode(question), backend.engine.encode(turn)
    assert first.ok and second.ok and len(sampled) == first.completion_tokens + second.completion_tokens
    cells = p1 + sampled[: first.completion_tokens - 1]  # the last sampled token has no cell
    shared = _common_prefix(cells, p2)
    evaluated = after.prompt_tokens_evaluated - before.prompt_tokens_evaluated
    reused = after.prompt_tokens_reused - before.prompt_tokens_reused
    assert evaluated + reused == len(p2) == second.prompt_tokens
    assert reused == shared and evaluated == len(p2) - shared  # only the new tokens
    assert shared > len(p1) + first.completion_tokens // 2  # most of the answer was reused


@local_model
async def test_reused_chain_gives_the_logits_of_a_fresh_evaluation(backend, one_slot):
    """A conversation's next turn and a continuation of the model's own text, on KV cells the
    engine generated, give bit-identical first-token logits to the same requests with the
    cache off."""
    question = user("Name three rivers in Europe and say where each one flows.")
    results = {}
    for cache in (True, False):
        slot = one_slot(cache)
        answer, _, _ = await slot.ask(question, max_tokens=20)
        steps = [[*question, Message(role="assistant", content=answer),
                  Message(role="user", content="Which one is the longest?")],
                 [*question, Message(role="assistant", content=answer[: len(answer) // 2])]]
        results[cache] = (answer, [await slot.ask(m, max_tokens=6) for m in steps])
    (answer_on, on), (answer_off, off) = results[True], results[False]
    n_question = len(backend.engine.encode(question))
    assert answer_on == answer_off
    assert on[0][2] > n_question and on[1][2] > n_question  # generated cells were reused
    assert off[0][2] == off[1][2] == 0
    for (text, row, _), (text_fresh, row_fresh, _) in zip(on, off):
        assert text == text_fresh and np.array_equal(row, row_fresh)
