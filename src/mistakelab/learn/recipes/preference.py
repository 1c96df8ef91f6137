"""``preference`` (METHODS §3.2): a right and a wrong solution of the same problem, for DPO.
The rows are those of the ``preference`` export format (:mod:`mistakelab.learn.preference`),
built from the round's train run: right-vs-wrong pairs, and self-correction before/after
pairs (SCL) where the sampling strategy revises.

Example:
    >>> from mistakelab.learn.recipes import recipes
    >>> recipes.get("preference").params().sources
    ['pairs', 'scl']
"""

from __future__ import annotations

from typing import Iterator

from mistakelab.learn.formats import Row, Skip
from mistakelab.learn.preference import PreferenceParams
from mistakelab.learn.preference import preference as preference_rows
from mistakelab.learn.recipes.base import RecipeInput, recipe


@recipe("preference", PreferenceParams, trainer="dpo", method="right vs wrong pairs (DPO); SCL, METHODS §3.2")
def preference(inp: RecipeInput, params: PreferenceParams) -> Iterator[Row | Skip]:
    """(chosen, rejected) solutions of the same problem."""
    yield from preference_rows(inp.train, params)
