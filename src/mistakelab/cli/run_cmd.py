"""``run``, ``show``, ``errors``, ``runs``: experiments and their stored results."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Optional

import typer

from rich.markup import escape

from mistakelab.cli.common import DEFAULT_STORE, app, console, fail, open_run
from mistakelab.cli.options import parse_named
from mistakelab.cli.progress import RunProgress


def _build_config(config: Optional[Path], **flags: Any):  # type: ignore[no-untyped-def]
    from mistakelab.runner import ConfigError, load_config, parse_config

    top = {k: flags[k] for k in ("name", "seed", "n_problems", "concurrency", "store") if flags.get(k) is not None}
    lists: dict[str, Any] = {}
    if flags.get("model"):
        opts: dict[str, Any] = {}
        if flags.get("base_url"):
            opts["base_url"] = flags["base_url"]
        lists["models"] = [{"backend": flags.get("backend") or "local", "model": m, "options": opts}
                           for m in flags["model"]]
    if flags.get("task"):
        specs = []
        for t in flags["task"]:
            d = parse_named(t)
            top_keys = {k: d.pop(k) for k in ("n", "seed", "label") if k in d}
            specs.append({"name": d.pop("name"), **top_keys, "options": d})
        lists["tasks"] = specs
    if flags.get("strategy"):
        lists["strategies"] = [parse_named(s) for s in flags["strategy"]]
    gen = {k: flags[k] for k in ("max_tokens", "temperature") if flags.get(k) is not None}
    try:
        if config is not None:
            cfg = load_config(config, {**top, **lists})
            if gen:
                cfg = cfg.model_copy(update={"generation": cfg.generation.model_copy(update=gen)})
            return cfg
        data: dict[str, Any] = {"models": [{"backend": "local", "model": "qwen2.5-coder-0.5b"}],
                                "tasks": [{"name": "gsm_symbolic"}], "strategies": [{"name": "cot"}]}
        data.update(top)
        data.update(lists)
        if gen:
            data["generation"] = gen
        return parse_config(data, "command-line flags")
    except ConfigError as exc:
        fail(str(exc))


@app.command()
def run(
    config: Optional[Path] = typer.Argument(None, help="Experiment TOML file."),
    model: Optional[list[str]] = typer.Option(None, "--model", "-m", help="Model name or GGUF path (repeatable)."),
    backend: Optional[str] = typer.Option(None, help="Backend for --model: local, openai, scripted."),
    base_url: Optional[str] = typer.Option(None, help="OpenAI-compatible server URL for --backend openai."),
    task: Optional[list[str]] = typer.Option(None, "--task", "-t", help="Task, e.g. gsm_symbolic or gsm8k_file:path=x.jsonl."),
    strategy: Optional[list[str]] = typer.Option(None, "--strategy", "-s", help="Strategy, e.g. self_consistency:k=4."),
    n_problems: Optional[int] = typer.Option(None, "--n", "-n", help="Problems per task."),
    seed: Optional[int] = typer.Option(None, help="Seed for problems and sampling."),
    concurrency: Optional[int] = typer.Option(None, help="Units solved at once."),
    max_tokens: Optional[int] = typer.Option(None, help="Default max new tokens per call."),
    temperature: Optional[float] = typer.Option(None, help="Default temperature."),
    store: Optional[str] = typer.Option(None, help=f"Run store file (default {DEFAULT_STORE})."),
    name: Optional[str] = typer.Option(None, help="Experiment name (part of the run id)."),
) -> None:
    """Run (or resume) an experiment and print its results table."""
    from mistakelab.metrics import summarize
    from mistakelab.report import print_summary
    from mistakelab.runner import run_experiment
    from mistakelab.store import RunStore

    cfg = _build_config(config, model=model, backend=backend, base_url=base_url, task=task,
                        strategy=strategy, n_problems=n_problems, seed=seed, concurrency=concurrency,
                        max_tokens=max_tokens, temperature=temperature, store=store, name=name)
    from mistakelab.runner import ConfigError

    console.print(f"run [bold]{escape(cfg.run_id())}[/bold] → store {escape(cfg.store)}")
    try:
        with RunProgress(console) as bar:
            summary = asyncio.run(run_experiment(cfg, progress=bar))
    except ConfigError as exc:
        fail(str(exc))
    console.print(
        f"units: {summary.units_done} done now, {summary.units_skipped} already done; "
        f"model calls: {summary.calls_made} made, {summary.calls_cached} from cache; "
        f"{summary.seconds:.1f} s"
    )
    st = RunStore(cfg.store)
    results = [u.result for u in st.units(summary.run_id) if u.result]
    print_summary(summarize(results, [s.label for s in cfg.strategies]), title=summary.run_id, console=console)
    console.print(f"run stored in {escape(str(Path(cfg.store).resolve()))} as [bold]{escape(summary.run_id)}[/bold]")
    if summary.unit_errors:
        fail(summary.failure_line(), 1)


@app.command()
def show(
    run: str = typer.Argument(..., help="Run id (or its name: the latest run of that name)."),
    store: str = typer.Option(DEFAULT_STORE, help="Run store file."),
) -> None:
    """Print a stored run's results table."""
    from mistakelab.metrics import summarize
    from mistakelab.report import print_summary

    st, info = open_run(store, run)
    results = [u.result for u in st.units(info.id) if u.result]
    made, cached = st.call_counts(info.id)
    console.print(f"run [bold]{escape(info.id)}[/bold] ({info.status}); git {info.git_rev or 'unknown'}; "
                  f"model calls: {made} made, {cached} from cache")
    if info.config.get("kind") == "served":
        _print_served(results, info.config)
        return
    order = [_label(s) for s in info.config.get("strategies", [])]
    print_summary(summarize(results, order), title=info.id, console=console)


