"""``retry``: a mistake and its retraction in one sequence (METHODS §3.2).

Two styles (``style``):

- ``reflect`` (LEMMA, "fresh & restart"): the model's own wrong solution up to and including
  its first wrong step (found without a model, :mod:`mistakelab.learn.truth`), a reflection
  phrase, then a correct solution (the model's own correct solution of the problem when the
  run has one, else the gold solution). The loss covers the wrong step too, as in LEMMA: the
  model learns to notice and restart, not to write the mistake.
- ``back`` (Physics of LMs 2.2): gold solutions with wrong steps taken back by ``[BACK]``,
  the ``retry`` export format (:mod:`mistakelab.learn.retry`); generated tasks only.

Example:
    >>> reflect_text("x = 2 + 2 = 5.", "Wait, that step is wrong.", "x = 2 + 2 = 4.")
    'x = 2 + 2 = 5.\\nWait, that step is wrong.\\nx = 2 + 2 = 4.'
"""

from __future__ import annotations

from typing import Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.learn.correction import located, own_correct
from mistakelab.learn.formats import Row, Skip, assistant, chat
from mistakelab.learn.recipes.base import RecipeInput, recipe
from mistakelab.learn.retry import RetryParams
from mistakelab.learn.retry import retry as back_rows
from mistakelab.learn.truth import Checker

REFLECTION = "Wait, that step is wrong. Let me solve it again from the start."


def reflect_text(through_error: str, reflection: str, corrected: str) -> str:
    """The wrong start, the reflection, the right solution: one assistant turn."""
    return f"{through_error.rstrip()}\n{reflection}\n{corrected.strip()}"


class RetryRecipeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    style: Literal["reflect", "back"] = "reflect"
    reflection: str = REFLECTION
    checker: Checker = "auto"
    per_problem: int = Field(default=2, ge=0)  # wrong solutions used per problem (0: all)
    p: float = Field(default=0.5, ge=0, le=1)  # style back: rate of wrong steps
    seed: int = 0  # style back


@recipe("retry", RetryRecipeParams, trainer="sft", method="LEMMA reflect-and-restart; Physics of LMs 2.2 retry, "
        "METHODS §3.2")
def retry(inp: RecipeInput, params: RetryRecipeParams) -> Iterator[Row | Skip]:
    """Wrong start through its first wrong step, a reflection, then a correct solution."""
    src = inp.train
    if params.style == "back":
        yield from back_rows(src, RetryParams(p=params.p, seed=params.seed, only_mistakes=True))
        return
    own = own_correct(src)
    for item in located(src, params.per_problem, params.checker):
        if isinstance(item, Skip):
            yield item
            continue
        s, found = item
        fixed = own.get((s.task_label, s.problem.id)) or src.tasks[s.task_label].gold_solution(s.problem)
        if fixed is None:
            yield Skip("no correct solution to show")
            continue
        start = s.text[: found.step.end]
        yield Row({"prompt": chat(src.prompt(s.task_label, s.problem)),
                   "completion": assistant(reflect_text(start, params.reflection, fixed))},
                  {"problem_id": s.problem.id, "task": s.task_label, "unit": s.unit_key, "checker": found.checker,
                   "first_error": found.index})
