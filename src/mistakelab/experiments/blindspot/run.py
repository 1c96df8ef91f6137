"""Run the blind-spot experiment (Self-Correction Bench, METHODS §2.5) through the run store.

Every item is tried in four conditions:

- ``own``: the error is the beginning of the model's own turn (assistant prefill), which
  the model continues (``continue_``);
- ``own+wait``: the same, with " Wait" (``cue``) appended to the prefill;
- ``user``: the same error text ends the user's message; the model answers;
- ``user+wait``: the same user message, and the model's turn begins with "Wait".

A unit is (model, level, condition, item), stored like a run's units (trace and result,
graded with the item's task), so ``mistakelab show`` prints it, re-running resumes it, and
every call goes through the completion cache. The answer of a continued turn is the
continuation's own plainly stated answer, else the whole turn's
(:func:`~mistakelab.strategies.revision.record_turn`).

Example:
    >>> import asyncio, tempfile
    >>> from mistakelab.backends import ScriptedBackend
    >>> cfg = BlindspotConfig(model={"backend": "scripted", "model": "fake"}, n=2, levels=[1],
    ...                       store=tempfile.mkdtemp() + "/bs.db")
    >>> run_id = asyncio.run(run_blindspot(cfg, backend_factory=lambda spec: ScriptedBackend(lambda m, p: "ok")))
    >>> run_id.startswith("blindspot-")
    True
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.backends.base import CONTINUE, Backend, ModelSpec
from mistakelab.core.types import GenParams
from mistakelab.experiments.blindspot.items import Item, level1, level2, level3
from mistakelab.runner.execute import Unit, execute_unit
from mistakelab.runner.caller import CallStats, ModelCaller, UnitGateway
from mistakelab.runner.run import git_revision, unit_key
from mistakelab.store.db import RunStore
from mistakelab.strategies.base import StrategyDef
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.revision import record_turn, with_hint

CONDITIONS = ("own", "own+wait", "user", "user+wait")


class BlindspotConfig(BaseModel):
    """What ``mistakelab blindspot`` runs; the same config resumes the same run."""

    model_config = ConfigDict(extra="forbid")
    name: str = "blindspot"
    model: ModelSpec = Field(default_factory=ModelSpec)
    n: int = Field(default=30, ge=1)  # items per level
    seed: int = 0
    levels: list[int] = Field(default_factory=lambda: [1, 2, 3])
    level2_task: str = "igsm"
    level2_options: dict[str, Any] | None = None
    level3_store: str | None = None  # the stored run whose wrong solutions are level 3
    level3_run: str | None = None
    level3_strategy: str = "cot"
    cue: str = " Wait"
    max_tokens: int = Field(default=384, ge=1)
    concurrency: int = Field(default=8, ge=1)
    store: str = "runs/mistakelab.db"

    def run_id(self) -> str:
        ident = self.model_dump(mode="json", exclude={"store", "concurrency", "name"})
        return f"{self.name}-{hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:8]}"

    def items(self) -> dict[str, list[Item]]:
        """Items by level label (``level1``...); raises ValueError for a level it cannot build."""
        out: dict[str, list[Item]] = {}
        for level in self.levels:
            if level == 1:
                out["level1"] = level1(self.n, self.seed)
            elif level == 2:
                out["level2"] = level2(self.n, self.seed, self.level2_task, self.level2_options)
            elif level == 3:
                if not (self.level3_store and self.level3_run):
                    raise ValueError("level 3 needs a stored run: --from-run RUN (and --from-store)")
                out["level3"] = level3(self.level3_store, self.level3_run, self.n, self.level3_strategy)
            else:
                raise ValueError(f"unknown level {level}; levels are 1, 2 and 3")
        return out


async def probe(ctx: StrategyContext, error: str, condition: str, cue: str) -> None:
    """One condition on one item: place ``error``, let the model go on, record its answer."""
    question = ctx.question()
    if condition.startswith("own"):
        prefix = error + (cue if condition == "own+wait" else "")
        cont = await ctx.continue_(question, prefix, purpose=condition)
    elif condition == "user":
        c = await ctx.generate(with_hint(question, error), purpose=condition)
        ctx.final(ctx.record_answer(c, label=condition), method="response")
        return
    else:
        prefix = cue.strip()
        cont = await ctx.continue_(with_hint(question, error), prefix, purpose=condition)
    ctx.final(record_turn(ctx, prefix, cont, label=condition), method="turn")


class ProbeParams(BaseModel):
    """One condition on one item, as the parameters of the probe strategy."""

    error: str
    condition: str
    cue: str


async def _probe(ctx: StrategyContext, p: ProbeParams) -> None:
    await probe(ctx, p.error, p.condition, p.cue)


def probe_strategy(condition: str) -> StrategyDef:
    """The probe of ``condition`` as a strategy (its name seeds its samples)."""
    needs = {"solver": frozenset({CONTINUE})} if condition != "user" else {}
    return StrategyDef(f"blindspot-{condition}", _probe, ProbeParams, needs=lambda _p: needs)


async def run_blindspot(cfg: BlindspotConfig, *, backend_factory: Callable[[ModelSpec], Backend] | None = None,
                        progress: Callable[[str, Any], None] | None = None) -> str:
    """Run (or resume) the experiment; returns its run id in ``cfg.store``."""
    items = cfg.items()
    store, run_id, notify = RunStore(cfg.store), cfg.run_id(), progress or (lambda e, p: None)
    config = {**cfg.model_dump(mode="json"), "strategies": [{"name": c} for c in CONDITIONS],
              "tasks": [{"name": label} for label in items], "experiment": "blindspot"}
    store.create_run(run_id, cfg.name, config, git_revision())
    for label, its in items.items():
        if not store.load_problems(run_id, label):
            store.save_problems(run_id, label, [
                it.problem.model_copy(update={"metadata": {**it.problem.metadata, "blindspot_error": it.error,
                                                           "blindspot_kind": it.kind}}) for it in its])
    stats = CallStats()
    stats.listeners.append(lambda st: notify("calls", st))
    caller = ModelCaller.for_spec(cfg.model, store, run_id, stats,
                                  (lambda: backend_factory(cfg.model)) if backend_factory else None)
    params, sem, done = GenParams(max_tokens=cfg.max_tokens), asyncio.Semaphore(cfg.concurrency), store.finished_units(run_id)
    units = [(label, it, c) for label, its in items.items() for it in its for c in CONDITIONS]
    strategies = {c: probe_strategy(c) for c in CONDITIONS}
    notify("start", len(units))

    async def one(label: str, it: Item, condition: str) -> None:
        key = unit_key(cfg.model.label, label, condition, it.problem.id)
        if key in done:
            notify("skip", None)
            return
        async with sem:
            unit = Unit(strategies[condition], ProbeParams(error=it.error, condition=condition, cue=cfg.cue),
                        it.problem, it.task, {"solver": UnitGateway(caller, key)}, label=condition,
                        task_label=label, model=cfg.model.label, gen=params, seed=cfg.seed)
            result = await execute_unit(unit)  # a failed unit is stored as failed, retried on the next run
            store.save_unit(run_id, key, result, unit.trace)
            if result.status == "failed":
                notify("unit_error", key)
            else:
                notify("unit", result)

    try:
        await asyncio.gather(*(one(*u) for u in units))
    finally:
        await caller.aclose()
        complete = len(store.finished_units(run_id)) == len(units)
        store.set_status(run_id, "complete" if complete else "incomplete")
        store.close()
    return run_id
