"""The round table of a stored loop: accuracy per eval task and strategy, round after round.

Per (eval task, strategy, round): n, accuracy with its Wilson 95% interval, the paired
difference (Newcombe) against round 0 (the base model) and against the previous round on the
problems both finished, the problems that went wrong -> right and right -> wrong since the
previous round, mean generated tokens per problem, and how many problems had an answer cut
at max_tokens. Per round: the train problems solved by the sampling strategy, the rows the
recipes made (and whether any was oracle-built), training steps, loss, time and the adapter.

Example:
    >>> t = LoopTable("loop-1", "complete", [], [], False)
    >>> t.keys()
    []
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mistakelab.core.types import Result
from mistakelab.learn.improve.serving import FinalAdapter, final_adapter
from mistakelab.metrics.stats import PairedDiff, paired_difference, wilson_interval
from mistakelab.store.db import RunStore
from mistakelab.store.improve import loop_stages


@dataclass(frozen=True)
class RoundCell:
    """One eval task and strategy at one round."""

    round: int
    task: str
    strategy: str
    n: int
    correct: int
    ci: tuple[float, float]
    vs_base: PairedDiff | None  # b_only: wrong at round 0, right now
    vs_prev: PairedDiff | None  # b_only = wrong -> right since the previous round, a_only = right -> wrong
    out_tokens: float  # mean generated tokens per problem
    cut: int  # problems with a call cut at max_tokens
    failed: int  # units without an answer (never in n)
    oracle: bool

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


@dataclass(frozen=True)
class RoundInfo:
    """What one round trained on and how long it took."""

    round: int
    solved: tuple[int, int] | None  # train problems with a correct sample, of all
    rows: int | None  # rows the recipes made this round
    dataset_rows: int | None  # rows trained on (all rounds so far with restart)
    recipes: list[dict[str, Any]] = field(default_factory=list)
    steps: int | None = None
    train_tokens: int | None = None  # tokens the trainer read (steps x rows a step x mean row tokens)
    first_loss: float | None = None
    last_loss: float | None = None
    train_seconds: float | None = None
    adapter: str | None = None  # sha256 of the GGUF adapter, first 12 characters
    oracle_built: bool = False
    eval_run: str | None = None


@dataclass
class LoopTable:
    loop_id: str
    status: str
    rounds: list[RoundInfo]
    cells: list[RoundCell]
    oracle_built: bool
    adapter: FinalAdapter | None = None  # the last trained round's

    def keys(self) -> list[tuple[str, str]]:
        """(eval task, strategy) in first-seen order."""
        return list(dict.fromkeys((c.task, c.strategy) for c in self.cells))

    def series(self, task: str, strategy: str) -> list[RoundCell]:
        return sorted((c for c in self.cells if (c.task, c.strategy) == (task, strategy)), key=lambda c: c.round)


def _eval_results(store: RunStore, run_id: str) -> dict[tuple[str, str], tuple[dict[str, Result], int, int]]:
    """(task, strategy) -> (problem id -> result, failed units, problems cut at max_tokens)."""
    out: dict[tuple[str, str], tuple[dict[str, Result], int, int]] = {}
    for row, trace in store.units_with_traces(run_id):
        if row.result is None:
            continue
        done, failed, cut = out.get((row.task, row.strategy), ({}, 0, 0))
        if row.result.status == "failed":
            failed += 1
        else:
            done[row.problem_id] = row.result
            if trace is not None and any(c.completion.finish_reason == "length" for c in trace.calls):
                cut += 1
        out[(row.task, row.strategy)] = (done, failed, cut)
    return out


def _paired(a: dict[str, Result] | None, b: dict[str, Result]) -> PairedDiff | None:
    if a is None:
        return None
    common = [p for p in b if p in a]
    return paired_difference([a[p].correct for p in common], [b[p].correct for p in common])


def _round_info(r: int, stages: dict[str, dict[str, Any]], store: RunStore) -> RoundInfo:
    solve, data, train = stages.get("solve"), stages.get("data"), stages.get("train")
    solved = None
    if solve:
        right: dict[str, bool] = {}
        for u in store.units(solve["run"]):
            if u.result is not None and u.result.status == "done":
                key = f"{u.task}/{u.problem_id}"
                right[key] = right.get(key, False) or bool(u.result.pass_at_k or u.result.correct)
        solved = (sum(right.values()), len(right))
    losses = (train or {}).get("losses") or []
    return RoundInfo(
        r, solved, data and data["rows"], data and data["dataset_rows"], (data or {}).get("recipes", []),
        train and train["steps"], train and train.get("tokens"), losses[0][1] if losses else None, losses[-1][1] if losses else None,
        train and train["seconds"], train and train["sha256"][:12], bool(data and data.get("oracle_built")),
        (stages.get("eval") or {}).get("run"))


def loop_table(store: RunStore, loop_id: str) -> LoopTable:
    """The round table of ``loop_id`` from what its stages recorded (rounds not yet evaluated
    show what they have)."""
    info = store.get_run(loop_id)
    if info is None:
        raise LookupError(f"no loop {loop_id!r} in {store.path}")
    by_round: dict[int, dict[str, dict[str, Any]]] = {}
    for s in loop_stages(store, loop_id):
        by_round.setdefault(s.round, {})[s.stage] = s.result
    rounds = [_round_info(r, by_round[r], store) for r in sorted(by_round)]
    evals = {r: _eval_results(store, st["eval"]["run"]) for r, st in sorted(by_round.items()) if "eval" in st}
    cells: list[RoundCell] = []
    order = [r for r in sorted(evals)]
    for i, r in enumerate(order):
        for key, (done, failed, cut) in evals[r].items():
            base = evals[order[0]].get(key, (None,))[0] if r != order[0] else None
            prev = evals[order[i - 1]].get(key, (None,))[0] if i > 0 else None
            k = sum(x.correct for x in done.values())
            cells.append(RoundCell(
                r, key[0], key[1], len(done), k, wilson_interval(k, len(done)), _paired(base, done),
                _paired(prev, done), sum(x.completion_tokens for x in done.values()) / max(len(done), 1), cut,
                failed, any(x.used_gold for x in done.values())))
    return LoopTable(loop_id, info.status, rounds, cells, any(r.oracle_built for r in rounds),
                     final_adapter(store, loop_id))
