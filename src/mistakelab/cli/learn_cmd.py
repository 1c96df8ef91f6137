"""``learn principles``, ``export``, ``train``: learning from a run's mistakes (METHODS §3).

Example:
    $ mistakelab learn principles learn-train --store runs/x.db --out memory.jsonl
    $ mistakelab run --task igsm --seed 2 -s cot -s principles:memory=memory.jsonl
    $ mistakelab export learn-train --format correction --format preference --out data/
    $ mistakelab train sft data/correction --base qwen2.5-coder-0.5b --out adapters/c1 --steps 60
    $ mistakelab run --task igsm --seed 2 -s cot --model qwen2.5-coder-0.5b  # + options.lora = adapters/c1/adapter.gguf
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from mistakelab.cli.common import DEFAULT_STORE, app, console, fail, open_run
from mistakelab.cli.errors import FAILED
from mistakelab.cli.options import parse_flag_spec, parse_value

learn_app = typer.Typer(no_args_is_help=True, help="Learn from a run's mistakes: principles memories.")
app.add_typer(learn_app, name="learn")


def _model_spec(info: Any, model: Optional[str], backend: Optional[str], base_url: Optional[str],
                option: list[str]) -> Any:
    """--model/--backend/--base-url/--option k=v, defaulting to the run's first model."""
    from mistakelab.backends import ModelSpec

    first = (info.config.get("models") or [{}])[0]
    spec = ModelSpec.model_validate(first) if model is None and backend is None else \
        ModelSpec(backend=backend or "local", model=model or first.get("model", "qwen2.5-coder-0.5b"))
    opts = dict(spec.options)
    if base_url:
        opts["base_url"] = base_url
    for o in option:
        key, eq, value = o.partition("=")
        if not eq:
            fail(f"--option {o!r}: expected key=value")
        opts[key] = parse_value(value)
    return spec.model_copy(update={"options": opts})


@learn_app.command("principles")
def principles(
    run: str = typer.Argument(..., help="Run whose wrong answers to learn from (id or name)."),
    out: Path = typer.Option(Path("memory.jsonl"), "--out", "-o", help="Memory file to write (JSONL)."),
    store: str = typer.Option(DEFAULT_STORE, help="Run store file."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model that states the principles "
                                        "(default: the run's first model)."),
    backend: Optional[str] = typer.Option(None, help="Backend for --model: local, openai, scripted."),
    base_url: Optional[str] = typer.Option(None, help="OpenAI-compatible server URL."),
    option: list[str] = typer.Option([], "--option", help="Backend option key=value (repeatable)."),
    max_principles: int = typer.Option(5, min=1, help="High-level principles to keep."),
    per_problem: int = typer.Option(2, min=0, help="Wrong solutions used per problem (0: all)."),
    max_mistakes: int = typer.Option(0, min=0, help="Cap on wrong solutions used (0: all)."),
    max_tokens: int = typer.Option(256, min=16, help="Max new tokens per reply."),
    concurrency: int = typer.Option(8, min=1, help="Calls at once."),
) -> None:
    """State a principle per mistake, condense them, and write a memory file (oracle-built: it
    reads the gold answers)."""
    from mistakelab.learn.principles import ModelCallsFailed, build_memory
    from mistakelab.learn.source import RunSource

    sr = open_run(store, run)
    info = sr.info
    spec = _model_spec(info, model, backend, base_url, option)
    try:
        memory, rep = asyncio.run(build_memory(RunSource(sr.store, info), spec, max_principles=max_principles,
                                               per_problem=per_problem, max_mistakes=max_mistakes,
                                               max_tokens=max_tokens, concurrency=concurrency))
    except ModelCallsFailed as exc:
        fail(str(exc), FAILED)
    except (ValueError, LookupError) as exc:
        fail(str(exc))
    memory.save(out)
    console.print(f"memory [bold]{memory.id}[/bold] from run {escape(info.id)} by {escape(memory.model)} "
                  f"(oracle-built): {rep.mistakes} mistakes from {len(memory.sources)} problems, "
                  f"{rep.stated} principles stated, {rep.failed_calls} failed calls; "
                  f"model calls: {rep.calls_made} made, {rep.calls_cached} from cache")
    for i, p in enumerate(memory.principles, 1):
        console.print(f"{i}. {p}", markup=False, highlight=False)
    console.print(f"written to {escape(str(out.resolve()))}; use it with "
                  f"--strategy principles:memory={escape(str(out))} on other problems")