def _print_served(results: list[Any], config: dict[str, Any]) -> None:
    """Served traffic: requests and their cost per (model, strategy); no gold, so no accuracy."""
    from rich.table import Table

    from mistakelab.report import wide_console
    from mistakelab.serve.summary import summarize_served

    upstream = config.get("upstream") or f"{config.get('backend')} backend"
    table = Table(title=f"served requests ({upstream}; no gold answers: no accuracy)", pad_edge=False)
    for col in ("model", "strategy", "requests", "failed", "answered", "calls", "cached", "tok/req",
                "tok/req by role", "s/req"):
        table.add_column(col, justify="left" if col in ("model", "strategy") else "right", no_wrap=True)
    for r in summarize_served(results):
        roles = " / ".join(f"{role} {t / max(r.done, 1):.0f}" for role, t in sorted(r.tokens_by_role.items()))
        table.add_row(escape(r.model), escape(r.strategy), str(r.requests), str(r.failed), str(r.answered),
                      str(r.calls), str(r.cached_calls), f"{r.mean_tokens:.0f}", roles or "–",
                      f"{r.mean_seconds:.2f}")
    wide_console(console, 140).print(table)


def _label(spec: dict[str, Any]) -> str:
    from mistakelab.strategies import StrategySpec

    return StrategySpec.model_validate(spec).label


@app.command()
def errors(
    run: str = typer.Argument(..., help="Run id (or name)."),
    store: str = typer.Option(DEFAULT_STORE, help="Run store file."),
) -> None:
    """Where wrong solutions first went wrong, by the tasks' step verifiers."""
    from rich.table import Table

    from mistakelab.report.errors import error_profiles
    from mistakelab.tasks import create_task

    st, info = open_run(store, run)
    specs = info.config.get("tasks", [])
    tasks_by_label = {(s.get("label") or s["name"]): create_task(s["name"], s.get("options") or {}) for s in specs}
    table = Table("task", "strategy", "n", "wrong", "earliest wrong step found", "final answer only",
                  "no step verifier", "earliest wrong step: count", "kind of first error")
    for p in error_profiles(st, info.id, tasks_by_label):
        hist = ", ".join(f"{k}: {v}" for k, v in sorted(p.first_error.items())) or "–"
        kinds = ", ".join(f"{k}: {v}" for k, v in p.kinds.most_common()) or "–"
        table.add_row(p.task, p.strategy, str(p.n), str(p.wrong), str(p.with_step), str(p.final_only),
                      str(p.no_verifier), hist, kinds)
    from mistakelab.report import wide_console

    wide_console(console, 200).print(table)


@app.command()
def runs(store: str = typer.Option(DEFAULT_STORE, help="Run store file.")) -> None:
    """List the runs in a store."""
    from rich.table import Table

    from mistakelab.store import RunStore

    if not Path(store).exists():
        fail(f"no run store at {store}")
    st = RunStore(store)
    table = Table("run", "status", "units done", "calls made", "git")
    for r in st.list_runs():
        made, _ = st.call_counts(r.id)
        table.add_row(r.id, r.status, str(len(st.finished_units(r.id))), str(made), (r.git_rev or "")[:10])
    console.print(table)
