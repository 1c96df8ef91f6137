"""Parsing of CLI shorthands (``--strategy self_consistency:k=4``); see :mod:`mistakelab.core.specs`.

Example:
    >>> parse_flag_spec("rg:leg_counting:size=5", "--task")
    {'name': 'rg:leg_counting', 'size': 5}
    >>> parse_flag_spec("self_consistency:k", "--strategy")
    Traceback (most recent call last):
    ...
    mistakelab.cli.errors.CliError: flag --strategy 'self_consistency:k': expected key=value, got 'k'
"""

from __future__ import annotations

from typing import Any

from mistakelab.cli.errors import CliError
from mistakelab.core.specs import parse_named, parse_value

__all__ = ["parse_flag_spec", "parse_named", "parse_value"]


def parse_flag_spec(text: str, flag: str) -> dict[str, Any]:
    """``name:key=value,...`` given to ``flag``; errors name the flag and its value.
    A reasoning-gym task keeps its dataset in the name (``rg:leg_counting``)."""
    what = ("flag " if flag.startswith("-") else "argument ") + flag
    prefix = ""
    if text.startswith("rg:"):
        prefix, text = "rg:", text[3:]
    bad = [part.strip() for part in text.partition(":")[2].split(",") if part.strip() and "=" not in part]
    if bad:
        raise CliError(f"{what} {prefix + text!r}: expected key=value, got {bad[0]!r}")
    out = parse_named(text)
    if not out["name"]:
        raise CliError(f"{what} {prefix + text!r}: no name before ':'")
    out["name"] = prefix + out["name"]
    if out["name"] == "rg:":
        raise CliError(f"{what} {prefix + text!r}: give the reasoning-gym dataset, e.g. rg:leg_counting")
    return out
