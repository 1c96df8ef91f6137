"""Fixing a wrong solution at its first error: ``correction`` (LeMa) and ``prefix_fix`` (InT).

Both start from the run's wrong solutions and their first wrong step, found without a model
(:mod:`mistakelab.learn.truth`: the task's exact step verifier, or exact arithmetic).

- ``correction`` (LeMa, METHODS §3.2): the question and the wrong solution -> which step is
  wrong, what is wrong with it, and a corrected solution (the model's own correct solution
  of the same problem when the run has one, else the gold solution).
- ``prefix_fix`` (InT, METHODS §3.2): the question and the solution up to its first error ->
  the single right next step. Posed as "write the next step", so the completion ends where
  the step ends (a continued assistant turn would teach the model to stop after one step).

Both are TRL prompt-completion data in the conversational form (SFTTrainer).

Example:
    >>> correction_completion(2, "x = 5 + 3 = 9", "states 9, but x is 8", "x = 8.")
    'The first wrong step is step 2: "x = 5 + 3 = 9"\\nWhat is wrong: states 9, but x is 8\\n\\nCorrected solution:\\nx = 8.'
"""

from __future__ import annotations

from typing import Iterator, Literal

from pydantic import BaseModel, ConfigDict

from mistakelab.learn.formats import Row, Skip, assistant, export_format
from mistakelab.learn.source import RunSource, Solution
from mistakelab.learn.truth import Checker, FoundError, locate_first_error, next_step

CORRECTION_PROMPT = ("Problem:\n{question}\n\nA proposed solution:\n{solution}\n\n"
                     "Find the first wrong step of this solution, say what is wrong with it, and write a "
                     "corrected solution. Put the final answer in \\boxed{{}}.")
PREFIX_PROMPT = ("Problem:\n{question}\n\nThe start of a solution, correct so far:\n{prefix}\n\n"
                 "Write the next step of the solution, and nothing else.")
NO_PREFIX = "(no steps yet)"


def correction_completion(step_no: int, step: str, reason: str, corrected: str) -> str:
    """The corrector's answer: the wrong step (1-based), why, and the corrected solution."""
    why = reason or "this step does not follow from the problem and the steps before it"
    return f'The first wrong step is step {step_no}: "{step}"\nWhat is wrong: {why}\n\nCorrected solution:\n{corrected}'


class CorrectionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checker: Checker = "auto"
    corrected: Literal["own_then_gold", "own", "gold"] = "own_then_gold"
    per_problem: int = 2  # wrong solutions used per problem (0: all)


class PrefixFixParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checker: Checker = "auto"
    per_problem: int = 2


def own_correct(source: RunSource) -> dict[tuple[str, str], str]:
    """(task label, problem id) -> the run's first correct solution text of that problem."""
    own: dict[tuple[str, str], str] = {}
    for s in source.solutions():
        if s.correct:
            own.setdefault((s.task_label, s.problem.id), s.text)
    return own


def wrong_solutions(source: RunSource, per_problem: int) -> Iterator[Solution]:
    """The run's wrong solutions, at most ``per_problem`` per problem (0: all), in run order."""
    used: dict[tuple[str, str], int] = {}
    for s in source.solutions():
        key = (s.task_label, s.problem.id)
        if s.correct or (per_problem and used.get(key, 0) >= per_problem):
            continue
        used[key] = used.get(key, 0) + 1
        yield s


def located(source: RunSource, per_problem: int, checker: Checker) -> Iterator[tuple[Solution, FoundError] | Skip]:
    """The run's wrong solutions with their first wrong step (a Skip where none is found)."""
    for s in wrong_solutions(source, per_problem):
        found = locate_first_error(source.tasks[s.task_label], s.problem, s.text, checker)
        yield Skip("no wrong step found") if found is None else (s, found)


def _meta(s: Solution, checker: str, step: int) -> dict[str, object]:
    return {"problem_id": s.problem.id, "task": s.task_label, "unit": s.unit_key, "checker": checker,
            "first_error": step}


@export_format("correction", CorrectionParams, columns=("prompt", "completion"), trainer="SFTTrainer",
               trl_type="prompt-completion (conversational)", method="LeMa, METHODS §3.2")
def correction(source: RunSource, params: CorrectionParams) -> Iterator[Row | Skip]:
    """Wrong solution -> the wrong step, what is wrong, a corrected solution."""
    own = own_correct(source)
    for item in located(source, params.per_problem, params.checker):
        if isinstance(item, Skip):
            yield item
            continue
        s, found = item
        task = source.tasks[s.task_label]
        fixed = own.get((s.task_label, s.problem.id)) if params.corrected != "gold" else None
        if fixed is None and params.corrected != "own":
            fixed = task.gold_solution(s.problem)
        if fixed is None:
            yield Skip("no correct solution to show")
            continue
        prompt = CORRECTION_PROMPT.format(question=s.problem.question, solution=s.text)
        reply = correction_completion(found.index + 1, found.step.text, found.reason, fixed)
        yield Row({"prompt": [{"role": "user", "content": prompt}], "completion": assistant(reply)},
                  _meta(s, found.checker, found.index))


@export_format("prefix_fix", PrefixFixParams, columns=("prompt", "completion"), trainer="SFTTrainer",
               trl_type="prompt-completion (conversational)", method="InT, METHODS §3.2")
def prefix_fix(source: RunSource, params: PrefixFixParams) -> Iterator[Row | Skip]:
    """The prefix before the first error -> the single corrected step."""
    for item in located(source, params.per_problem, params.checker):
        if isinstance(item, Skip):
            yield item
            continue
        s, found = item
        step = next_step(source.tasks[s.task_label], s.problem, found)
        if step is None:
            yield Skip("no known right step at the first error")
            continue
        prompt = PREFIX_PROMPT.format(question=s.problem.question, prefix=found.prefix or NO_PREFIX)
        yield Row({"prompt": [{"role": "user", "content": prompt}], "completion": assistant(step)},
                  _meta(s, found.checker, found.index))
