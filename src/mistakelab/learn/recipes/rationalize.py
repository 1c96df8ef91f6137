"""``rationalize`` (STaR, METHODS §3.4): rationales for the problems the model failed, written
with the gold answer as a hint, trained on *without* the hint.

The loop re-solves every train problem that no solution of the round got right with the
``rationalize`` strategy (the gold answer in the prompt); this recipe keeps the hinted
solutions that reach the gold answer and do not mention the hint, and poses them under the
task's plain prompt. The data is **oracle-built** (the model read the gold answer while
writing it), and the loop's tables say so.

Example:
    >>> mentions_hint("Using the hint, the answer is 12.")
    True
    >>> mentions_hint("3 + 9 = 12, so the answer is 12.")
    False
"""

from __future__ import annotations

import re
from typing import Iterator

from pydantic import BaseModel, ConfigDict

from mistakelab.learn.formats import Row, Skip, chat
from mistakelab.learn.recipes.base import RecipeInput, recipe
from mistakelab.learn.sft import sft_row

_HINT = re.compile(r"\bhint\b|\b(?:correct|given|final) answer (?:is|was) given\b", re.I)


def mentions_hint(text: str) -> bool:
    """Whether a rationale refers to the hint it was given (it would not make sense alone)."""
    return bool(_HINT.search(text))


class RationalizeRecipeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


@recipe("rationalize", RationalizeRecipeParams, trainer="sft", oracle_built=True,
        hint_strategy={"name": "rationalize"}, method="STaR rationalization, METHODS §3.4 (oracle-built)")
def rationalize(inp: RecipeInput, params: RationalizeRecipeParams) -> Iterator[Row | Skip]:
    """Hinted rationales that reach the gold answer, under the plain prompt."""
    if inp.hinted is None:
        yield Skip("no hinted re-solve (every train problem had a correct solution)")
        return
    src = inp.hinted
    for s in src.solutions():
        if not s.correct:
            yield Skip("hinted solution still wrong")
        elif mentions_hint(s.text):
            yield Skip("rationale mentions the hint")
        else:
            yield sft_row(chat(src.prompt(s.task_label, s.problem)), s.text, "prompt_completion",
                          {"problem_id": s.problem.id, "task": s.task_label, "unit": s.unit_key,
                           "source": "rationalized", "oracle_built": True})