@app.command("export")
def export(
    run: str = typer.Argument(..., help="Run to export (id or name)."),
    fmt: list[str] = typer.Option(..., "--format", "-f", help="Format, e.g. correction or sft:form=prompt_completion "
                                  "(repeatable): sft, correction, retry, prefix_fix, preference, unpaired, stepwise."),
    out: Path = typer.Option(Path("export"), "--out", "-o", help="Folder; each format goes to <out>/<format>."),
    store: str = typer.Option(DEFAULT_STORE, help="Run store file."),
    parquet: bool = typer.Option(True, help="Also write Parquet through Hugging Face datasets."),
) -> None:
    """Write training data from a run in TRL's dataset formats, with a dataset card."""
    from rich.table import Table

    from mistakelab.core.registry import UnknownNameError
    from mistakelab.learn import ExportError, RunSource, export_formats, export_run

    sr = open_run(store, run)
    source = RunSource(sr.store, sr.info)
    jobs = []
    for f in fmt:
        d = parse_flag_spec(f, "--format")
        name = d.pop("name")
        if name not in export_formats:
            fail(f"--format {f!r}: unknown format; known: {', '.join(export_formats.names())}")
        sub = name if not d else name + "-" + "-".join(f"{k}={v}" for k, v in sorted(d.items()))
        jobs.append((name, d, out / sub))
    table = Table("format", "TRL type", "rows", "problems", "skipped", "folder")
    for name, opts, folder in jobs:
        try:
            res = export_run(source, name, opts, folder, parquet=parquet)
        except (ExportError, ValueError, UnknownNameError) as exc:
            fail(str(exc))
        fmt_def = export_formats.get(name)
        table.add_row(name, fmt_def.type_of(fmt_def.parse(opts)), str(res.rows), str(res.problems),
                      str(sum(res.skipped.values())), escape(str(folder)))
    console.print(table)
    console.print("labels come from the run's grading against gold answers (oracle-labelled)")


@app.command("train")
def train(
    kind: str = typer.Argument(..., help="sft, dpo or gkd (on-policy distillation from --teacher)."),
    dataset: Path = typer.Argument(..., help="An export folder (or a .jsonl / .parquet file)."),
    base: str = typer.Option(..., "--base", help="Embedded model name, .gguf path, or Hugging Face model dir."),
    out: Path = typer.Option(Path("adapter-out"), "--out", "-o", help="Output folder (checkpoints, adapter)."),
    steps: int = typer.Option(50, min=1, help="Optimizer steps in all (a rerun resumes)."),
    lr: Optional[float] = typer.Option(None, min=0, help="Learning rate (default 2e-4 sft, 5e-5 dpo)."),
    rank: int = typer.Option(8, min=1, help="LoRA rank."),
    alpha: float = typer.Option(16.0, min=0, help="LoRA alpha."),
    batch_size: int = typer.Option(1, min=1),
    grad_accum: int = typer.Option(1, min=1),
    max_length: int = typer.Option(1024, min=16, help="Token limit per example."),
    save_steps: int = typer.Option(10, min=1, help="Checkpoint every this many steps."),
    time_limit: Optional[float] = typer.Option(None, min=0, help="Stop (with a checkpoint) after this many seconds."),
    teacher: Optional[str] = typer.Option(None, help="gkd: the teacher model (embedded name, .gguf or model folder)."),
) -> None:
    """Train a LoRA adapter with TRL + PEFT on the CPU; resumes from its last checkpoint."""
    if kind not in ("sft", "dpo", "gkd"):
        fail(f"unknown training kind {kind!r}: use sft, dpo or gkd")
    if (kind == "gkd") != (teacher is not None):
        fail("--teacher goes with gkd, and gkd needs it")
    try:
        from mistakelab.learn.train import TrainError, TrainSettings, check_base, check_dataset, train_lora
    except ImportError as exc:  # pragma: no cover - depends on the install
        fail(f"training needs the train extra (pip install 'mistakelab[train]'): {exc}")
    try:  # before anything loads: a typo in --base or a broken file is said at once
        check_base(base)
        check_dataset(dataset)
    except TrainError as exc:
        fail(str(exc))
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    settings = TrainSettings(kind=kind, max_steps=steps, learning_rate=lr, rank=rank, alpha=alpha,
                             batch_size=batch_size, grad_accum=grad_accum, max_length=max_length,
                             save_steps=save_steps)
    progress = Progress(TextColumn(f"[bold]{kind}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("loss {task.fields[loss]}"), console=console)
    bar = progress.add_task("train", total=steps, loss="–")

    def on_log(step: int, total: int, loss: float | None) -> None:
        progress.update(bar, completed=step, total=total, **({"loss": f"{loss:.4f}"} if loss is not None else {}))

    try:
        with progress:
            res = train_lora(dataset, base, out, settings, on_log=on_log, time_limit_s=time_limit, teacher=teacher)
    except (TrainError, ValueError, OSError) as exc:
        fail(str(exc))
    first, last = (res.losses[0][1], res.losses[-1][1]) if res.losses else (float("nan"), float("nan"))
    state = "done" if res.complete else "stopped at the time limit; run again to resume"
    console.print(f"{state}: {res.steps}/{steps} steps on {res.rows_used} rows ({res.rows - res.rows_used} too long), loss {first:.4f} → {last:.4f}, "
                  f"{res.seconds:.0f} s, peak memory {res.peak_rss_mb:.0f} MB"
                  + (f" (resumed from {escape(res.resumed_from)})" if res.resumed_from else ""))
    console.print(f"adapter: {escape(res.adapter)}" + (f"; GGUF LoRA for the local backend: {escape(res.gguf)} "
                                                      "(model option lora = that path)" if res.gguf else ""))
