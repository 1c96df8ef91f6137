"""``run``, ``show``, ``errors``, ``runs``: experiments and their stored results."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from mistakelab.cli.common import DEFAULT_STORE, app, console, fail, open_graded_run, open_run, open_store, say
from mistakelab.cli.errors import FAILED, CliError, format_validation, one_line
from mistakelab.cli.options import parse_flag_spec
from mistakelab.cli.progress import RunProgress
from mistakelab.report.text import literal

if TYPE_CHECKING:
    from mistakelab.report.errors import ErrorExample


#: config field -> the flag that sets it (for messages that say where a bad value came from)
TOP_FLAGS = {"name": "--name", "seed": "--seed", "n_problems": "-n/--n", "concurrency": "--concurrency",
             "store": "--store"}
GEN_FLAGS = {"max_tokens": "--max-tokens", "temperature": "--temperature"}
LIST_FLAGS = {"models": "--model/--backend/--base-url", "tasks": "--task", "strategies": "--strategy"}
#: how a config error from planning starts -> the config section it is about
_SECTIONS = (("unknown strategy", "strategies"), ("strategy ", "strategies"), ("unknown task", "tasks"),
             ("task ", "tasks"), ("unknown backend", "models"), ("model ", "models"), ("role model", "strategies"),
             ("prompts.", "prompts"))


def _check_field(model: Any, field: str, value: Any, flag: str) -> None:
    """Validate one flag's value as the config field it sets; errors name the flag."""
    from typing import Annotated

    from pydantic import TypeAdapter, ValidationError

    info = model.model_fields[field]
    try:
        TypeAdapter(Annotated[info.annotation, info]).validate_python(value)
    except ValidationError as exc:
        raise CliError(f"flag {flag}: {exc.errors()[0]['msg']} (got {value!r})") from None


def _flag_lists(flags: dict[str, Any]) -> dict[str, Any]:
    """The config lists the flags give (models, tasks, strategies), each checked."""
    from pydantic import ValidationError

    from mistakelab.backends.base import ModelSpec
    from mistakelab.core.registry import UnknownNameError
    from mistakelab.strategies import StrategySpec
    from mistakelab.tasks.base import TaskSpec

    lists: dict[str, Any] = {}
    if flags.get("model"):
        urls = flags.get("base_url") or []
        # one plain URL: one server; several (or settings after the URL): a pool of servers
        opts: dict[str, Any] = {"base_url": urls[0] if len(urls) == 1 and " " not in urls[0].strip() else urls} \
            if urls else {}
        lists["models"] = [ModelSpec(backend=flags.get("backend") or "local", model=m, options=opts).model_dump()
                           for m in flags["model"]]
    elif flags.get("backend") or flags.get("base_url"):
        raise CliError("flag --backend/--base-url: give the model too (--model NAME)")
    if flags.get("task"):
        specs = []
        for t in flags["task"]:
            d = parse_flag_spec(t, "--task")
            top_keys = {k: d.pop(k) for k in ("n", "seed", "label") if k in d}
            spec = {"name": d.pop("name"), **top_keys, "options": d}
            try:
                TaskSpec.model_validate(spec)
            except ValidationError as exc:
                raise CliError(format_validation(exc, f"flag --task {t!r}")) from None
            specs.append(spec)
        lists["tasks"] = specs
    if flags.get("strategy"):
        specs = []
        for text in flags["strategy"]:
            d = parse_flag_spec(text, "--strategy")
            try:
                StrategySpec.model_validate(d).resolve()
            except (UnknownNameError, ValueError) as exc:
                raise CliError(f"flag --strategy {text!r}: {exc}") from None
            specs.append(d)
        lists["strategies"] = specs
    return lists


def _build_config(config: Optional[Path], **flags: Any):  # type: ignore[no-untyped-def]
    from mistakelab.runner import GenerationConfig, load_config, parse_config
    from mistakelab.runner.config import ExperimentConfig

    top = {k: flags[k] for k in TOP_FLAGS if flags.get(k) is not None}
    for k, v in top.items():
        _check_field(ExperimentConfig, k, v, TOP_FLAGS[k])
    gen = {k: flags[k] for k in GEN_FLAGS if flags.get(k) is not None}
    for k, v in gen.items():
        _check_field(GenerationConfig, k, v, GEN_FLAGS[k])
    lists = _flag_lists(flags)
    if config is not None:
        cfg = load_config(config, {**top, **lists})
        if gen:  # validated above; merged into the file's [generation] table
            cfg = cfg.model_copy(update={"generation": cfg.generation.model_copy(update=gen)})
        return cfg
    data: dict[str, Any] = {"models": [{"backend": "local", "model": "qwen2.5-coder-0.5b"}],
                            "tasks": [{"name": "gsm_symbolic"}], "strategies": [{"name": "cot"}]}
    data.update(top)
    data.update(lists)
    if gen:
        data["generation"] = gen
    return parse_config(data, "command-line flags")


