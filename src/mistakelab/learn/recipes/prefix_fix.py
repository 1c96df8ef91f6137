"""``prefix_fix`` (InT, METHODS §3.2): the solution up to its first error -> the single right
next step. The rows are those of the ``prefix_fix`` export format
(:mod:`mistakelab.learn.correction`), built from the round's train run.

Example:
    >>> from mistakelab.learn.recipes import recipes
    >>> recipes.get("prefix_fix").trainer
    'sft'
"""

from __future__ import annotations

from typing import Iterator

from mistakelab.learn.correction import PrefixFixParams
from mistakelab.learn.correction import prefix_fix as prefix_fix_rows
from mistakelab.learn.formats import Row, Skip
from mistakelab.learn.recipes.base import RecipeInput, recipe


@recipe("prefix_fix", PrefixFixParams, trainer="sft", method="InT, METHODS §3.2")
def prefix_fix(inp: RecipeInput, params: PrefixFixParams) -> Iterator[Row | Skip]:
    """The prefix before the first error -> the single corrected step."""
    yield from prefix_fix_rows(inp.train, params)
