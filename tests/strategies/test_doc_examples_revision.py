"""The docstring examples of the feedback/revision strategies, their metrics and the
blind-spot experiment stay true."""

from __future__ import annotations

import doctest

import pytest

from mistakelab.experiments.blindspot import facts, items, report, run
from mistakelab.metrics import rounds, selfcorrect
from mistakelab.strategies import demos, prp, revision, step_fix, try_again, wait

MODULES = [try_again, prp, wait, revision, step_fix, demos, rounds, selfcorrect, facts, items, report, run]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module) -> None:  # type: ignore[no-untyped-def]
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
