"""Every failure of a command ends in one line on stderr and a non-zero exit, never a traceback.

Bad input (a config error, an unknown name, a malformed file or store, a bad flag value) exits
2 with a message that names the file, line, field or flag. A run whose model calls failed exits
1 (the runner stores those units as failed and retries them next time). Anything unexpected
exits 1 with its type, its message and "run with --debug for the traceback"; with ``--debug``
(anywhere on the command line, or ``MISTAKELAB_DEBUG=1``) the traceback is shown instead.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

DEBUG_FLAG = "--debug"
BAD_INPUT, FAILED = 2, 1


class CliError(Exception):
    """A bad input found by the CLI itself (e.g. a flag's value); ``code`` is the exit code."""

    def __init__(self, message: str, code: int = BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


def one_line(message: str) -> str:
    """Join a multi-line message ("file: invalid configuration\\n  field x: ...") into one."""
    lines = [ln.strip() for ln in str(message).splitlines() if ln.strip()]
    return "; ".join(lines) if lines else ""


def print_error(console: Console, message: str) -> None:
    """``error: <message>`` on one line, the message printed literally."""
    from mistakelab.report.text import visible

    console.print(Text.assemble(("error:", "red"), " ", visible(one_line(message), one_line=True)),
                  soft_wrap=True, highlight=False)


def known_errors() -> tuple[type[BaseException], ...]:
    """The project's errors that mean "the input is wrong" (exit 2, message as it is)."""
    from pydantic import ValidationError

    from mistakelab.core.registry import DuplicateNameError, UnknownNameError
    from mistakelab.locate.records import RecordError
    from mistakelab.models.embedded import ModelError
    from mistakelab.models.gguf import GGUFError
    from mistakelab.runner.config import ConfigError
    from mistakelab.store import StoreError
    from mistakelab.tasks.files import TaskFileError

    return (CliError, ConfigError, UnknownNameError, DuplicateNameError, RecordError, TaskFileError, ModelError,
            GGUFError, StoreError, ValidationError)


def describe(exc: BaseException) -> tuple[int, str]:
    """(exit code, one-line message) for an exception that ended a command."""
    from pydantic import ValidationError

    if isinstance(exc, CliError):
        return exc.code, str(exc)
    if isinstance(exc, ValidationError):
        return BAD_INPUT, format_validation(exc, exc.title)
    if isinstance(exc, known_errors()):
        return BAD_INPUT, str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return BAD_INPUT, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    if isinstance(exc, OSError) and exc.filename is not None:
        return BAD_INPUT, f"{exc.filename}: {exc.strerror or exc}"
    return FAILED, f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"


def format_validation(exc: Any, what: str) -> str:
    """A pydantic error as ``what: field k: message (got v); field ...``."""
    parts = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        got = e.get("input")
        shown = f" (got {got!r})" if isinstance(got, (str, int, float, bool)) and len(repr(got)) < 80 else ""
        parts.append(f"field {loc}: {e['msg']}{shown}")
    return f"{what}: " + "; ".join(parts)


def debug_requested(args: list[str]) -> tuple[bool, list[str]]:
    """Whether ``--debug`` is among ``args`` (before a ``--``), and the args without it."""
    cut = args.index("--") if "--" in args else len(args)
    head = [a for a in args[:cut] if a != DEBUG_FLAG]
    env = os.environ.get("MISTAKELAB_DEBUG", "") not in ("", "0")
    return env or len(head) < cut, head + args[cut:]


def _is_cli_control(exc: BaseException) -> bool:
    """typer's / click's own exits and usage errors (typer vendors its click): they print
    their own message and set the exit code."""
    return type(exc).__module__.split(".")[0] in ("typer", "click")


def _is_usage_error(exc: BaseException) -> bool:
    """click's (or typer's vendored click's) UsageError: a command's flag or argument refused."""
    return _is_cli_control(exc) and any(c.__name__ == "UsageError" for c in type(exc).__mro__) \
        and hasattr(exc, "format_message")


class ErrorHandlingGroup(TyperGroup):
    """The app's command group: turns every exception of a command into one line and an
    exit code (see the module docstring); click's own usage errors pass through unchanged."""

    err_console: Console | None = None

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        debug, args = debug_requested(list(args))
        ctx.meta["mistakelab.debug"] = debug
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:  # noqa: BLE001 - this is the one place that reports them
            if _is_usage_error(exc) and not ctx.meta.get("mistakelab.debug"):
                # a flag of a command that click refused (a type, a range, a missing value): one line too
                where = getattr(getattr(exc, "ctx", None), "command_path", None) or "mistakelab"
                print_error(self.err_console or Console(stderr=True),
                            f"{exc.format_message()} (see: {where} --help)")  # type: ignore[attr-defined]
                raise typer.Exit(BAD_INPUT) from None
            if _is_cli_control(exc) or ctx.meta.get("mistakelab.debug"):
                raise
            code, message = describe(exc)
            print_error(self.err_console or Console(stderr=True), message)
            raise typer.Exit(code) from None
