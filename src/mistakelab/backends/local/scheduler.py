"""Slot bookkeeping for the engine: admission, prompt sharing and slot recycling.

No llama.cpp calls here: the KV operations (``seq_cp``, ``seq_rm``) and result delivery are
injected, so the scheduling rules can be read (and tested) on their own.

Rules: requests wait in a FIFO queue of groups and score jobs (one slot each, evaluated like a
prompt; see :mod:`.scoring`); a free slot goes to the head of the queue. The first branch of a
group evaluates the prompt (``prefill``); siblings admitted meanwhile ``wait`` and
get the prompt's KV copied when it is done; later siblings copy it from a live member, or take
over a finished sibling's slot with its prompt kept (``ready``: their first token is sampled
from the saved logits row of the prompt).

Prefix cache (``prefix_cache=True``): a slot freed by a finished request keeps the KV cells
it filled, prompt and generated tokens alike (all but the last sampled token, which was never
fed back), and remembers their token ids. A new prompt goes to the free slot sharing the
longest token prefix with it (or copies that prefix from a live sequence's cells when that is
longer) and evaluates only the rest: a conversation's next turn (question, the model's answer,
a new user turn), a continuation of text the model just wrote, retries, rollouts from growing
prefixes and prompts over the same problem skip the part they share. Prefixes are compared by
token id, so when the chat template re-renders an answer and the tokenizer splits it
differently from how it was sampled, only the cells before the first differing token are
reused. At least the last prompt token is always evaluated, for its logits.

Example:
    >>> s = Scheduler(2, seq_cp=lambda *a: None, seq_rm=lambda *a: None, deliver=lambda *a: None,
    ...               stats=EngineStats())
    >>> s.has_work()
    False
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Callable

import numpy as np

from mistakelab.backends.local.state import (
    DECODE,
    PREFILL,
    READY,
    WAIT,
    Branch,
    EngineStats,
    Group,
    Seq,
)
from mistakelab.core.types import Completion

if TYPE_CHECKING:
    from mistakelab.backends.local.scoring import ScoreJob


class Scheduler:
    """Which branch holds which sequence slot, and in which state."""

    def __init__(
        self,
        n_seq: int,
        *,
        seq_cp: Callable[[int, int, int, int], None],
        seq_rm: Callable[[int, int, int], None],
        deliver: Callable[[Branch, Completion], None],
        stats: EngineStats,
        prefix_cache: bool = False,
    ) -> None:
        self.slots: list[Seq | ScoreJob | None] = [None] * n_seq
        # tokens (prompt, then generated) whose KV cells a free slot still holds
        # (positions 0..len-1), or None
        self.kept: list[list[int] | None] = [None] * n_seq
        self.prefix_cache = prefix_cache
        self.queue: deque[Group | ScoreJob] = deque()
        # leaders evaluating their prompt and score jobs, in admission order
        self.prefilling: list[Seq | ScoreJob] = []
        self.ready: list[Seq] = []  # prompt shared; first token to sample from the saved row
        self._seq_cp, self._seq_rm, self._deliver = seq_cp, seq_rm, deliver
        self.stats = stats

    def has_work(self) -> bool:
        return bool(self.queue or self.prefilling or self.ready or any(self.slots))

    def admit(self) -> None:
        free = [i for i, s in enumerate(self.slots) if s is None]
        while free and self.queue:
            g = self.queue[0]
            if not isinstance(g, Group):  # a score job
                self.queue.popleft()
                g.slot = self._take(free)
                self.slots[g.slot] = g
                self.prefilling.append(g)
                continue
            if g.members or g.prompt_done:  # a sibling has (or is evaluating) the prompt
                self.start(g, g.pending.popleft(), self._take(free))
            else:  # this branch evaluates the prompt: reuse the longest cached prefix
                slot, reuse = self._take_for_prompt(free, g.tokens)
                self.start(g, g.pending.popleft(), slot, reused=reuse)
            if not g.pending:
                self.queue.popleft()

    def _take(self, free: list[int]) -> int:
        """An empty slot for a request that brings no prompt of its own to evaluate."""
        slot = min(free, key=lambda i: (self.kept[i] is not None, i))  # spare cached prefixes
        free.remove(slot)
        self._clear(slot)
        return slot

    def _clear(self, slot: int) -> None:
        if self.kept[slot] is not None:
            self._seq_rm(slot, -1, -1)
            self.kept[slot] = None

    def _take_for_prompt(self, free: list[int], tokens: list[int]) -> tuple[int, int]:
        """(slot, prompt tokens already in its KV); copies a live sequence's prefix if longer."""
        if not self.prefix_cache:
            return self._take(free), 0
        limit = len(tokens) - 1  # the last prompt token is evaluated for its logits
        # longest shared prefix; on ties (no match included) an empty slot, sparing kept ones
        best_n, _, best = max((_common_prefix(self.kept[i], tokens, limit), self.kept[i] is None, -i)
                              for i in free)
        best = -best
        src, src_n = -1, best_n
        for s in self.slots:  # live sequences whose prompt cells are complete
            if isinstance(s, Seq) and s.state in (DECODE, READY):
                n = _common_prefix(s.cell_tokens(), tokens, limit)
                if n > src_n:
                    src, src_n = s.slot, n
        free.remove(best)
        if src >= 0:
            self._clear(best)
            self._seq_cp(src, best, 0, src_n)
            self.stats.kv_copies += 1
            best_n = src_n
        elif best_n > 0:
            self._seq_rm(best, best_n, -1)  # keep the shared prefix, drop the rest
        else:
            self._clear(best)
        self.kept[best] = None
        self.stats.prompt_tokens_reused += best_n
        return best, best_n

    def start(self, g: Group, branch: Branch, slot: int, has_prompt: bool = False, reused: int = 0) -> None:
        """Put ``branch`` into ``slot``; ``has_prompt``: the slot's KV holds exactly the prompt;
        ``reused``: its KV holds the first ``reused`` prompt tokens (prefix cache)."""
        n = len(g.tokens)
        if has_prompt or (g.prompt_done and g.members):
            if not has_prompt:  # share a live sibling's prompt cells
                self._seq_cp(g.members[0].slot, slot, 0, n)
            self.stats.kv_copies += 1
            seq = Seq(slot, branch, g, READY)
            seq.pos, seq.first_row = n, g.first_logits
            self.ready.append(seq)
        elif not g.members:  # first (or only surviving) branch: evaluate the prompt
            g.n_eval, g.prompt_done = reused, False
            seq = Seq(slot, branch, g, PREFILL)
            self.prefilling.append(seq)
        else:  # the prompt is being evaluated by a sibling: copy it when done
            seq = Seq(slot, branch, g, WAIT)
        g.members.append(seq)
        self.slots[slot] = seq
        if not g.pending:
            g.first_logits = None

    def prompt_done(self, leader: Seq, row: np.ndarray) -> list[tuple[Seq, np.ndarray]]:
        g = leader.group
        n = len(g.tokens)
        g.prompt_done = True
        self.prefilling.remove(leader)
        leader.state, leader.pos = DECODE, n
        out = [(leader, row)]
        for seq in g.members:
            if seq.state == WAIT:
                self._seq_cp(leader.slot, seq.slot, 0, n)
                self.stats.kv_copies += 1
                seq.state, seq.pos = DECODE, n
                out.append((seq, row))
        if g.pending:
            g.first_logits = row.copy()  # later branches sample their first token from it
        return out

    def finish(self, seq: Seq | ScoreJob, reason: str | None, error: str | None = None) -> None:
        """Release ``seq``'s slot and deliver its result (``reason`` None: cancelled, no result)."""
        if not isinstance(seq, Seq):  # a score job: nothing to recycle
            self.slots[seq.slot] = None
            if seq in self.prefilling:
                self.prefilling.remove(seq)
            self._seq_rm(seq.slot, -1, -1)
            if reason is not None:
                self._deliver(seq.branch, seq.result(error))
            return
        g, br = seq.group, seq.branch
        g.members.remove(seq)
        if seq in self.prefilling:
            self.prefilling.remove(seq)
        if seq in self.ready:
            self.ready.remove(seq)
        self.slots[seq.slot] = None
        if error is None and g.pending and g.prompt_done:
            # Recycle the slot for a waiting sibling: keep the prompt, drop the generated part.
            self._seq_rm(seq.slot, len(g.tokens), -1)
            self.start(g, g.pending.popleft(), seq.slot, has_prompt=True)
            if not g.pending and g in self.queue:
                self.queue.remove(g)
        else:
            kept = seq.cell_tokens() if error is None and self.prefix_cache else None
            self._seq_rm(seq.slot, len(kept) if kept else -1, -1)
            self.kept[seq.slot] = kept or None
            if error is not None and seq.state == PREFILL:
                waiting = [m for m in g.members if m.state == WAIT]
                if waiting:  # promote a waiting sibling to evaluate the prompt afresh
                    waiting[0].state = PREFILL
                    g.n_eval, g.prompt_done = 0, False
                    self.prefilling.append(waiting[0])
        if reason is not None:  # delivered last: a caller that sees it sees the slot released
            self._deliver(br, Completion(
                text="" if error else seq.out.finish(),
                prompt_tokens=len(g.tokens),
                completion_tokens=seq.n_gen,
                finish_reason=reason,  # type: ignore[arg-type]
                latency_s=time.perf_counter() - br.t0,
                logprobs=seq.logprobs,
                error=error,
            ))

    def compact(self, max_moves: int = 4) -> int:
        """Move live sequences down into free lower slots; returns how many moved.

        With one KV stream per sequence, llama.cpp decodes a batch in micro-batches of
        consecutive sequence ids, so live slots {0, 1, 5} cost two weight passes a step
        where {0, 1, 2} cost one. A move copies the stream (``seq_cp`` of the whole stream,
        applied by llama.cpp before the next decode) and frees the old slot, which keeps the
        cells as a cached prefix when the prefix cache is on. Free slots without a cached
        prefix are filled first.
        """
        moves = 0
        while moves < max_moves:
            live = [i for i, s in enumerate(self.slots) if s is not None]
            holes = [i for i, s in enumerate(self.slots) if s is None and live and i < live[-1]]
            if not holes:
                break
            dst = min(holes, key=lambda i: (self.kept[i] is not None, i))
            self._move(live[-1], dst)
            moves += 1
        return moves

    def _move(self, src: int, dst: int) -> None:
        item = self.slots[src]
        assert item is not None
        self.kept[dst] = None
        if isinstance(item, Seq) and item.state == WAIT:  # no cells yet: a new label only
            self._clear(dst)
            kept = None
        else:
            self._seq_cp(src, dst, -1, -1)  # replaces whatever dst held
            self.stats.slot_moves += 1
            kept = item.cell_tokens() if isinstance(item, Seq) and self.prefix_cache else None
            if not kept:
                self._seq_rm(src, -1, -1)
        item.slot = dst
        self.slots[dst], self.slots[src] = item, None
        self.kept[src] = kept or None

    def drop_kept(self) -> int:
        """Free every kept prefix's cells (when a batch finds no room); returns how many."""
        dropped = 0
        for slot, kept in enumerate(self.kept):
            if kept is not None and self.slots[slot] is None:
                self._clear(slot)
                dropped += 1
        return dropped

    def fail_everything(self, error: str) -> None:
        for seq in [s for s in self.slots if s is not None]:
            self.finish(seq, "error", error)
        groups, self.queue = list(self.queue), deque()
        for g in groups:
            if not isinstance(g, Group):
                self._deliver(g.branch, g.result(error))
                continue
            while g.pending:
                br = g.pending.popleft()
                self._deliver(br, Completion(text="", prompt_tokens=len(g.tokens),
                                             finish_reason="error", error=error))
        self.prefilling.clear()
        self.ready.clear()


def _common_prefix(a: list[int] | None, b: list[int], limit: int) -> int:
    """Length of the common prefix of ``a`` and ``b``, at most ``limit``."""
    if not a:
        return 0
    n = min(len(a), len(b), limit)
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
