"""``correction`` (LeMa, METHODS §3.2): wrong solution -> its first wrong step, why, and a
corrected solution. The rows are those of the ``correction`` export format
(:mod:`mistakelab.learn.correction`), built from the round's train run.

Example:
    >>> from mistakelab.learn.recipes import recipes
    >>> recipes.get("correction").params().corrected
    'own_then_gold'
"""

from __future__ import annotations

from typing import Iterator

from mistakelab.learn.correction import CorrectionParams
from mistakelab.learn.correction import correction as correction_rows
from mistakelab.learn.formats import Row, Skip
from mistakelab.learn.recipes.base import RecipeInput, recipe


@recipe("correction", CorrectionParams, trainer="sft", method="LeMa, METHODS §3.2")
def correction(inp: RecipeInput, params: CorrectionParams) -> Iterator[Row | Skip]:
    """Wrong solution -> the wrong step, what is wrong, a corrected solution."""
    yield from correction_rows(inp.train, params)
