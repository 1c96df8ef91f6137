"""``sft``: the run's correct solutions (and optionally gold ones) as supervised fine-tuning data.

Two forms (``form``): ``messages`` (TRL language modeling, conversational: the question and
the solution as one chat) and ``prompt_completion`` (TRL prompt-completion, conversational:
SFTTrainer puts the loss on the completion only). Only solutions the runner graded correct
are kept, so the labels come from the gold answer.

Example:
    >>> sft_row([{"role": "user", "content": "2+2?"}], "4", "prompt_completion", {}).data["completion"]
    [{'role': 'assistant', 'content': '4'}]
    >>> list(sft_row([{"role": "user", "content": "2+2?"}], "4", "messages", {}).data)
    ['messages']
"""

from __future__ import annotations

from typing import Any, Iterator, Literal

from pydantic import BaseModel, ConfigDict

from mistakelab.learn.formats import Row, Skip, assistant, chat, export_format
from mistakelab.learn.source import RunSource


class SftParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    form: Literal["messages", "prompt_completion"] = "messages"
    gold: bool = False  # add the gold solution of every problem whose task has one


def _columns(p: SftParams) -> tuple[str, ...]:
    return ("messages",) if p.form == "messages" else ("prompt", "completion")


def sft_row(prompt: list[dict[str, str]], completion: str, form: str, meta: dict[str, Any]) -> Row:
    """One SFT row in either form."""
    if form == "messages":
        return Row({"messages": prompt + assistant(completion)}, meta)
    return Row({"prompt": prompt, "completion": assistant(completion)}, meta)


@export_format("sft", SftParams, columns=_columns, trainer="SFTTrainer",
               trl_type=lambda p: "language modeling (conversational)" if p.form == "messages"
               else "prompt-completion (conversational)", method="rejection-sampled SFT on correct solutions")
def sft(source: RunSource, params: SftParams) -> Iterator[Row | Skip]:
    """Correct solutions of the run (distinct per problem), plus gold solutions if asked."""
    for s in source.solutions():
        if not s.correct:
            continue
        yield sft_row(chat(source.prompt(s.task_label, s.problem)), s.text, params.form,
                      {"problem_id": s.problem.id, "task": s.task_label, "source": "model", "unit": s.unit_key})
    if not params.gold:
        return
    for (label, _), problem in source.problems.items():
        gold = source.tasks[label].gold_solution(problem)
        if gold is None:
            yield Skip(f"task {label}: no gold solution")
            continue
        yield sft_row(chat(source.prompt(label, problem)), gold, params.form,
                      {"problem_id": problem.id, "task": label, "source": "gold"})
