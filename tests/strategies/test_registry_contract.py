"""Every registered strategy: a method reference, a docstring, a README row, capabilities of
known kinds for declared roles only, and well-formed prompt templates."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from pydantic import ValidationError

from mistakelab.backends.base import CAPABILITIES
from mistakelab.strategies import strategies

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


# mistakelab's own strategies (tests and plugins register others in the same registry)
OWN = [n for n in strategies.names() if strategies.get(n).fn.__module__.startswith("mistakelab.")]


@pytest.mark.parametrize("name", OWN)
def test_registered_strategy_contract(name: str) -> None:
    sdef = strategies.get(name)
    assert sdef.method and sdef.doc, f"{name}: needs a method reference and a docstring"
    assert f"| `{name}` |" in README, f"{name}: needs a row in the README's strategy table"
    assert all(r.isidentifier() and r != "solver" for r in sdef.roles)
    try:
        params = sdef.params()
    except ValidationError:
        return  # needs a parameter with no default (a memory file, the stages)
    needs = sdef.capabilities_needed(params)
    assert set(needs) <= {"solver", *sdef.roles}, f"{name}: needs capabilities of an undeclared role"
    assert all(caps <= CAPABILITIES for caps in needs.values())
    for template in sdef.prompts.values():
        list(string.Formatter().parse(template))  # a malformed template raises here