def _origin(message: str, config: Optional[Path], lists: set[str]) -> str:
    """Where the section a planning error is about came from: a flag or the config file."""
    section = next((sec for start, sec in _SECTIONS if message.startswith(start)), None)
    if section is None:
        return message
    if section in lists:
        return f"{message} (from flag {LIST_FLAGS[section]})"
    return message if config is None else f"{message} (from {config})"


def _print_engines(cfg) -> None:  # type: ignore[no-untyped-def]
    """The settings each embedded engine of the run used (they decide speed and batching)."""
    from mistakelab.backends.local import describe_settings, resolved_settings

    for spec in cfg.models:
        if spec.backend == "local":
            settings, source = resolved_settings(spec.model, spec.options)
            say(f"engine {spec.model}: {describe_settings(settings)} ({source})")


@app.command()
def run(
    config: Optional[Path] = typer.Argument(None, help="Experiment TOML file."),
    model: Optional[list[str]] = typer.Option(None, "--model", "-m", help="Model name or GGUF path (repeatable)."),
    backend: Optional[str] = typer.Option(None, help="Backend for --model: local, openai, scripted."),
    base_url: Optional[list[str]] = typer.Option(
        None, help="OpenAI-compatible server URL for --backend openai; repeat it for a pool of servers of the "
                   "model, each 'URL [weight=W] [max_concurrency=C]'."),
    task: Optional[list[str]] = typer.Option(None, "--task", "-t", help="Task, e.g. gsm_symbolic or gsm8k_file:path=x.jsonl."),
    strategy: Optional[list[str]] = typer.Option(None, "--strategy", "-s", help="Strategy, e.g. self_consistency:k=4."),
    n_problems: Optional[int] = typer.Option(None, "--n", "-n", help="Problems per task."),
    seed: Optional[int] = typer.Option(None, help="Seed for problems and sampling."),
    concurrency: Optional[int] = typer.Option(None, help="Units solved at once."),
    max_tokens: Optional[int] = typer.Option(None, help="Default max new tokens per call."),
    temperature: Optional[float] = typer.Option(None, help="Default temperature."),
    store: Optional[str] = typer.Option(None, help=f"Run store file (default {DEFAULT_STORE})."),
    name: Optional[str] = typer.Option(None, help="Experiment name (part of the run id)."),
    ray: Optional[str] = typer.Option(None, "--ray", metavar="ADDRESS",
                                      help="Run the units on a Ray cluster: its address ('auto', 'host:6379', "
                                           "'ray://host:10001'), or 'local' for a new cluster of this machine; "
                                           "the config's [execution] table says more."),
    shard: Optional[str] = typer.Option(None, help="Run only shard i of n ('i/n', 1-based: a deterministic "
                                                   "slice of the problems) into --store; join the shard stores "
                                                   "with 'mistakelab merge'."),
) -> None:
    """Run (or resume) an experiment and print its results table."""
    from mistakelab.metrics import summarize
    from mistakelab.report import print_summary
    from mistakelab.runner import ConfigError, parse_shard, run_experiment

    try:
        sliced = None if shard is None else parse_shard(shard)
    except ValueError as exc:
        raise CliError(f"flag --shard: {exc}") from None

    flags = dict(model=model, backend=backend, base_url=base_url, task=task, strategy=strategy,
                 n_problems=n_problems, seed=seed, concurrency=concurrency, max_tokens=max_tokens,
                 temperature=temperature, store=store, name=name)
    cfg = _build_config(config, **flags)
    if ray is not None:
        cfg = cfg.model_copy(update={"execution": cfg.execution.model_copy(update={"engine": "ray", "address": ray})})
    from_flags = {sec for sec, flag in (("models", model), ("tasks", task), ("strategies", strategy)) if flag}

    bar = RunProgress(console, header=lambda: say("run ", (cfg.run_id(), "bold"), " → store ", cfg.store))
    try:
        with bar:
            summary = asyncio.run(run_experiment(cfg, progress=bar, shard=sliced))
    except ConfigError as exc:
        raise CliError(_origin(str(exc), config, from_flags)) from None
    _print_engines(cfg)
    say(f"units: {summary.units_done} done now, {summary.units_skipped} already done; "
        f"model calls: {summary.calls_made} made, {summary.calls_cached} from cache; {summary.seconds:.1f} s")
    st = open_store(cfg.store)
    results = [u.result for u in st.units(summary.run_id) if u.result]
    print_summary(summarize(results, [s.label for s in cfg.strategies]), title=summary.run_id, console=console)
    _print_revision(st, summary.run_id)
    say("run stored in ", str(Path(cfg.store).resolve()), " as ", (summary.run_id, "bold"))
    st.close()
    if summary.unit_errors:
        fail(summary.failure_line(), FAILED)


