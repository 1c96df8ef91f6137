"""Building one engine step's ``llama_decode`` batch.

Decoding sequences go first (one token each), then prompt chunks of admitted requests in
admission order, and score jobs' chunks, until the batch is full. Nothing is decoded here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mistakelab.backends.local.scoring import ScoreJob
from mistakelab.backends.local.state import DECODE, EngineStats, Seq

if TYPE_CHECKING:
    from mistakelab.backends.local.native import Batch
    from mistakelab.backends.local.scheduler import Scheduler


@dataclass
class StepPlan:
    outputs: list[tuple[Seq, int]] = field(default_factory=list)  # decoding seq, its logits row
    in_batch: list[Seq | ScoreJob] = field(default_factory=list)
    finished_prompt: list[tuple[Seq, int]] = field(default_factory=list)  # leader, last prompt row
    scored: list[tuple[ScoreJob, int, int, int]] = field(default_factory=list)  # job, idx, rows p0:p1

    def remap(self, new_index) -> None:
        """Follow a reordering of the batch (``new_index[old] = new``); -1 stays -1."""
        self.outputs = [(s, int(new_index[i])) for s, i in self.outputs]
        self.finished_prompt = [(s, int(new_index[i])) for s, i in self.finished_prompt]
        self.scored = [(j, int(new_index[i]) if i >= 0 else -1, p0, p1) for j, i, p0, p1 in self.scored]


def fill_batch(batch: Batch, sched: Scheduler, stats: EngineStats) -> StepPlan:
    """Clear ``batch`` and fill it for one step; the plan says which rows belong to whom."""
    batch.clear()
    plan = StepPlan()
    for seq in sched.slots:
        if isinstance(seq, Seq) and seq.state == DECODE:
            plan.outputs.append((seq, batch.add(seq.next_token, seq.pos, seq.slot, True)))
            plan.in_batch.append(seq)
    budget = batch.capacity - batch.n
    for seq in list(sched.prefilling):
        if budget <= 0:
            break
        if isinstance(seq, ScoreJob):
            if seq.branch.future.cancelled():
                sched.finish(seq, None)
                continue
            n0 = batch.n
            plan.scored.append((seq, *seq.add_chunk(batch, budget)))
            budget -= batch.n - n0
            stats.score_tokens_evaluated += batch.n - n0
            plan.in_batch.append(seq)
            continue
        g = seq.group
        n = min(budget, len(g.tokens) - g.n_eval)
        idx = -1
        for p in range(g.n_eval, g.n_eval + n):
            idx = batch.add(g.tokens[p], p, seq.slot, p == len(g.tokens) - 1)
        g.n_eval += n
        budget -= n
        stats.prompt_tokens_evaluated += n
        plan.in_batch.append(seq)
        if g.n_eval == len(g.tokens):
            plan.finished_prompt.append((seq, idx))
    if batch.n:
        plan.remap(batch.sort_by_sequence())
    return plan
