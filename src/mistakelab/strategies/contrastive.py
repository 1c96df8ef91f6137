"""``contrastive``: contrastive and implicit in-context mistakes (METHODS §2.10). Intrinsic.

Before the question, the solver sees ``demos`` demonstrations, each a question with a wrong
and a right solution:

- ``style="labeled"`` (contrastive chain of thought): both solutions, labeled correct and
  incorrect (a demonstration with no known right solution shows the right answer);
- ``style="pairs"`` (implicit learning, Alazraki et al. 2025): only the wrong and the
  correct answer, no rationales.

They come from generated tasks with injected errors (``source="generated"``: ``igsm`` or
``knights_knaves``, :func:`~mistakelab.strategies.demos.generated_demos`) or from a stored
run's mistakes on other problems (``source="run"``, ``run=<id or name>``, ``store=...``).
A demonstration of the problem being solved (same id or same question) is never shown. The
demonstrations used are recorded as a :class:`~mistakelab.core.events.DemosEvent`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mistakelab.core.events import DemosEvent
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.demos import Demo, generated_demos, run_demos
from mistakelab.strategies.revision import overrides, with_hint

PROMPTS = {
    "intro_labeled": "Here are solved examples. Each shows a correct solution and an incorrect one, so you can "
                     "see which mistakes to avoid.",
    "intro_pairs": "Here are examples, each with a wrong answer and the correct answer.",
    "labeled": "Example question: {question}\n\nCorrect solution:\n{right}\n\nIncorrect solution:\n{wrong}",
    "pairs": "Example question: {question}\nWrong answer: {wrong_answer}\nCorrect answer: {right_answer}",
    "right_answer_only": "The correct answer is {right_answer}.",
    "outro": "Now solve this problem.",
}


class ContrastiveParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Literal["generated", "run"] = "generated"
    style: Literal["labeled", "pairs"] = "labeled"
    demos: int = Field(default=2, ge=1)
    task: str = "igsm"  # source="generated": the generator (igsm, knights_knaves)
    task_options: dict[str, Any] = Field(default_factory=lambda: {"min_ops": 2, "max_ops": 4})
    run: str | None = None  # source="run": the stored run whose mistakes are shown
    store: str = "runs/mistakelab.db"
    seed: int = 0
    temperature: float | None = None

    @model_validator(mode="after")
    def _run_named(self) -> "ContrastiveParams":
        if self.source == "run" and not self.run:
            raise ValueError("source='run' needs run=<run id or name>")
        return self


def _render(ctx: StrategyContext, d: Demo, style: str) -> str:
    right = d.right or ctx.prompt("right_answer_only", right_answer=d.right_answer)
    return ctx.prompt(style, question=d.question, wrong=d.wrong, right=right,
                      wrong_answer=d.wrong_answer or "(none)", right_answer=d.right_answer)


@strategy("contrastive", ContrastiveParams, prompts=PROMPTS,
          method="contrastive CoT / implicit in-context mistakes (METHODS §2.10)")
async def contrastive(ctx: StrategyContext, params: ContrastiveParams) -> None:
    """Show wrong and right solutions of other problems (labeled, or as bare answer pairs), then solve."""
    extra = params.demos + 1  # one spare: the problem being solved may be among them
    if params.source == "generated":
        pool = generated_demos(params.task, json.dumps(params.task_options, sort_keys=True), extra, params.seed)
    else:
        pool = run_demos(params.store, params.run or "", extra)
    me = ctx.problem
    shown = [d for d in pool if d.problem_id != me.id and d.question.strip() != me.question.strip()][:params.demos]
    ctx.emit(DemosEvent(source=params.source if params.source == "generated" else f"run:{params.run}",
                        style=params.style, problem_ids=[d.problem_id for d in shown]))
    block = "\n\n---\n\n".join(_render(ctx, d, params.style) for d in shown)
    preamble = f"{ctx.prompt('intro_' + params.style)}\n\n{block}\n\n---\n\n{ctx.prompt('outro')}"
    c = await ctx.generate(with_hint(ctx.question(), preamble, before=True), purpose="solve",
                           **overrides(params.temperature))
    ctx.final(ctx.record_answer(c, label="solution"), method="only")