@app.command()
def show(
    run: str = typer.Argument(..., help="Run id (or its name: the latest run of that name)."),
    store: str = typer.Option(DEFAULT_STORE, help="Run store file."),
) -> None:
    """Print a stored run's results table."""
    from mistakelab.metrics import summarize
    from mistakelab.report import print_summary

    sr = open_run(store, run)
    info = sr.info
    if info.config.get("kind") == "improve":  # a self-improvement loop: its round table
        from mistakelab.learn.improve import loop_table
        from mistakelab.report.improve import print_loop

        say("loop ", (info.id, "bold"), f" ({info.status}); git {info.git_rev or 'unknown'}")
        print_loop(loop_table(sr.store, info.id), console)
        return
    results = [u.result for u in sr.units() if u.result]
    made, cached = sr.call_counts()
    # in front of an upstream, strategy none's requests go on unchanged, not through the call log
    passed = sum(r.calls for r in results if r.strategy == "none" and r.status != "failed") \
        if sr.served and info.config.get("backend") == "openai" else 0
    say("run ", (info.id, "bold"), f" ({info.status}); git {info.git_rev or 'unknown'}; "
        f"model calls: {made + passed} made" + (f" ({passed} passed on unchanged)" if passed else "")
        + f", {cached} from cache")
    if sr.served:
        _print_served(results, info.config)
        _print_servers(sr.store, info.id)
        return
    print_summary(summarize(results, sr.strategy_labels), title=info.id, console=console)
    _print_revision(sr.store, info.id)
    _print_servers(sr.store, info.id)


def _print_servers(st: Any, run_id: str) -> None:
    """Calls, failures, tokens and latency per server, for models served by a pool."""
    from mistakelab.report import server_table, wide_console

    rows = st.server_stats(run_id)
    if rows:
        wide_console(console, 160).print(server_table(rows))


def _print_revision(st: Any, run_id: str) -> None:
    """Trace-based revision figures (unique answers, verification passes, answer changes,
    redactions) per model, task and strategy; read from the traces, so only for runs of a
    size whose traces load in seconds."""
    from mistakelab.metrics import revision_metrics
    from mistakelab.report.table import revision_lines

    units = [u for u in st.units(run_id) if u.result and u.result.status != "failed"]
    if len(units) > 20000:
        return
    by: dict[str, list[Any]] = {}
    for u in units:
        by.setdefault(f"{u.model} · {u.task} · {u.strategy}", []).append(st.trace(run_id, u.unit_key))
    metrics = {key: revision_metrics([t for t in traces if t is not None]) for key, traces in by.items()}
    for line in revision_lines(metrics):
        console.print(literal(line))


def _print_served(results: list[Any], config: dict[str, Any]) -> None:
    """Served traffic: requests and their cost per (model, strategy); no gold, so no accuracy."""
    from rich.table import Table

    from mistakelab.report import wide_console
    from mistakelab.serve.summary import summarize_served

    upstream = config.get("upstream") or f"{config.get('backend')} backend"
    table = Table(title=literal(f"served requests ({upstream}; no gold answers: no accuracy)"), pad_edge=False)
    for col in ("model", "strategy", "requests", "failed", "answered", "calls", "cached", "tok/req",
                "tok/req by role", "s/req"):
        table.add_column(col, justify="left" if col in ("model", "strategy") else "right", no_wrap=True)
    for r in summarize_served(results):
        roles = " / ".join(f"{role} {t / max(r.done, 1):.0f}" for role, t in sorted(r.tokens_by_role.items()))
        table.add_row(literal(r.model), literal(r.strategy), str(r.requests), str(r.failed), str(r.answered),
                      str(r.calls), str(r.cached_calls), f"{r.mean_tokens:.0f}", roles or "–",
                      f"{r.mean_seconds:.2f}")
    wide_console(console, 140).print(table)


