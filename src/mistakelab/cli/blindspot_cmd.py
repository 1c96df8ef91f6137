"""``blindspot``: the self-correction blind-spot experiment (Self-Correction Bench, METHODS §2.5).

Example:
    $ mistakelab blindspot -n 30 --from-run fix1-a --store runs/mistakelab.db
    $ mistakelab blindspot --level 1 --level 2 -n 40 --model smollm2-135m
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from mistakelab.cli.common import DEFAULT_STORE, app, console, fail
from mistakelab.cli.options import parse_value
from mistakelab.cli.progress import RunProgress


@app.command()
def blindspot(
    model: str = typer.Option("qwen2.5-coder-0.5b", "--model", "-m", help="Model name or GGUF path."),
    backend: str = typer.Option("local", help="Backend: local, openai."),
    base_url: Optional[str] = typer.Option(None, help="OpenAI-compatible server URL for --backend openai."),
    model_option: Optional[list[str]] = typer.Option(None, "--model-option", help="Backend option KEY=VALUE (repeatable)."),
    n: int = typer.Option(30, "--n", "-n", min=1, help="Items per level."),
    level: Optional[list[int]] = typer.Option(None, "--level", min=1, max=3, help="Levels to run: 1, 2, 3 (repeatable; default all)."),
    level2_task: str = typer.Option("igsm", help="Level 2: generated task whose gold solutions get an error."),
    from_run: Optional[str] = typer.Option(None, help="Level 3: stored run whose wrong solutions are used."),
    from_store: Optional[str] = typer.Option(None, help="Level 3: store of --from-run (default --store)."),
    from_strategy: str = typer.Option("cot", help="Level 3: whose solutions in --from-run."),
    cue: str = typer.Option(" Wait", help="Text appended to the model's turn in the +wait conditions."),
    seed: int = typer.Option(0, help="Seed for the generated items."),
    max_tokens: int = typer.Option(384, min=1, help="Max new tokens per call."),
    concurrency: int = typer.Option(8, min=1, help="Units in flight."),
    store: str = typer.Option(DEFAULT_STORE, help="Run store file."),
    name: str = typer.Option("blindspot", help="Experiment name (part of the run id)."),
) -> None:
    """Inject an error in the model's own turn or in the user's message, with and without
    " Wait"; print correction accuracy per condition, the blind spot and Wait's effect."""
    from pydantic import ValidationError

    from mistakelab.experiments.blindspot import BlindspotConfig, blindspot_report, blindspot_table, run_blindspot
    from mistakelab.report import wide_console
    from mistakelab.store import RunStore

    levels = sorted(set(level or ([1, 2, 3] if from_run else [1, 2])))
    options = {}
    for item in model_option or []:
        key, eq, value = item.partition("=")
        if not eq:
            fail(f"--model-option expects KEY=VALUE, got {item!r}")
        options[key.strip()] = parse_value(value.strip())
    if base_url:
        options["base_url"] = base_url
    try:
        cfg = BlindspotConfig(name=name, model={"backend": backend, "model": model, "options": options}, n=n,
                              seed=seed, levels=levels, level2_task=level2_task, level3_run=from_run,
                              level3_store=from_store or store, level3_strategy=from_strategy, cue=cue,
                              max_tokens=max_tokens, concurrency=concurrency, store=store)
    except ValidationError as exc:
        fail(f"blindspot: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
    if from_run and not Path(cfg.level3_store or store).exists():
        fail(f"no run store at {cfg.level3_store}")
    console.print(f"run [bold]{escape(cfg.run_id())}[/bold] → store {escape(store)}")
    try:
        with RunProgress(console) as bar:
            run_id = asyncio.run(run_blindspot(cfg, progress=bar))
    except (ValueError, KeyError) as exc:
        fail(str(exc))
    st = RunStore(store)
    try:
        reports = blindspot_report(st, run_id)
    finally:
        st.close()
    wide = wide_console(console, 200)
    wide.print(blindspot_table(reports, title=f"{run_id}: {model}"))
    wide.print("Correction accuracy: final answer right after the injected error. own: the error begins the "
               "model's own turn, which it continues; user: the error ends the user's message. +wait: ' Wait' "
               "follows the error in the model's turn. BS = (user - own) / user; BS with Wait = "
               "(user - own+wait) / user; Wait reduction = (BS - BS with Wait) / BS; bootstrap 95% intervals "
               "over items.", style="dim")
    console.print(f"run stored in {escape(str(Path(store).resolve()))} as [bold]{escape(run_id)}[/bold] "
                  f"(mistakelab show {escape(run_id)} --store {escape(store)})")
