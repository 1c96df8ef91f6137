"""``mistakelab locate``: build or load ProcessBench-format sets and score locators on them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Optional

import typer

from mistakelab.cli.common import DEFAULT_STORE, app, console, fail, open_store, say
from mistakelab.cli.errors import FAILED, CliError, known_errors, one_line
from mistakelab.cli.options import parse_flag_spec


def _spec(model: str, backend: str, flag: str) -> Any:
    """The model spec for ``model`` on ``backend``, checked before any model is loaded."""
    from mistakelab.backends import ModelSpec
    from mistakelab.backends.base import check_spec

    spec = ModelSpec(backend=backend, model=model)
    try:
        check_spec(spec)
    except (LookupError, ValueError) as exc:
        raise CliError(f"flag {flag}: model {model!r} on backend {backend!r}: {exc}") from None
    return spec


def _caller(spec: Any, store: Any, run_id: str, stats: Any) -> Any:
    from mistakelab.runner.caller import ModelCaller

    return ModelCaller.for_spec(spec, store, run_id, stats)


def _task(text: str, flag: str) -> tuple[str, dict[str, Any], Any]:
    """(name, options, task) of a task given to ``flag``; bad options name the flag."""
    from mistakelab.tasks import create_task

    spec = parse_flag_spec(text, flag)
    name = spec.pop("name")
    try:
        return name, spec, create_task(name, spec)
    except Exception as exc:  # noqa: BLE001 - known errors keep their own words
        if isinstance(exc, known_errors()):
            raise
        raise CliError(f"flag {flag} {text!r}: {one_line(str(exc))}") from None


def _locator(text: str) -> tuple[str, str, Any, str | None]:
    """(display label, key, locator, model name or None) of one ``--locator`` spec."""
    from mistakelab.locate import build_locator

    spec = parse_flag_spec(text, "--locator")
    m = spec.pop("model", None)
    kind, _, opts = text.partition(":")
    key_parts = [o for o in opts.split(",") if o and not o.strip().startswith("label=")]
    key = kind + (":" + ",".join(key_parts) if key_parts else "")
    label = str(spec.get("label", key))  # display name in the tables (see build_locator)
    try:
        loc = build_locator(spec)
    except Exception as exc:  # noqa: BLE001 - unknown name, bad or unknown parameter
        from pydantic import ValidationError

        from mistakelab.cli.errors import format_validation

        msg = format_validation(exc, "bad parameters") if isinstance(exc, ValidationError) else one_line(str(exc))
        raise CliError(f"flag --locator {text!r}: {msg}") from None
    return label, key, loc, None if m is None else str(m)


@app.command()
def locate(
    data: Optional[list[Path]] = typer.Option(None, "--data", help="ProcessBench-format JSONL/JSON (repeatable)."),
    build: Optional[str] = typer.Option(None, help="Build a set from a task, e.g. igsm:min_ops=2,max_ops=4."),
    n: int = typer.Option(40, "--n", "-n", min=1, help="Problems to build from."),
    samples: int = typer.Option(1, min=1, help="Policy solutions per problem (1 greedy + sampled)."),
    inject: int = typer.Option(0, min=0, help="Injected-error records to add."),
    gold: int = typer.Option(0, min=0, help="Untouched gold solutions to add (label -1)."),
    policy: str = typer.Option("qwen2.5-coder-0.5b", help="Model that writes the natural solutions."),
    out: Optional[Path] = typer.Option(None, help="Write the built set here (JSONL)."),
    locator: Optional[list[str]] = typer.Option(None, "--locator", "-l",
                                                help="e.g. arithmetic, exact, critic:model=qwen2.5-coder-1.5b,n=1, "
                                                     "rollout:k=4,label=rollout-k4 (label: its name in tables)"),
    model: str = typer.Option("qwen2.5-coder-0.5b", help="Default model for critic/rollout."),
    backend: str = typer.Option("local", help="Backend of the models."),
    seed: int = typer.Option(0),
    max_tokens: int = typer.Option(512, min=1),
    concurrency: int = typer.Option(8, min=1),
    store: str = typer.Option(DEFAULT_STORE, help="Run store (completion cache and call log)."),
    predictions: Optional[Path] = typer.Option(None, help="Write per-record predictions here (JSONL)."),
    by_source: bool = typer.Option(False, "--by-source", help="Also break results down by record source "
                                   "(natural / injected / gold)."),
) -> None:
    """Score error locators on ProcessBench-format data (loaded or built from a task)."""
    import json

    from mistakelab.core.types import GenParams
    from mistakelab.locate import load_records, write_records
    from mistakelab.experiments.locate_bench import LocatorRun, run_locators, store_predictions
    from mistakelab.experiments.locate_build import BuildReport, by_problem, gold_records, injected_records, natural_records
    from mistakelab.report import wide_console
    from mistakelab.report.locate_table import LOCATE_LEGEND, locator_table
    from mistakelab.runner.caller import CallStats

    if not data and not build:
        fail("give --data FILE or --build TASK")
    # Everything a user can get wrong is checked before the store is opened or a model asked.
    records = [r for path in data or [] for r in load_records(path)]
    built_task = _task(build, "--build") if build else None
    located = [_locator(text) for text in locator or ["arithmetic"]]
    specs: dict[str, Any] = {}
    for name, flag in ([(policy, "--policy")] if build else []) + \
            [(m or model, "--locator" if m else "--model") for _, _, loc, m in located if loc.needs_model]:
        specs.setdefault(name, _spec(name, backend, f"{flag}/--backend"))

    st = open_store(store, must_exist=False)
    run_id = f"locate-{seed}"
    st.create_run(run_id, "locate", {"kind": "locate"})
    stats = CallStats()
    params = GenParams(max_tokens=max_tokens)
    callers: dict[str, Any] = {}

    def caller_for(m: str) -> Any:
        if m not in callers:
            callers[m] = _caller(specs[m], st, run_id, stats)
        return callers[m]

    runs = [LocatorRun(label, loc, caller_for(m or model) if loc.needs_model else None, key=key)
            for label, key, loc, m in located]

    async def main() -> None:
        try:
            if built_task:
                await build_set()
            await run_locators(records, runs, params, concurrency, seed)
        finally:
            for c in callers.values():
                await c.aclose()

    async def build_set() -> None:
        assert built_task is not None
        name, spec, task = built_task
        problems = task.load(n, seed)
        report = BuildReport()
        built = await natural_records(task, name, spec, problems, caller_for(policy), params, samples,
                                      name, report, concurrency)
        built += injected_records(task, name, spec, problems, inject, seed, name, report)
        built += gold_records(task, name, spec, problems, gold, name, report)
        records.extend(by_problem(built, problems))
        say(f"built {len(records)} records: natural {report.natural_correct} correct + "
            f"{report.natural_wrong_labeled} wrong (labeled), {report.natural_unlabeled} wrong "
            f"without a flagged step (left out), {report.natural_errors} failed calls; "
            f"injected {report.injected}; gold {report.gold}; natural first-error steps "
            f"{dict(sorted(report.first_error_hist.items()))}")
        if out:
            write_records(out, records)
            say("wrote ", str(out))

    asyncio.run(main())
    store_predictions(st, run_id, records, runs)
    wide = wide_console(console, 220)
    wide.print(locator_table(runs, title=f"{len(records)} records"))
    if by_source:
        wide.print(locator_table(runs, title="by source", by="source"))
    console.print(LOCATE_LEGEND, style="dim", markup=False)
    say(f"model calls: {stats.made} made, {stats.cached} from cache")
    say("records and predictions stored in ", store, " as run ", run_id, f" (mistakelab report {run_id})")
    if predictions:
        with predictions.open("w") as f:
            for run in runs:
                for p in run.predictions:
                    f.write(json.dumps({"locator": run.name, "id": p.record_id, "split": p.split,
                                        "label": p.first_error, "pred": p.result.first_error,
                                        "note": p.result.note, "calls": p.calls, "failed": p.error}) + "\n")
    st.close()
    failed = [(run, run.failed) for run in runs if run.failed]
    if failed:
        parts = [f"{run.name}: {len(fs)} of {len(run.predictions)} records ({fs[0].error})" for run, fs in failed]
        fail("model calls failed, so these records have no prediction and are not scored: "
             + "; ".join(parts) + "; run again to retry them", FAILED)


def _acc(acc: float, n: int) -> str:
    from mistakelab.metrics.stats import wilson_interval

    lo, hi = wilson_interval(round(acc * n), n)
    return f"{100 * acc:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] n={n}"


@app.command()
def calibrate(
    task: str = typer.Option("gsm_symbolic", help="Task (options as name:key=value)."),
    n: int = typer.Option(50, "--n", "-n", min=1, help="Problems."),
    k: int = typer.Option(4, min=1, help="Samples per problem (agreement needs k > 1)."),
    model: str = typer.Option("qwen2.5-coder-0.5b"),
    backend: str = typer.Option("local"),
    temperature: float = typer.Option(0.7, min=0),
    max_tokens: int = typer.Option(384, min=1),
    seed: int = typer.Option(0),
    bins: int = typer.Option(10, min=1, help="Equal-width ECE bins."),
    concurrency: int = typer.Option(8, min=1),
    store: str = typer.Option(DEFAULT_STORE),
    critic: Optional[str] = typer.Option(None, help="Also ask this model whether each answer is correct "
                                         "(signal critic_verdict = P(Yes) from its first token)."),
) -> None:
    """How well do confidence signals predict correctness? AUROC, ECE, selective accuracy."""
    from rich.table import Table

    from mistakelab.confidence.calibrate import calibration_report, collect_signals
    from mistakelab.core.types import GenParams
    from mistakelab.metrics.stats import wilson_interval
    from mistakelab.runner.caller import CallStats
    from mistakelab.report import literal

    _, _, t = _task(task, "--task")
    model_spec = _spec(model, backend, "--model/--backend")
    critic_spec = _spec(critic, backend, "--critic/--backend") if critic and critic != model else None
    problems = t.load(n, seed)
    st = open_store(store, must_exist=False)
    run_id = f"calibrate-{seed}"
    st.create_run(run_id, "calibrate", {"kind": "calibrate"})
    stats = CallStats()
    caller = _caller(model_spec, st, run_id, stats)
    judge = (caller if critic == model else _caller(critic_spec, st, run_id, stats)) if critic else None

    async def main() -> Any:
        try:
            return await collect_signals(t, problems, caller, k,
                                         GenParams(temperature=temperature, max_tokens=max_tokens), concurrency,
                                         critic=judge)
        finally:
            await caller.aclose()
            if judge is not None and judge is not caller:
                await judge.aclose()

    rows = asyncio.run(main())
    correct = sum(r.correct for r in rows)
    lo, hi = wilson_interval(correct, len(rows))
    say(f"{len(rows)} answers ({n} problems x {k} samples, T={temperature}) from ", model,
        f": accuracy {100 * correct / max(len(rows), 1):.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]; "
        f"model calls {stats.made} made, {stats.cached} cached")
    table = Table("signal", "n", "AUROC [95% CI]", f"ECE ({bins} bins)", "ECE scaling", "acc@top25% [CI]",
                  "acc@top50% [CI]", "acc@100% [CI]")
    for rep in calibration_report(rows, bins, seed=seed).values():
        if rep.n == 0:
            table.add_row(literal(rep.name), "0", "unavailable", "", literal(rep.missing_reason, one_line=True),
                          "", "", "")
            continue
        sel = {round(p.coverage, 2): p for p in rep.selective}
        au = "–" if rep.auroc is None else f"{rep.auroc:.3f}"
        if rep.auroc_ci:
            au += f" [{rep.auroc_ci[0]:.3f}, {rep.auroc_ci[1]:.3f}]"
        table.add_row(literal(rep.name), str(rep.n), au, f"{rep.ece.ece:.3f}" if rep.ece else "–", rep.ece_scaling,
                      *(_acc(sel[c].accuracy, sel[c].n) for c in (0.25, 0.5, 1.0)))
    from mistakelab.report import wide_console

    wide_console(console, 160).print(table)
    console.print("AUROC interval: 1000 bootstrap resamples of whole problems. ECE: equal-width bins over the "
                  "signal as shown in 'ECE scaling'.", style="dim")
    st.close()
