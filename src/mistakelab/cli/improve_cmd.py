"""``mistakelab improve CONFIG.toml``: rounds of solve -> recipe data -> LoRA -> eval (METHODS §3.4).

Example:
    $ mistakelab improve examples/loops/improve.toml --time-limit 3600   # stops resumably after an hour
    $ mistakelab improve examples/loops/improve.toml                     # the same command continues
    $ mistakelab show improve-1a2b3c4d                              # the round table
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from mistakelab.cli.common import app, console, fail, say
from mistakelab.cli.errors import CliError


def stage_line(r: int, stage: str, result: dict[str, Any], seconds: float) -> str:
    """One line for a finished stage, with what it made.

    Example:
        >>> stage_line(1, "train", {"steps": 40, "losses": [[1, 0.91], [40, 0.52]]}, 812.4)
        'round 1 train: done in 812 s (40 steps, loss 0.910 → 0.520)'
    """
    what = ""
    if stage == "train":
        losses = result.get("losses") or []
        what = f"{result.get('steps')} steps" + (f", loss {losses[0][1]:.3f} → {losses[-1][1]:.3f}" if losses else "")
    elif stage == "data":
        what = f"{result.get('rows')} rows, {result.get('dataset_rows')} to train on"
    elif result.get("run"):
        what = f"{result.get('units')} units, run {result['run']}"
    return f"round {r} {stage}: done in {seconds:.0f} s" + (f" ({what})" if what else "")


class LoopProgress:
    """A bar per stage: units solved (with ETA) for the runs, steps with the loss for training."""

    def __init__(self) -> None:
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[info]}"), console=console)
        self.bars: dict[tuple[int, str], Any] = {}
        self.started: dict[tuple[int, str], float] = {}

    def _bar(self, r: int, stage: str) -> Any:
        if (r, stage) not in self.bars:
            self.bars[(r, stage)] = self.progress.add_task(f"round {r} {stage}", total=None, info="")
        return self.bars[(r, stage)]

    def __call__(self, event: str, payload: Any) -> None:
        if event == "stage_skip":
            r, stage = payload
            say(f"round {r} {stage}: done before")
        elif event == "stage":
            self._bar(*payload)
            self.started[payload] = time.monotonic()
        elif event == "stage_done":
            r, stage, result = payload
            bar = self._bar(r, stage)
            total = self.progress.tasks[bar].total
            self.progress.update(bar, total=total or 1, completed=total or 1)
            # a line per stage too: a log file (no terminal) shows no bars until the end
            say(stage_line(r, stage, result, time.monotonic() - self.started.get((r, stage), time.monotonic())))
        elif event == "run":
            r, stage, ev, p = payload
            bar = self._bar(r, stage)
            if ev == "start":
                self.progress.update(bar, total=p)
            elif ev in ("unit", "skip", "unit_error"):
                self.progress.advance(bar)
            elif ev == "calls":
                self.progress.update(bar, info=f"calls {p.made} made, {p.cached} cached")
        elif event == "train":
            r, step, total, loss = payload
            self.progress.update(self._bar(r, "train"), completed=step, total=total,
                                 **({"info": f"loss {loss:.4f}"} if loss is not None else {}))


@app.command()
def improve(
    config: Path = typer.Argument(..., help="Loop TOML file (see examples/loops/improve.toml)."),
    rounds: Optional[int] = typer.Option(None, min=1, help="Rounds after round 0 (the base model)."),
    recipe: Optional[list[str]] = typer.Option(None, "--recipe", "-r", help="Recipe, e.g. rft or correction:weight=0.5 "
                                               "(repeatable; replaces the file's): " "rft, correction, prefix_fix, "
                                               "retry, preference, rationalize, gkd."),
    restart: Optional[bool] = typer.Option(None, "--restart/--no-restart", help="Train each round from the base model "
                                           "on all data so far (ReST-EM), or from the last adapter on the new data."),
    steps: Optional[int] = typer.Option(None, min=1, help="Optimizer steps per round."),
    epochs: Optional[float] = typer.Option(None, min=0.01, help="Epochs per round (instead of --steps)."),
    train_tokens: Optional[int] = typer.Option(None, min=1, help="Train on about this many tokens per round "
                                               "(instead of --steps/--epochs: recipes at equal training tokens)."),
    max_length: Optional[int] = typer.Option(None, min=16, help="Token limit per training example."),
    grad_accum: Optional[int] = typer.Option(None, min=1, help="Gradient accumulation steps."),
    batch_size: Optional[int] = typer.Option(None, min=1),
    time_limit: Optional[float] = typer.Option(None, min=1, help="Stop after this many seconds (resumably)."),
    concurrency: Optional[int] = typer.Option(None, min=1, help="Units solved at once."),
    store: Optional[str] = typer.Option(None, help="Run store file."),
    out: Optional[str] = typer.Option(None, help="Folder for datasets and adapters."),
    name: Optional[str] = typer.Option(None, help="Loop name (part of its id)."),
) -> None:
    """Run (or continue) a self-improvement loop and print its round table."""
    from mistakelab.learn.improve import (LoopConfigError, LoopError, LoopStopped, SplitError, load_loop_config,
                                          loop_table, run_loop)
    from mistakelab.report.improve import print_loop
    from mistakelab.store import RunStore

    overrides = {"rounds": rounds, "restart": restart, "time_limit": time_limit, "concurrency": concurrency,
                 "store": store, "out": out, "name": name, "recipes": list(recipe) if recipe else None,
                 "training.steps": steps, "training.epochs": epochs, "training.tokens": train_tokens,
                 "training.max_length": max_length,
                 "training.grad_accum": grad_accum, "training.batch_size": batch_size}
    try:
        cfg = load_loop_config(config, overrides)
    except LoopConfigError as exc:
        raise CliError(str(exc)) from None
    say("loop ", (cfg.loop_id(), "bold"), f": {cfg.rounds} rounds of {', '.join(r.name for r in cfg.recipes)} "
        f"→ store {cfg.store}, files {Path(cfg.out) / cfg.loop_id()}")
    bar = LoopProgress()
    stopped = None
    try:
        with bar.progress:
            summary = asyncio.run(run_loop(cfg, progress=bar))
        say(f"loop done: {summary.stages_run} stages run now, {summary.seconds:.0f} s")
    except SplitError as exc:
        fail(f"{config}: {exc}")
    except LoopStopped as exc:
        stopped = str(exc)
    except LoopError as exc:
        fail(str(exc), 1)
    st = RunStore(cfg.store)
    print_loop(loop_table(st, cfg.loop_id()), console)
    st.close()
    if stopped:
        say(stopped, style="yellow")
