"""What every command module shares: the Typer app, the consoles, errors, opening a run.

Each command group lives in its own module (``run_cmd``, ``info_cmd``, ``locate_cmd``...)
and registers its commands on :data:`app`; :mod:`mistakelab.cli.app` imports them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Find, fix and learn from language models' reasoning mistakes.")
console = Console()
err = Console(stderr=True)

DEFAULT_STORE = "runs/mistakelab.db"


def fail(msg: str, code: int = 2) -> None:
    """Print one error line (literally: no markup from ``msg``) and exit with ``code``."""
    from rich.markup import escape

    err.print(f"[red]error:[/red] {escape(msg)}", highlight=False)
    raise typer.Exit(code)


def open_run(store: str, run: str) -> tuple[Any, Any]:
    """The store and the run named by id, id prefix or name (latest of that name)."""
    from mistakelab.store import RunStore

    if not Path(store).exists():
        fail(f"no run store at {store}")
    st = RunStore(store)
    return st, find_run(st, run)


def find_run(st: Any, run: str) -> Any:
    info = st.get_run(run)
    if info is None:
        matches = [r for r in st.list_runs() if r.id.startswith(run) or r.name == run]
        if not matches:
            fail(f"no run {run!r} in {st.path}; known: {', '.join(r.id for r in st.list_runs()) or '(none)'}")
        info = matches[-1]
    return info
