"""Command-line interface (``mistakelab``); library code never imports it."""

from mistakelab.cli.app import app, main

__all__ = ["app", "main"]
