"""The ``igsm`` task: synthetic grade-school math with checkable steps (iGSM, Physics of LMs 2.1).

Example:
    >>> task = IGSMTask(min_ops=3, max_ops=6, distractors=2)
    >>> p = task.load(1, seed=0)[0]
    >>> p.id, 3 <= p.metadata["ops"] <= 6, len(p.steps) > 0
    ('igsm-0-0', True, True)
    >>> gold = task.gold_solution(p)
    >>> task.verify(p, gold).correct, task.verify_steps(p, gold).first_error
    (True, -1)
    >>> bad = task.inject_error(p, step=1)
    >>> task.verify_steps(p, bad.text).first_error == bad.first_error == 1
    True
"""

from __future__ import annotations

import random
import re
from collections import OrderedDict
from typing import Any

from mistakelab.answers import normalize_answer
from mistakelab.core.types import Problem, Verdict
from mistakelab.steps.types import InjectedSolution, StepVerdict
from mistakelab.tasks.base import Task, tasks
from mistakelab.tasks.igsm.align import Aligner, split_solution
from mistakelab.tasks.igsm.graph import GenConfig, generate
from mistakelab.tasks.igsm.inject import inject
from mistakelab.tasks.igsm.model import Spec
from mistakelab.tasks.igsm.render import render_question
from mistakelab.tasks.igsm.solve import gold_text, reference_steps
from mistakelab.tasks.igsm.verify import mark_steps

#: Instruction appended to every iGSM question.
IGSM_ANSWER_FORMAT = ("Solve step by step, defining one quantity per step, and put the final "
                      "answer in \\boxed{}.")
DEFAULT_N = 100  # problems ``load(None, seed)`` returns (the generator has no natural end)
_MOD_SUFFIX = re.compile(r"\(?\s*(?:\\pmod\s*\{?\s*\d+\s*\}?|\b(?:mod|modulo)\s+\d+)\s*\)?\s*$", re.I)
_INTEGER = re.compile(r"-?\d+(?:\.0+)?")


def _range(value: int | tuple[int, int] | list[int], name: str) -> tuple[int, int]:
    lo, hi = (value, value) if isinstance(value, int) else tuple(value)
    if lo > hi or lo < 0:
        raise ValueError(f"{name} must be an int or a range (lo, hi) with 0 <= lo <= hi, got {value!r}")
    return int(lo), int(hi)


