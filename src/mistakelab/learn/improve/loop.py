"""``mistakelab improve``: rounds of (solve train -> recipe data -> train LoRA -> eval), resumable.

Round 0 evaluates the base model. Round r >= 1:

1. ``solve``: the train problems with the sampling strategy, on the current model (the base
   model in round 1, then the last round's adapter on the same engine and weights);
2. ``hint`` (only for recipes that ask, ``rationalize``): the train problems no solution got
   right, re-solved with the gold answer as a hint (oracle-assisted);
3. ``data``: the recipes' rows, weighted and mixed, with counts by recipe and skip reason;
   with ``restart = true`` the round trains on every round's data so far (ReST-EM);
4. ``train``: a LoRA adapter (:func:`mistakelab.learn.train.train_lora`), from the base model
   (``restart = true``) or from the last adapter (``restart = false``);
5. ``eval``: the eval problems with every eval strategy, the base engine plus the adapter.

Every stage is recorded in the run store when it finishes (:mod:`mistakelab.store.improve`),
and the stages that solve problems are ordinary runs, each resumable by itself; training
resumes from its last checkpoint. So a loop killed anywhere continues when the same command
runs again. Problems are drawn once and frozen in the store; train and eval must not share a
question (:mod:`mistakelab.learn.improve.splits`).

Example:
    >>> STAGES
    ('solve', 'hint', 'data', 'train', 'eval')
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from mistakelab.backends.base import Backend, ModelSpec
from mistakelab.core.types import Problem
from mistakelab.learn.export import write_jsonl
from mistakelab.learn.improve.config import ImproveConfig, Split
from mistakelab.learn.improve.splits import Problems, frozen_splits
from mistakelab.learn.recipes import RecipeInput, mix, recipes
from mistakelab.learn.source import RunSource
from mistakelab.runner import ExperimentConfig, GenerationConfig, run_experiment
from mistakelab.runner.run import git_revision
from mistakelab.store.db import RunStore
from mistakelab.store.improve import loop_stages, save_stage
from mistakelab.strategies.base import StrategySpec
from mistakelab.tasks.base import TaskSpec

STAGES = ("solve", "hint", "data", "train", "eval")
#: progress(event, payload): ("stage", (round, stage)), ("stage_skip", (round, stage)),
#: ("stage_done", (round, stage, result)), ("run", (round, stage, runner event, payload)),
#: ("train", (round, step, total, loss))
Progress = Callable[[str, Any], None]


class LoopError(RuntimeError):
    """A loop that cannot go on as configured (the message says why and what to do)."""


class LoopStopped(RuntimeError):
    """The loop stopped early on purpose (its time limit); the same command continues it."""


@dataclass
class LoopSummary:
    loop_id: str
    store: str
    rounds: int  # rounds whose eval is done (round 0 included)
    stages_run: int  # stages run in this invocation
    seconds: float


def _spec(cfg: ImproveConfig, round_no: int, adapter: dict[str, Any] | None) -> ModelSpec:
    """The model of ``round_no``: the base model, or the base model plus the round's adapter."""
    if adapter is None:
        return cfg.model
    return cfg.model.model_copy(update={"name": f"{cfg.model.label}+r{round_no}",
                                        "options": {**cfg.model.options, "lora": adapter["gguf"]}})


