"""``rft``: distinct correct solutions of the model's own samples (STaR / RFT, METHODS §3.4).

Rejection-sampling fine-tuning keeps the samples that reach the gold answer and, of those,
only one per distinct reasoning path: RFT's key is the list of equations a solution writes.
Here the key is the exact-arithmetic computations the step checker finds in the text
(expression and stated result, in order); a solution with none is keyed by its normalized
text. At most ``per_problem`` paths per problem (0: all). Rows are TRL prompt-completion
(conversational), the form :mod:`mistakelab.learn.sft` writes.

Example:
    >>> path_key("x = 3 + 4 = 7. So 7 * 2 = 14.") == path_key("First 3 + 4 = 7, then 7 * 2 = 14")
    True
    >>> path_key("3 + 4 = 7") == path_key("4 + 3 = 7")
    False
"""

from __future__ import annotations

from typing import Iterator

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.learn.formats import Row, Skip, chat
from mistakelab.learn.recipes.base import RecipeInput, recipe
from mistakelab.learn.sft import sft_row
from mistakelab.steps.arithmetic import find_computations


def path_key(text: str) -> tuple[str, ...]:
    """What makes two solutions the same reasoning path: their equations, else their words."""
    eqs = tuple(f"{' '.join(c.expression.split())}={c.result}" for c in find_computations(text))
    return eqs or (" ".join(text.lower().split()),)


class RftParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    per_problem: int = Field(default=4, ge=0)  # distinct correct paths kept per problem (0: all)
    distinct: bool = True  # one row per reasoning path (False: every distinct text)


@recipe("rft", RftParams, trainer="sft", method="STaR / RFT: rejection-sampled correct solutions, METHODS §3.4")
def rft(inp: RecipeInput, params: RftParams) -> Iterator[Row | Skip]:
    """Correct solutions of the train run, one per distinct reasoning path."""
    src = inp.train
    seen: dict[tuple[str, str], set[tuple[str, ...]]] = {}
    any_right: set[tuple[str, str]] = set()
    problems: set[tuple[str, str]] = set()
    for s in src.solutions():
        key = (s.task_label, s.problem.id)
        problems.add(key)
        if not s.correct:
            continue
        any_right.add(key)
        paths = seen.setdefault(key, set())
        path = path_key(s.text) if params.distinct else (s.text,)
        if path in paths:
            yield Skip("same reasoning path as a kept solution")
            continue
        if params.per_problem and len(paths) >= params.per_problem:
            yield Skip("per_problem limit reached")
            continue
        paths.add(path)
        yield sft_row(chat(src.prompt(s.task_label, s.problem)), s.text, "prompt_completion",
                      {"problem_id": s.problem.id, "task": s.task_label, "unit": s.unit_key, "source": "model"})
    for _ in problems - any_right:
        yield Skip("problem with no correct solution")
