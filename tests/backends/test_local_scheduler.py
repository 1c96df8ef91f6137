"""Slot compaction for one KV stream per sequence, on the scheduler alone (no model)."""

from __future__ import annotations

import asyncio

import numpy as np

from mistakelab.backends.local.scheduler import Scheduler
from mistakelab.backends.local.state import DECODE, Branch, EngineStats, Group
from mistakelab.core.types import GenParams


def _sched(n: int, ops: list, prefix_cache: bool = True) -> Scheduler:
    return Scheduler(n, seq_cp=lambda *a: ops.append(("cp", *a)), seq_rm=lambda *a: ops.append(("rm", *a)),
                     deliver=lambda br, c: None, stats=EngineStats(), prefix_cache=prefix_cache)


def _start(sched: Scheduler, loop, tokens: list[int], tag: str):  # type: ignore[no-untyped-def]
    group = Group(tokens, [Branch(GenParams(), loop.create_future(), loop, tag)])
    sched.queue.append(group)
    sched.admit()
    seq = group.members[0]
    sched.prompt_done(seq, np.zeros(3, dtype=np.float32))
    return seq


def test_compact_moves_live_sequences_into_the_lowest_gaps():
    ops: list = []
    sched = _sched(4, ops)
    loop = asyncio.new_event_loop()
    try:
        seqs = [_start(sched, loop, [10 * i + 1, 10 * i + 2], tag) for i, tag in enumerate("abcd")]
        assert [s.slot for s in seqs] == [0, 1, 2, 3]
        sched.finish(seqs[0], "stop")
        sched.finish(seqs[2], "stop")  # live: b in 1, d in 3 -> two micro-batches a step
        assert sched.kept[0] == [1, 2] and sched.kept[2] == [21, 22]  # cached prefixes
        del ops[:]
        assert sched.compact() == 1
        # d moved into the lowest gap (a whole-stream copy), its old slot keeps its cells
        assert ops == [("cp", 3, 0, -1, -1)]
        assert seqs[3].slot == 0 and sched.slots[0] is seqs[3] and sched.slots[3] is None
        assert sched.kept[0] is None and sched.kept[3] == [31, 32]
        assert [i for i, s in enumerate(sched.slots) if s is not None] == [0, 1]
        assert sched.compact() == 0 and sched.stats.slot_moves == 1
        assert seqs[3].state == DECODE and seqs[3].pos == 2
    finally:
        loop.close()


def test_compact_without_a_prefix_cache_frees_the_old_cells():
    ops: list = []
    sched = _sched(3, ops, prefix_cache=False)
    loop = asyncio.new_event_loop()
    try:
        seqs = [_start(sched, loop, [i, i + 1], tag) for i, tag in enumerate("abc")]
        sched.finish(seqs[0], "stop")
        del ops[:]
        sched.compact()
        assert ops == [("cp", 2, 0, -1, -1), ("rm", 2, -1, -1)]  # no cache: the old cells go
        assert sched.kept == [None, None, None]
    finally:
        loop.close()


def test_compact_fills_a_gap_without_a_cached_prefix_first():
    ops: list = []
    sched = _sched(4, ops)
    loop = asyncio.new_event_loop()
    try:
        seqs = [_start(sched, loop, [i, i + 1], tag) for i, tag in enumerate("abcd")]
        sched.finish(seqs[0], "stop")  # slot 0 keeps a's cells for a later prompt
        sched.finish(seqs[1], "error", "boom")  # slot 1 is empty
        del ops[:]
        assert sched.compact(max_moves=1) == 1
        assert ops[0] == ("cp", 3, 1, -1, -1) and sched.kept[0] == [0, 1]  # the cache survives
    finally:
        loop.close()