@app.command()
def errors(
    run: str = typer.Argument(..., help="Run id (or name)."),
    store: str = typer.Option(DEFAULT_STORE, help="Run store file."),
    examples: int = typer.Option(0, "--examples", min=0,
                                 help="Also print this many wrong solutions, steps numbered, the first wrong one marked."),
    strategy: Optional[str] = typer.Option(None, "--strategy", help="Whose solutions --examples shows (default: the run's first strategy)."),
) -> None:
    """Where wrong solutions first went wrong, by the tasks' step verifiers."""
    from rich.table import Table

    from mistakelab.report.errors import error_examples, error_profiles

    sr = open_graded_run(store, run, "errors")
    st, info = sr.store, sr.info
    tasks_by_label = {}
    for label in sr.task_specs:
        try:
            tasks_by_label[label] = sr.task(label)
        except Exception as exc:  # noqa: BLE001 - e.g. a task file moved since the run
            raise CliError(f"run {info.id}: cannot rebuild its task {label!r} to verify steps: {one_line(str(exc))}") \
                from None
    table = Table("task", "strategy", "n", "wrong", "earliest wrong step found", "final answer only",
                  "no step verifier", "earliest wrong step: count", "kind of first error")
    for p in error_profiles(st, info.id, tasks_by_label):
        hist = ", ".join(f"{k}: {v}" for k, v in sorted(p.first_error.items())) or "–"
        kinds = ", ".join(f"{k}: {v}" for k, v in p.kinds.most_common()) or "–"
        table.add_row(literal(p.task, one_line=True), literal(p.strategy, one_line=True), str(p.n), str(p.wrong),
                      str(p.with_step), str(p.final_only), str(p.no_verifier), hist, literal(kinds, one_line=True))
    from mistakelab.report import wide_console

    wide_console(console, 200).print(table)
    first = next(iter(sr.strategy_labels), None)
    for ex in error_examples(st, info.id, tasks_by_label, strategy or first, examples) if examples else []:
        print_error_example(ex)


def print_error_example(ex: "ErrorExample") -> None:
    """A wrong solution, its steps numbered, the earliest wrong one marked, and what the other
    strategies of the run ended with on that problem. All text is printed literally."""
    from rich.text import Text

    k = ex.verdict.first_error
    console.print(Text(f"\n{ex.task} / {ex.strategy} / problem ", style="bold") + literal(ex.problem.id, one_line=True))
    console.print(literal(ex.problem.question))
    shown = ex.verdict.steps[:k + 2]  # up to the step after the wrong one
    for step in shown:
        wrong = step.index == k
        line = Text(">> " if wrong else "   ", style="bold red" if wrong else "")
        console.print(line + Text(f"step {step.index + 1}: ") + literal(step.text, "red" if wrong else "", one_line=True))
    if len(ex.verdict.steps) > len(shown):
        console.print(Text(f"   … {len(ex.verdict.steps) - len(shown)} more steps"))
    console.print(Text(f"first wrong step: step {k + 1} of {len(ex.verdict.steps)} (index {k}, as counted above); ", style="bold")
                  + literal(ex.reason or "no reason given", one_line=True))
    console.print(Text("answer ") + literal(ex.answer, one_line=True) + Text(", gold ") + literal(ex.problem.answer, one_line=True))
    for name, answer, correct, first, oracle in ex.outcomes:
        move = "" if first is None or first == correct else (" (wrong → right)" if correct else " (right → wrong)")
        label = name + (" [oracle-assisted]" if oracle else "")
        console.print(Text("  ") + literal(label, one_line=True) + Text(": ") + literal(answer, one_line=True)
                      + Text(f" {'right' if correct else 'wrong'}{move}", style="green" if correct else "red"))


@app.command()
def runs(store: str = typer.Option(DEFAULT_STORE, help="Run store file.")) -> None:
    """List the runs in a store."""
    from rich.table import Table

    st = open_store(store)
    table = Table("run", "status", "units done", "calls made", "git")
    for r in st.list_runs():
        made, _ = st.call_counts(r.id)
        table.add_row(literal(r.id, one_line=True), literal(r.status, one_line=True), str(len(st.finished_units(r.id))),
                      str(made), literal((r.git_rev or "")[:10], one_line=True))
    console.print(table)
    st.close()