class _Loop:
    def __init__(self, cfg: ImproveConfig, store: RunStore, backend_factory: Callable[[ModelSpec], Backend] | None,
                 progress: Progress, train_fn: Callable[..., Any]) -> None:
        self.cfg, self.store, self.factory, self.notify, self.train_fn = cfg, store, backend_factory, progress, train_fn
        self.loop_id = cfg.loop_id()
        self.root = Path(cfg.out) / self.loop_id
        self.deadline = None if cfg.time_limit is None else time.monotonic() + cfg.time_limit
        self.done = {(s.round, s.stage): s.result for s in loop_stages(store, self.loop_id)}
        self.ran = 0

    def remaining(self) -> float | None:
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise LoopStopped(f"time limit of {self.cfg.time_limit:g} s reached; run the same command to continue")
        return left

    async def stage(self, r: int, name: str, work: Callable[[], Any]) -> dict[str, Any]:
        if (r, name) in self.done:
            self.notify("stage_skip", (r, name))
            return self.done[(r, name)]
        self.remaining()
        self.notify("stage", (r, name))
        result = work()
        if asyncio.iscoroutine(result):
            result = await result
        save_stage(self.store, self.loop_id, r, name, "done", result)
        self.done[(r, name)] = result
        self.ran += 1
        self.notify("stage_done", (r, name, result))
        return result

    async def solve(self, r: int, stage: str, spec: ModelSpec, problems: Problems, side: Split,
                    tasks: list[TaskSpec], strategies: list[StrategySpec], seed: int) -> dict[str, Any]:
        """Run ``strategies`` on the frozen ``problems`` (an ordinary, resumable run)."""
        ecfg = ExperimentConfig(
            name=f"{self.loop_id}-r{r}-{stage}", seed=seed, n_problems=1, concurrency=self.cfg.concurrency,
            store=self.cfg.store, models=[spec], strategies=strategies,
            tasks=[TaskSpec(name=t.name, n=len(problems[t.label]), label=t.label, options=t.options)
                   for t in tasks if problems.get(t.label)],
            generation=GenerationConfig(temperature=side.temperature, max_tokens=side.max_tokens))
        run_id = ecfg.run_id()
        self.store.create_run(run_id, ecfg.name, ecfg.model_dump(mode="json", by_alias=True), git_revision())
        for label, ps in problems.items():
            if ps and not self.store.load_problems(run_id, label):  # the loop's frozen problems, not a new draw
                self.store.save_problems(run_id, label, ps)
        forward = lambda event, payload: self.notify("run", (r, stage, event, payload))  # noqa: E731
        try:
            summary = await asyncio.wait_for(
                run_experiment(ecfg, backend_factory=self.factory, progress=forward, store=self.store),
                timeout=self.remaining())
        except asyncio.TimeoutError:
            raise LoopStopped(f"time limit of {self.cfg.time_limit:g} s reached in round {r} ({stage}); "
                              "run the same command to continue") from None
        if summary.unit_errors:
            raise LoopError(f"round {r} {stage} (run {run_id}): {summary.failure_line()}")
        return {"run": run_id, "model": spec.label, "units": summary.units_total}

    def unsolved(self, solve: dict[str, Any], train: Problems) -> Problems:
        """Train problems that no solution of the round's ``solve`` run got right."""
        right = {(s.task_label, s.problem.id) for s in RunSource.open(self.store, solve["run"]).solutions() if s.correct}
        return {label: [p for p in ps if (label, p.id) not in right] for label, ps in train.items()}

    def data(self, r: int, solve: dict[str, Any], hint: dict[str, Any] | None) -> dict[str, Any]:
        hinted = RunSource.open(self.store, hint["run"]) if hint and hint.get("run") else None
        rows, counts = mix(self.cfg.recipes, RecipeInput(RunSource.open(self.store, solve["run"]), hinted),
                           seed=self.cfg.seed + r)
        folder = self.root / f"round-{r}" / "data"
        folder.mkdir(parents=True, exist_ok=True)
        write_jsonl(folder / "train.jsonl", [row.data for row in rows])
        write_jsonl(folder / "provenance.jsonl", [{"row": i, **row.meta} for i, row in enumerate(rows)])
        dataset, n = folder / "train.jsonl", len(rows)
        if self.cfg.restart and r > 1:  # ReST-EM / STaR: the base model learns every round's data so far
            lines = [ln for k in range(1, r + 1)
                     for ln in (self.root / f"round-{k}" / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
            dataset = folder.parent / "pool.jsonl"
            dataset.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
            n = len(lines)
        result = {"rows": len(rows), "dataset": str(dataset), "dataset_rows": n, "trainer": self.cfg.trainer,
                  "recipes": [c.as_dict() for c in counts], "oracle_built": self.cfg.oracle_built}
        if n == 0:
            skipped = "; ".join(f"{c.recipe}: {dict(c.skipped) or 'nothing to use'}" for c in counts)
            raise LoopError(f"round {r}: the recipes made no training rows ({skipped}); "
                            "sample more (train.n_problems, the strategy's k) or choose other recipes")
        return result

    def train(self, r: int, data: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
        from mistakelab.learn.train import TrainSettings

        t = self.cfg.training
        kind = self.cfg.trainer
        extra: dict[str, Any] = {}
        if kind == "gkd":
            g = next(s for s in self.cfg.recipes if s.name == "gkd").resolve()[1]
            extra = {"beta": g.beta, "lmbda": g.lmbda, "seq_kd": g.seq_kd,  # type: ignore[attr-defined]
                     "gen_temperature": g.temperature, "max_new_tokens": g.max_new_tokens}  # type: ignore[attr-defined]
        settings = TrainSettings(kind=kind, max_steps=t.steps_for(data["dataset_rows"]), tokens=t.tokens,
                                 learning_rate=t.learning_rate,
                                 batch_size=t.batch_size, grad_accum=t.grad_accum, rank=t.rank, alpha=t.alpha,
                                 max_length=t.max_length, save_steps=t.save_steps, seed=self.cfg.seed,
                                 **({"threads": t.threads} if t.threads else {}), **extra)
        init = None if self.cfg.restart or previous is None else previous["adapter"]
        base = t.base or self.cfg.model.model
        res = self.train_fn(data["dataset"], base, self.root / f"round-{r}" / "train", settings,
                            on_log=lambda step, total, loss: self.notify("train", (r, step, total, loss)),
                            time_limit_s=self.remaining(), init_adapter=init, teacher=self.cfg.roles.get("teacher"))
        if not res.complete:
            raise LoopStopped(f"time limit reached in round {r} training after {res.steps}/{res.max_steps} "
                              "steps (checkpoint kept); run the same command to continue")
        if res.gguf is None:
            raise LoopError(f"round {r}: no GGUF adapter was written (base {base!r} is not a GGUF model), so the "
                            "embedded engine cannot evaluate it")
        from mistakelab.models.embedded import file_sha256

        out = {k: v for k, v in asdict(res).items() if k in ("adapter", "gguf", "steps", "losses", "seconds",
                                                             "rows", "rows_used", "peak_rss_mb", "base",
                                                             "max_steps", "row_tokens")}
        rows_per_step = settings.batch_size * settings.grad_accum
        return {**out, "sha256": file_sha256(Path(res.gguf)), "init_adapter": init, "kind": kind,
                "tokens": None if res.row_tokens is None else round(res.steps * rows_per_step * res.row_tokens)}

    async def run(self, train_p: Problems, eval_p: Problems) -> None:
        cfg = self.cfg
        hint_spec = next((recipes.get(s.name).hint_strategy for s in cfg.recipes
                          if recipes.get(s.name).hint_strategy), None)
        trained: dict[str, Any] | None = None
        for r in range(cfg.rounds + 1):
            if r > 0:
                model = _spec(cfg, r - 1, trained)
                solve = await self.stage(r, "solve", lambda: self.solve(
                    r, "solve", model, train_p, cfg.train, cfg.train.tasks, [cfg.train.strategy], cfg.seed + r))
                hint = None
                if hint_spec is not None:
                    hint = await self.stage(r, "hint", lambda: self._hint(r, model, solve, train_p, hint_spec))
                data = await self.stage(r, "data", lambda: self.data(r, solve, hint))
                prev = trained
                trained = await self.stage(r, "train", lambda: self.train(r, data, prev))
            spec = _spec(cfg, r, trained)
            await self.stage(r, "eval", lambda: self.solve(r, "eval", spec, eval_p, cfg.eval, cfg.eval.tasks,
                                                           cfg.eval.strategies, cfg.seed))

    async def _hint(self, r: int, model: ModelSpec, solve: dict[str, Any], train_p: Problems,
                    hint_spec: dict[str, Any]) -> dict[str, Any]:
        failed = self.unsolved(solve, train_p)
        if not any(failed.values()):
            return {"run": None, "problems": 0}
        out = await self.solve(r, "hint", model, failed, self.cfg.train, self.cfg.train.tasks,
                               [StrategySpec.model_validate(hint_spec)], self.cfg.seed + r)
        return {**out, "problems": sum(len(ps) for ps in failed.values())}


def _default_train(*args: Any, **kw: Any) -> Any:
    from mistakelab.learn.train import train_lora

    return train_lora(*args, **kw)


async def run_loop(cfg: ImproveConfig, *, backend_factory: Callable[[ModelSpec], Backend] | None = None,
                   progress: Progress | None = None, train_fn: Callable[..., Any] | None = None,
                   store: RunStore | None = None) -> LoopSummary:
    """Run (or continue) the loop ``cfg`` describes.

    ``backend_factory`` replaces the backend registry and ``train_fn`` the trainer
    (:func:`mistakelab.learn.train.train_lora`'s signature), for tests. Raises
    :class:`~mistakelab.learn.improve.splits.SplitError` before any model call when train and
    eval share questions, :class:`LoopStopped` at the time limit, :class:`LoopError` when a
    stage cannot finish."""
    t0 = time.perf_counter()
    own = store is None
    store = store or RunStore(cfg.store)
    loop_id = cfg.loop_id()
    try:
        train_p, eval_p = frozen_splits(cfg, store, loop_id)
        store.create_run(loop_id, cfg.name, {"kind": "improve", **cfg.model_dump(mode="json", by_alias=True)},
                         git_revision())
        loop = _Loop(cfg, store, backend_factory, progress or (lambda e, p: None), train_fn or _default_train)
        try:
            await loop.run(train_p, eval_p)
        except BaseException:
            store.set_status(loop_id, "incomplete")
            raise
        store.set_status(loop_id, "complete")
        rounds = sum(1 for (_, st) in loop.done if st == "eval")
        return LoopSummary(loop_id, cfg.store, rounds, loop.ran, time.perf_counter() - t0)
    finally:
        if own:
            store.close()


def loop_problems(store: RunStore, loop_id: str, side: str, labels: list[str]) -> dict[str, list[Problem]]:
    """The frozen problems of one side (``train`` or ``eval``) of a stored loop."""
    return {label: store.load_problems(loop_id, f"{side}:{label}") for label in labels}


def loop_config(config: dict[str, Any]) -> ImproveConfig:
    """The :class:`ImproveConfig` a stored loop ran with (its ``runs`` row's config)."""
    return ImproveConfig.model_validate({k: v for k, v in config.items() if k != "kind"})