@tasks.register("igsm")
class IGSMTask(Task):
    """Generated iGSM problems with gold steps, a step verifier and error injection.

    Options: ``min_ops``/``max_ops`` (or ``ops=(lo, hi)``): operations in the necessary
    solution; ``distractors``: unneeded statements (int or range); ``modulo``: do all
    arithmetic mod this number (e.g. 23); ``layers``: hierarchy depth, 2-4 (int or range);
    ``max_value``: bound on every value in plain mode.
    """

    name = "igsm"
    answer_format = IGSM_ANSWER_FORMAT

    def __init__(self, min_ops: int = 2, max_ops: int = 12, distractors: Any = (2, 5),
                 modulo: int | None = None, layers: Any = (2, 4), max_value: int = 999,
                 ops: Any = None) -> None:
        self._aligners: OrderedDict[tuple[str, str], tuple[Spec, Aligner]] = OrderedDict()
        if ops is not None:
            min_ops, max_ops = _range(ops, "ops")
        if not 1 <= min_ops <= max_ops:
            raise ValueError(f"need 1 <= min_ops <= max_ops, got {min_ops}, {max_ops}")
        lay = _range(layers, "layers")
        if not 2 <= lay[0] <= lay[1] <= 4:
            raise ValueError(f"layers must lie in 2..4, got {layers!r}")
        if modulo is not None and modulo < 5:
            raise ValueError("modulo must be at least 5 (or None for plain arithmetic)")
        if max_value < 20:
            raise ValueError("max_value must be at least 20")
        self.config = GenConfig(min_ops=min_ops, max_ops=max_ops,
                                distractors=_range(distractors, "distractors"),
                                modulo=modulo or None, layers=lay, max_value=max_value)

    # -- problems ------------------------------------------------------------------------------
    def load(self, n: int | None, seed: int) -> list[Problem]:
        """Problems ``igsm-<seed>-<i>`` for i < n; each depends only on (seed, i) and options."""
        return [self.problem(seed, i) for i in range(DEFAULT_N if n is None else n)]

    def problem(self, seed: int, index: int) -> Problem:
        """The problem at ``index`` of ``seed`` (no global random state, no ``hash()``)."""
        rng = random.Random(f"{seed}-{index}")
        spec = generate(rng, self.config)
        question = render_question(spec, rng)
        value = spec.by_key()[spec.question].value
        meta = {"igsm": spec.model_dump(mode="json"), "ops": spec.ops,
                "distractors": len(spec.distractors), "layers": len(spec.categories),
                "world": spec.world, "modulo": spec.modulo, "seed": seed, "index": index}
        return Problem(id=f"igsm-{seed}-{index}", question=question, answer=str(value),
                       metadata=meta, steps=reference_steps(spec))

    @staticmethod
    def spec(problem: Problem) -> Spec:
        """The generator's record of ``problem`` (from its metadata)."""
        data = problem.metadata.get("igsm")
        if data is None:
            raise ValueError(f"problem {problem.id!r} is not an iGSM problem (no metadata['igsm'])")
        return data if isinstance(data, Spec) else Spec.model_validate(data)

    # -- checking ------------------------------------------------------------------------------
    def check(self, problem: Problem, answer: str | None, method: str = "given") -> Verdict:
        """Exact integer comparison (``34``, ``$34$``, ``34 animals`` and ``34 (mod 23)`` read as 34)."""
        if answer is None:
            return Verdict(extracted=None, method="none", correct=False, reason="no answer found")
        text = normalize_answer(_MOD_SUFFIX.sub("", answer.strip()))
        if not _INTEGER.fullmatch(text):
            return Verdict(extracted=answer, method=method, correct=False, reason=f"not an integer: {text!r}")
        got = int(float(text))
        ok = got == int(problem.answer)
        return Verdict(extracted=answer, method=method, correct=ok,
                       reason="exact match" if ok else f"{got} != {problem.answer}")

    def verify_steps(self, problem: Problem, text: str) -> StepVerdict:
        """Mark every step of ``text`` (see :mod:`mistakelab.tasks.igsm.verify`)."""
        steps = split_solution(text)
        spec, aligner = self._aligned(problem)
        marks = mark_steps(spec, steps, aligner)
        ex = self.extract(text)
        final = self.check(problem, ex.text, ex.method).correct if ex.found else None
        return StepVerdict.from_marks(steps, marks, final_correct=final)

    def _aligned(self, problem: Problem) -> tuple[Spec, Aligner]:
        """The problem's spec and aligner, kept for the last problems seen: a report or a
        locator checks many solutions of one problem, and each aligner compiles its patterns."""
        cache = self._aligners
        key = (problem.id, problem.question)
        if key in cache:
            cache.move_to_end(key)
        else:
            spec = self.spec(problem)
            cache[key] = (spec, Aligner(spec))
            if len(cache) > 64:
                cache.popitem(last=False)
        return cache[key]

    def gold_solution(self, problem: Problem) -> str:
        """One line per gold step, then ``The answer is \\boxed{N}.``"""
        return gold_text(self.spec(problem))

    def inject_error(self, problem: Problem, step: int, seed: int = 0, kind: str | None = None) -> InjectedSolution:
        """Gold solution with an error at gold step ``step`` (``wrong_value`` or ``wrong_dependency``)."""
        return inject(self.spec(problem), problem.id, step, seed=seed, kind=kind)
