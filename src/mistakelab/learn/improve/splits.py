"""Train and eval problems of a loop: drawn once, frozen in the store, and disjoint.

Disjoint means no eval question is also a train question, compared by the hash of the
question text with its whitespace normalised (:func:`mistakelab.core.memory.question_hash`,
the check the ``principles`` strategy makes against its memory): a loop whose eval problems
overlap its train problems stops before any model call, since training on them would carry
their gold answers into the evaluation.

Example:
    >>> from mistakelab.core.types import Problem
    >>> a = {"t": [Problem(id="1", question="What is 2+2?", answer="4")]}
    >>> b = {"e": [Problem(id="9", question="What is  2+2?", answer="4")]}
    >>> check_disjoint(a, b)
    Traceback (most recent call last):
    ...
    mistakelab.learn.improve.splits.SplitError: 1 eval problem is also a train problem (same question): e/9 = train t/1; draw the eval problems with another seed or from another task
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mistakelab.core.memory import question_hash
from mistakelab.core.types import Problem
from mistakelab.store.db import RunStore
from mistakelab.tasks.base import create_task

if TYPE_CHECKING:
    from mistakelab.learn.improve.config import ImproveConfig, Split

Problems = dict[str, list[Problem]]


class SplitError(ValueError):
    """Train and eval problems that share questions."""


def check_disjoint(train: Problems, eval_: Problems) -> None:
    """Raise :class:`SplitError` naming the shared problems, if any."""
    seen = {question_hash(p.question): f"{label}/{p.id}" for label, ps in train.items() for p in ps}
    shared = [f"{label}/{p.id} = train {seen[h]}" for label, ps in eval_.items() for p in ps
              if (h := question_hash(p.question)) in seen]
    if shared:
        more = f" (and {len(shared) - 3} more)" if len(shared) > 3 else ""
        one = len(shared) == 1
        raise SplitError(f"{len(shared)} eval problem{'' if one else 's'} {'is' if one else 'are'} also "
                         f"{'a train problem' if one else 'train problems'} (same question): "
                         f"{', '.join(shared[:3])}{more}; draw the eval problems with another seed or from another task")


def _draw(side: "Split") -> Problems:
    out: Problems = {}
    for t in side.tasks:
        task = create_task(t.name, t.options)
        out[t.label] = task.load(t.n or side.n_problems, side.seed if t.seed is None else t.seed)
    return out


def frozen_splits(cfg: "ImproveConfig", store: RunStore, loop_id: str) -> tuple[Problems, Problems]:
    """(train, eval) problems by task label: those the loop froze, or drawn, checked and frozen now."""
    sides = {"train": cfg.train, "eval": cfg.eval}
    got = {name: {t.label: store.load_problems(loop_id, f"{name}:{t.label}") for t in side.tasks}
           for name, side in sides.items()}
    if all(ps for side in got.values() for ps in side.values()):
        return got["train"], got["eval"]
    train, eval_ = _draw(cfg.train), _draw(cfg.eval)
    check_disjoint(train, eval_)
    for name, side in (("train", train), ("eval", eval_)):
        for label, ps in side.items():
            store.save_problems(loop_id, f"{name}:{label}", ps)
    return train, eval_
