"""The docstring examples of the sandbox modules stay true."""

from __future__ import annotations

import doctest

import pytest

import mistakelab.sandbox as package
from mistakelab.sandbox import (aio, answer, cgroups, classify, entry, extract, host, isolation,
                                limits, process, result, runner)

MODULES = [package, aio, answer, cgroups, classify, entry, extract, host, isolation, limits,
           process, result, runner]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module) -> None:
    outcome = doctest.testmod(module)
    assert outcome.attempted > 0
    assert outcome.failed == 0


def test_package_needs_nothing_else_of_mistakelab() -> None:
    """The sandbox room depends on no other room (stdlib and pydantic only)."""
    import ast
    from pathlib import Path

    for path in Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                if name.startswith("mistakelab"):
                    assert name.startswith("mistakelab.sandbox"), (path.name, name)
