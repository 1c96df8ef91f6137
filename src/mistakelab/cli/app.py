"""The ``mistakelab`` command line.

Example:
    $ mistakelab run examples/quickstart.toml
    $ mistakelab run --backend local --model smollm2-135m --task gsm_symbolic \\
          --strategy cot --strategy self_consistency:k=4 -n 5
    $ mistakelab show quickstart-1a2b3c4d
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from mistakelab.cli.options import parse_named
from mistakelab.cli.progress import RunProgress

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Find, fix and learn from language models' reasoning mistakes.")
console = Console()
err = Console(stderr=True)

DEFAULT_STORE = "runs/mistakelab.db"


def _fail(msg: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {msg}", highlight=False)
    raise typer.Exit(code)


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
        _fail(str(exc))


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
    console.print(f"run [bold]{cfg.run_id()}[/bold] → store {cfg.store}")
    with RunProgress(console) as bar:
        summary = asyncio.run(run_experiment(cfg, progress=bar))
    console.print(
        f"units: {summary.units_done} done now, {summary.units_skipped} already done; "
        f"model calls: {summary.calls_made} made, {summary.calls_cached} from cache; "
        f"{summary.seconds:.1f} s"
    )
    st = RunStore(cfg.store)
    results = [u.result for u in st.units(summary.run_id) if u.result]
    print_summary(summarize(results, [s.label for s in cfg.strategies]), title=summary.run_id, console=console)
    console.print(f"run stored in {Path(cfg.store).resolve()} as [bold]{summary.run_id}[/bold]")
    if summary.unit_errors:
        for e in summary.unit_errors[:10]:
            err.print(f"[red]unit failed:[/red] {e}", highlight=False)
        _fail(f"{len(summary.unit_errors)} unit(s) failed; re-run the same command to retry them", 1)


def _open_run(store: str, run: str) -> tuple[Any, Any]:
    """The store and the run named by id, id prefix or name (latest of that name)."""
    from mistakelab.store import RunStore

    if not Path(store).exists():
        _fail(f"no run store at {store}")
    st = RunStore(store)
    return st, _find_run(st, run)


def _find_run(st: Any, run: str) -> Any:
    info = st.get_run(run)
    if info is None:
        matches = [r for r in st.list_runs() if r.id.startswith(run) or r.name == run]
        if not matches:
            _fail(f"no run {run!r} in {st.path}; known: {', '.join(r.id for r in st.list_runs()) or '(none)'}")
        info = matches[-1]
    return info


@app.command()
def show(
    run: str = typer.Argument(..., help="Run id (or its name: the latest run of that name)."),
    store: str = typer.Option(DEFAULT_STORE, help="Run store file."),
) -> None:
    """Print a stored run's results table."""
    from mistakelab.metrics import summarize
    from mistakelab.report import print_summary

    st, info = _open_run(store, run)
    results = [u.result for u in st.units(info.id) if u.result]
    order = [_label(s) for s in info.config.get("strategies", [])]
    made, cached = st.call_counts(info.id)
    console.print(f"run [bold]{info.id}[/bold] ({info.status}); git {info.git_rev or 'unknown'}; "
                  f"model calls: {made} made, {cached} from cache")
    print_summary(summarize(results, order), title=info.id, console=console)


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

    st, info = _open_run(store, run)
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
        _fail(f"no run store at {store}")
    st = RunStore(store)
    table = Table("run", "status", "units done", "calls made", "git")
    for r in st.list_runs():
        made, _ = st.call_counts(r.id)
        table.add_row(r.id, r.status, str(len(st.finished_units(r.id))), str(made), (r.git_rev or "")[:10])
    console.print(table)


@app.command()
def models(prepare: Optional[str] = typer.Option(None, help="Assemble and verify this embedded model.")) -> None:
    """List the embedded models, whether each is installed, and its size."""
    from rich.table import Table

    from mistakelab import models as m

    if prepare:
        try:
            path = m.prepare_model(prepare)
        except Exception as exc:  # noqa: BLE001 - show the install hint, not a traceback
            _fail(str(exc))
        console.print(f"{prepare}: ready at {path}")
        return
    table = Table("name", "installed", "assembled", "size", "install with")
    for info in m.list_models():
        table.add_row(info.name, "yes" if info.installed else "no", "yes" if info.assembled else "no",
                      f"{info.size_bytes / 1e6:.0f} MB", info.install_command)
    console.print(table)


@app.command()
def strategies() -> None:
    """List the registered strategies and their parameters."""
    from rich.table import Table

    from mistakelab.strategies import strategies as reg

    table = Table("strategy", "parameters", "oracle", "what it does")
    for name in reg.names():
        d = reg.get(name)
        params = ", ".join(f"{k}={f.default!r}" for k, f in d.params.model_fields.items())
        table.add_row(name, params, "yes" if d.oracle else "no", d.doc.splitlines()[0] if d.doc else "")
    console.print(table)


@app.command()
def tasks() -> None:
    """List the registered tasks with their parameters."""
    from rich.table import Table

    from mistakelab.tasks import tasks as reg

    table = Table("task", "parameters", "what it is")
    for name in reg.names():
        try:
            factory = reg.get(name)
        except ImportError as exc:
            table.add_row(name, f"(unavailable: {exc})", "")
            continue
        target = factory.__init__ if inspect.isclass(factory) else factory
        sig = inspect.signature(target)
        params = ", ".join(str(p) for p in sig.parameters.values() if p.name not in ("self", "kwargs", "options"))
        doc = (inspect.getdoc(factory) or "").splitlines()
        table.add_row(name, params, doc[0] if doc else "")
    console.print(table)
    console.print("Any reasoning-gym dataset works as rg:<name> (e.g. rg:leg_counting).", style="dim")


@app.command()
def sample(
    task: str = typer.Argument(..., help="Task name, options as name:key=value,..."),
    n: int = typer.Option(3, "--n", "-n"),
    seed: int = typer.Option(0),
) -> None:
    """Print a few generated problems with their gold answers and steps."""
    from mistakelab.tasks import create_task

    d = parse_named(task)
    try:
        t = create_task(d.pop("name"), d)
        problems = t.load(n, seed)
    except Exception as exc:  # noqa: BLE001
        _fail(f"{task}: {exc}")
    for p in problems:
        console.rule(p.id)
        console.print(p.question, highlight=False, markup=False)
        console.print(f"[bold]gold answer:[/bold] {p.answer}", highlight=False)
        for i, s in enumerate(p.steps or []):
            console.print(f"  step {i}: {s.text}", highlight=False, markup=False)


def main() -> None:
    from mistakelab.cli import locate_cmd  # noqa: F401  (registers the command)

    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)
