"""The docstring examples of the steps modules stay true."""

from __future__ import annotations

import doctest

import pytest

from mistakelab.steps import arithmetic, expr, numbers, split


@pytest.mark.parametrize("module", [split, numbers, expr, arithmetic], ids=lambda m: m.__name__)
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
