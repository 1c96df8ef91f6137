"""``mistakelab locate``: build or load ProcessBench-format sets and score locators on them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Optional

import typer

from mistakelab.cli.common import DEFAULT_STORE, app, console, fail
from mistakelab.cli.options import parse_named


def _caller(model: str, backend: str, store: Any, run_id: str, stats: Any, options: dict[str, Any]) -> Any:
    from mistakelab.backends import ModelSpec
    from mistakelab.runner.gateway import ModelCaller

    return ModelCaller.for_spec(ModelSpec(backend=backend, model=model, options=options), store, run_id, stats)


@app.command()
def locate(
    data: Optional[list[Path]] = typer.Option(None, "--data", help="ProcessBench-format JSONL/JSON (repeatable)."),
    build: Optional[str] = typer.Option(None, help="Build a set from a task, e.g. igsm:min_ops=2,max_ops=4."),
    n: int = typer.Option(40, "--n", "-n", help="Problems to build from."),
    samples: int = typer.Option(1, help="Policy solutions per problem (1 greedy + sampled)."),
    inject: int = typer.Option(0, help="Injected-error records to add."),
    gold: int = typer.Option(0, help="Untouched gold solutions to add (label -1)."),
    policy: str = typer.Option("qwen2.5-coder-0.5b", help="Model that writes the natural solutions."),
    out: Optional[Path] = typer.Option(None, help="Write the built set here (JSONL)."),
    locator: Optional[list[str]] = typer.Option(None, "--locator", "-l",
                                                help="e.g. arithmetic, exact, critic:model=qwen2.5-coder-1.5b,n=1, "
                                                     "rollout:k=4,label=rollout-k4 (label: its name in tables)"),
    model: str = typer.Option("qwen2.5-coder-0.5b", help="Default model for critic/rollout."),
    backend: str = typer.Option("local", help="Backend of the models."),
    seed: int = typer.Option(0),
    max_tokens: int = typer.Option(512),
    concurrency: int = typer.Option(8),
    store: str = typer.Option(DEFAULT_STORE, help="Run store (completion cache and call log)."),
    predictions: Optional[Path] = typer.Option(None, help="Write per-record predictions here (JSONL)."),
    by_source: bool = typer.Option(False, "--by-source", help="Also break results down by record source "
                                   "(natural / injected / gold)."),
) -> None:
    """Score error locators on ProcessBench-format data (loaded or built from a task)."""
    import json

    from mistakelab.core.types import GenParams
    from mistakelab.locate import RecordError, build_locator, load_records, write_records
    from mistakelab.locate.bench import LocatorRun, run_locators, store_predictions
    from mistakelab.locate.build import BuildReport, by_problem, gold_records, injected_records, natural_records
    from mistakelab.report.locate_table import LOCATE_LEGEND, locator_table
    from mistakelab.runner.gateway import CallStats
    from mistakelab.store import RunStore
    from mistakelab.tasks import create_task

    if not data and not build:
        fail("give --data FILE or --build TASK")
    st = RunStore(store)
    run_id = f"locate-{seed}"
    st.create_run(run_id, "locate", {"kind": "locate"})
    stats = CallStats()
    params = GenParams(max_tokens=max_tokens)
    records = []
    try:
        for path in data or []:
            records += load_records(path)
    except RecordError as exc:
        fail(str(exc))
    callers: dict[str, Any] = {}

    def caller_for(m: str) -> Any:
        if m not in callers:
            callers[m] = _caller(m, backend, st, run_id, stats, {})
        return callers[m]

    runs = []
    for spec_text in locator or ["arithmetic"]:
        lspec = parse_named(spec_text)
        m = lspec.pop("model", model)
        kind, _, opts = spec_text.partition(":")
        key_parts = [o for o in opts.split(",") if o and not o.strip().startswith("label=")]
        key = kind + (":" + ",".join(key_parts) if key_parts else "")
        label = str(lspec.pop("label", key))  # display name in the tables only
        loc = build_locator(lspec)
        runs.append(LocatorRun(label, loc, caller_for(m) if loc.needs_model else None, key=key))

    async def main() -> None:
        try:
            if build:
                await build_set()
            await run_locators(records, runs, params, concurrency, seed)
        finally:
            for c in callers.values():
                await c.aclose()

    async def build_set() -> None:
        spec = parse_named(build)
        name = spec.pop("name")
        task = create_task(name, spec)
        problems = task.load(n, seed)
        report = BuildReport()
        built = await natural_records(task, name, spec, problems, caller_for(policy), params, samples,
                                      name, report, concurrency)
        built += injected_records(task, name, spec, problems, inject, seed, name, report)
        built += gold_records(task, name, spec, problems, gold, name, report)
        records.extend(by_problem(built, problems))
        console.print(f"built {len(records)} records: natural {report.natural_correct} correct + "
                      f"{report.natural_wrong_labeled} wrong (labeled), {report.natural_unlabeled} wrong "
                      f"without a flagged step (left out), {report.natural_errors} failed calls; "
                      f"injected {report.injected}; gold {report.gold}; natural first-error steps "
                      f"{dict(sorted(report.first_error_hist.items()))}")
        if out:
            write_records(out, records)
            console.print(f"wrote {out}")

    asyncio.run(main())
    store_predictions(st, run_id, records, runs)
    from mistakelab.report import wide_console

    wide = wide_console(console, 220)
    wide.print(locator_table(runs, title=f"{len(records)} records"))
    if by_source:
        wide.print(locator_table(runs, title="by source", by="source"))
    console.print(LOCATE_LEGEND, style="dim")
    console.print(f"model calls: {stats.made} made, {stats.cached} from cache")
    console.print(f"records and predictions stored in {store} as run {run_id} (mistakelab report {run_id})")
    if predictions:
        with predictions.open("w") as f:
            for run in runs:
                for p in run.predictions:
                    f.write(json.dumps({"locator": run.name, "id": p.record_id, "split": p.split,
                                        "label": p.label, "pred": p.result.first_error,
                                        "note": p.result.note, "calls": p.calls}) + "\n")
    st.close()


def _acc(acc: float, n: int) -> str:
    from mistakelab.metrics.stats import wilson_interval

    lo, hi = wilson_interval(round(acc * n), n)
    return f"{100 * acc:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] n={n}"


@app.command()
def calibrate(
    task: str = typer.Option("gsm_symbolic", help="Task (options as name:key=value)."),
    n: int = typer.Option(50, "--n", "-n", help="Problems."),
    k: int = typer.Option(4, help="Samples per problem (agreement needs k > 1)."),
    model: str = typer.Option("qwen2.5-coder-0.5b"),
    backend: str = typer.Option("local"),
    temperature: float = typer.Option(0.7),
    max_tokens: int = typer.Option(384),
    seed: int = typer.Option(0),
    bins: int = typer.Option(10, help="Equal-width ECE bins."),
    concurrency: int = typer.Option(8),
    store: str = typer.Option(DEFAULT_STORE),
    critic: Optional[str] = typer.Option(None, help="Also ask this model whether each answer is correct "
                                         "(signal critic_verdict = P(Yes) from its first token)."),
) -> None:
    """How well do confidence signals predict correctness? AUROC, ECE, selective accuracy."""
    from rich.table import Table

    from mistakelab.confidence.calibrate import calibration_report, collect_signals
    from mistakelab.core.types import GenParams
    from mistakelab.metrics.stats import wilson_interval
    from mistakelab.runner.gateway import CallStats
    from mistakelab.store import RunStore
    from mistakelab.tasks import create_task

    spec = parse_named(task)
    name = spec.pop("name")
    t = create_task(name, spec)
    problems = t.load(n, seed)
    st = RunStore(store)
    run_id = f"calibrate-{seed}"
    st.create_run(run_id, "calibrate", {"kind": "calibrate"})
    stats = CallStats()
    caller = _caller(model, backend, st, run_id, stats, {})
    judge = (caller if critic == model else _caller(critic, backend, st, run_id, stats, {})) if critic else None

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
    console.print(f"{len(rows)} answers ({n} problems x {k} samples, T={temperature}) from {model}: "
                  f"accuracy {100 * correct / max(len(rows), 1):.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]; "
                  f"model calls {stats.made} made, {stats.cached} cached")
    table = Table("signal", "n", "AUROC [95% CI]", f"ECE ({bins} bins)", "ECE scaling", "acc@top25% [CI]",
                  "acc@top50% [CI]", "acc@100% [CI]")
    for rep in calibration_report(rows, bins, seed=seed).values():
        if rep.n == 0:
            table.add_row(rep.name, "0", "unavailable", "", rep.missing_reason, "", "", "")
            continue
        sel = {round(p.coverage, 2): p for p in rep.selective}
        au = "–" if rep.auroc is None else f"{rep.auroc:.3f}"
        if rep.auroc_ci:
            au += f" [{rep.auroc_ci[0]:.3f}, {rep.auroc_ci[1]:.3f}]"
        table.add_row(rep.name, str(rep.n), au, f"{rep.ece.ece:.3f}" if rep.ece else "–", rep.ece_scaling,
                      *(_acc(sel[c].accuracy, sel[c].n) for c in (0.25, 0.5, 1.0)))
    from mistakelab.report import wide_console

    wide_console(console, 160).print(table)
    console.print("AUROC interval: 1000 bootstrap resamples of whole problems. ECE: equal-width bins over the "
                  "signal as shown in 'ECE scaling'.", style="dim")
    st.close()
