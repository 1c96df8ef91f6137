"""``gkd``: on-policy distillation from a teacher on the student's own samples (GKD, METHODS §3.4).

Agarwal et al. 2024 ("learning from self-generated mistakes"): the student samples, the
teacher gives its token distributions on those samples, and training minimizes a
generalized Jensen-Shannon divergence (``beta``) on a mix of on-policy samples (share
``lmbda``) and fixed data. The data side is the fixed part: each train problem's prompt with a
correct solution (the model's own from the round, else the gold one) as conversational
``messages``, what TRL's ``GKDTrainer`` reads; its prompts are also where the on-policy
samples start. The teacher is a role of the loop (``[roles] teacher = "qwen2.5-coder-1.5b"``),
loaded by :func:`mistakelab.learn.train.train_lora` with ``kind = "gkd"``.

Example:
    >>> GkdParams().lmbda, GkdParams().beta
    (0.5, 0.5)
"""

from __future__ import annotations

from typing import Iterator

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.learn.correction import own_correct
from mistakelab.learn.formats import Row, Skip, assistant, chat
from mistakelab.learn.recipes.base import RecipeInput, recipe


class GkdParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lmbda: float = Field(default=0.5, ge=0, le=1)  # share of on-policy (student-sampled) batches
    beta: float = Field(default=0.5, ge=0, le=1)  # generalized JSD: 0 forward KL, 1 reverse KL
    seq_kd: bool = False  # also train on teacher-generated sequences (sequence-level KD)
    temperature: float = Field(default=0.9, gt=0)  # sampling of the on-policy samples
    max_new_tokens: int = Field(default=256, ge=1)
    gold: bool = True  # a problem without an own correct solution uses the gold one


@recipe("gkd", GkdParams, trainer="gkd", method="GKD on-policy distillation (TRL GKDTrainer), METHODS §3.4")
def gkd(inp: RecipeInput, params: GkdParams) -> Iterator[Row | Skip]:
    """Each train problem's prompt with a correct solution, as messages."""
    src = inp.train
    own = own_correct(src)
    for (label, pid), problem in src.problems.items():
        text = own.get((label, pid))
        source = "model"
        if text is None and params.gold:
            text, source = src.tasks[label].gold_solution(problem), "gold"
        if text is None:
            yield Skip("no correct solution (own or gold)")
            continue
        yield Row({"messages": chat(src.prompt(label, problem)) + assistant(text)},
                  {"problem_id": pid, "task": label, "source": source})
