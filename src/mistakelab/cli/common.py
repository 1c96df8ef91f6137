"""What every command module shares: the Typer app, the consoles, errors, opening a run.

Each command group lives in its own module (``run_cmd``, ``info_cmd``, ``locate_cmd``...)
and registers its commands on :data:`app`; :mod:`mistakelab.cli.app` imports them all.
Every exception a command raises becomes one error line and an exit code
(:mod:`mistakelab.cli.errors`); text from users, files and models is printed with
:func:`say`, which never reads markup and escapes terminal control characters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from mistakelab.cli.errors import BAD_INPUT, CliError, ErrorHandlingGroup, print_error

app = typer.Typer(add_completion=False, no_args_is_help=True, cls=ErrorHandlingGroup,
                  pretty_exceptions_show_locals=False,
                  help="Find, fix and learn from language models' reasoning mistakes. "
                       "Add --debug anywhere to see the traceback of an unexpected error.")
console = Console()
err = Console(stderr=True)
ErrorHandlingGroup.err_console = err

DEFAULT_STORE = "runs/mistakelab.db"


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show the traceback of an unexpected error.")) -> None:
    """Find, fix and learn from language models' reasoning mistakes."""


def fail(msg: str, code: int = BAD_INPUT) -> None:
    """Print one error line (literally: no markup from ``msg``) and exit with ``code``."""
    print_error(err, msg)
    raise typer.Exit(code)


def say(*parts: Any, style: str = "", out: Console | None = None) -> None:
    """Print a line made of ``parts``: ``str`` parts are our own words (no markup read),
    ``(text, style)`` pairs style a part; every part is printed literally."""
    from mistakelab.report.text import visible

    line = Text(style=style)
    for p in parts:
        if isinstance(p, tuple):
            line.append(visible(p[0]), style=p[1])
        else:
            line.append(visible(p))
    (out or console).print(line, highlight=False)


def open_store(store: str, must_exist: bool = True) -> Any:
    """The run store at ``store`` (a clear error when it is missing or not a store)."""
    from mistakelab.store import RunStore

    if must_exist and not Path(store).exists():
        raise CliError(f"no run store at {store} (give --store)")
    return RunStore(store)


def open_run(store: str, run: str) -> Any:
    """The :class:`~mistakelab.store.StoredRun` named by id, id prefix or name (the latest of
    that name); its store is ``.store``."""
    from mistakelab.store import StoredRun

    st = open_store(store)
    try:
        return StoredRun.open(st, run)
    except LookupError as exc:
        fail(str(exc))


def open_graded_run(store: str, run: str, command: str) -> Any:
    """:func:`open_run` for a command that needs gold answers (accuracy, wrong solutions):
    a served run has none, so it is refused with one line saying so (``show`` prints its
    requests and cost)."""
    sr = open_run(store, run)
    if sr.served:
        sr.store.close()
        fail(f"run {sr.info.id} is served traffic: its requests have no gold answers, so {command} has no "
             f"accuracy or wrong answers to show (see its requests and cost with: mistakelab show {sr.info.id})")
    return sr
