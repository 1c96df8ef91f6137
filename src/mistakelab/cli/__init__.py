"""Command-line interface."""

from mistakelab.cli.app import app, main

__all__ = ["app", "main"]
