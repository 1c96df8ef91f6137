"""Command-line interface."""

from mistakelab.cli.app import app, main
from mistakelab.cli import locate_cmd as _locate_cmd  # noqa: F401,E402  (registers `locate`)

__all__ = ["app", "main"]
