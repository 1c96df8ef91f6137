"""Reasoning-gym datasets as tasks, judged by each dataset's own scorer.

``create_task("rg:<dataset>")`` wraps any of reasoning-gym's procedural datasets;
``gsm_symbolic`` is the GSM-style one with integer answers, judged by our numeric
equivalence (reasoning-gym's score is kept in the reason for comparison).

A problem remembers where it came from (``metadata["rg_source"]``: dataset, seed, size,
index, config). The scorer needs the original entry, which may hold non-JSON objects, so
the task regenerates the dataset deterministically from that record when the entry is
not already cached in this task instance (e.g. a problem reloaded from the run store).

Example:
    >>> task = ReasoningGymTask("basic_arithmetic")
    >>> p = task.load(2, seed=3)[0]
    >>> p.id
    'basic_arithmetic-3-0'
    >>> task.verify(p, f"\\\\boxed{{{p.answer}}}").correct
    True
"""

from __future__ import annotations

import math
import re
from typing import Any

from mistakelab.answers import answers_match, normalize_answer
from mistakelab.answers.check import to_number
from mistakelab.core.types import Problem, Verdict
from mistakelab.tasks.base import Task, tasks

#: Problems generated when neither ``size`` nor ``n`` says how many.
DEFAULT_SIZE = 500
_TEXT_WRAP = re.compile(r"^\\(?:text|textbf|mathrm)\{(.*)\}$", re.S)


def json_safe(value: Any) -> Any:
    """The JSON-representable part of ``value`` (tuples become lists, other objects go).

    Example:
        >>> json_safe({"a": (1, 2), "b": object(), "c": {"d": float("nan")}})
        {'a': [1, 2], 'c': {}}
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _DROP
    if isinstance(value, (list, tuple)):
        return [v for v in (json_safe(x) for x in value) if v is not _DROP]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = json_safe(v)
            if isinstance(k, (str, int)) and v is not _DROP:
                out[str(k)] = v
        return out
    return _DROP


_DROP = object()  # marker for values json_safe leaves out


def _unwrap(answer: str) -> str:
    """Light cleanup for reasoning-gym scorers: drop ``$``/``\\text{}`` around the answer."""
    s = answer.strip()
    if len(s) > 1 and s.startswith("$") and s.endswith("$"):
        s = s.strip("$").strip()
    m = _TEXT_WRAP.match(s)
    return m.group(1).strip() if m else s


@tasks.register("reasoning_gym")
class ReasoningGymTask(Task):
    """Any reasoning-gym dataset, scored by the dataset's own ``score_answer``.

    Args:
        dataset: reasoning-gym dataset name (``leg_counting``, ``basic_arithmetic``...).
        size: how many problems to generate per seed; default ``n`` of :meth:`load`, or
            ``DEFAULT_SIZE`` when that is None too.
        config: extra dataset options passed to ``reasoning_gym.create_dataset``.
        numeric: judge with our numeric equivalence (for datasets with number answers);
            the dataset's score is still reported in the reason.

    A score of at least 1.0 counts as correct.

    Example:
        >>> t = ReasoningGymTask("leg_counting", config={"max_animals": 3})
        >>> [p.id for p in t.load(2, seed=0)]
        ['leg_counting-0-0', 'leg_counting-0-1']
    """

    def __init__(
        self,
        dataset: str,
        size: int | None = None,
        config: dict[str, Any] | None = None,
        numeric: bool = False,
        name: str | None = None,
    ) -> None:
        import reasoning_gym.factory

        if dataset not in reasoning_gym.factory.DATASETS:
            known = ", ".join(sorted(reasoning_gym.factory.DATASETS))
            raise ValueError(f"unknown reasoning-gym dataset {dataset!r}; known: {known}")
        if size is not None and size < 1:
            raise ValueError(f"size must be positive, got {size}")
        self.dataset = dataset
        self.size = size
        self.config = dict(config or {})
        self.numeric = numeric
        self.name = name or f"rg:{dataset}"
        self._datasets: dict[tuple[int, int], Any] = {}
        self._entries: dict[str, tuple[Any, dict[str, Any]]] = {}

    def _build(self, seed: int, size: int) -> Any:
        import reasoning_gym

        # Keyed by (seed, size): not every dataset promises item i is independent of size.
        key = (seed, size)
        if key not in self._datasets:
            self._datasets[key] = reasoning_gym.create_dataset(
                self.dataset, size=size, seed=seed, **self.config)
        return self._datasets[key]

    def load(self, n: int | None, seed: int) -> list[Problem]:
        """The first ``n`` problems generated with ``seed`` (same seed, same problems).

        Without ``size``, ``n`` sets the dataset size (for most datasets item ``i`` does not
        depend on it, so a larger ``n`` extends the list).
        """
        size = self.size or n or DEFAULT_SIZE
        count = size if n is None else min(n, size)
        ds = self._build(seed, size)
        problems = []
        for i in range(count):
            entry = ds[i]
            pid = f"{self.dataset}-{seed}-{i}"
            meta = json_safe(entry.get("metadata") or {})
            meta["rg_source"] = {
                "dataset": self.dataset, "seed": seed, "size": size, "index": i,
                "config": json_safe(self.config),
            }
            self._entries[pid] = (ds, entry)
            problems.append(
                Problem(id=pid, question=entry["question"], answer=str(entry["answer"]),
                        metadata=meta)
            )
        return problems

    def _entry(self, problem: Problem) -> tuple[Any, dict[str, Any]]:
        hit = self._entries.get(problem.id)
        if hit is not None:
            return hit
        src = problem.metadata.get("rg_source")
        if not src or src.get("dataset") != self.dataset:
            raise ValueError(f"problem {problem.id!r} does not come from reasoning-gym "
                             f"dataset {self.dataset!r} (no matching metadata['rg_source'])")
        ds = self._build(int(src["seed"]), int(src["size"]))
        entry = ds[int(src["index"])]
        if str(entry["answer"]) != problem.answer:
            raise ValueError(f"regenerated entry for {problem.id!r} does not match its answer; "
                             "was it made with another reasoning-gym version or config?")
        self._entries[problem.id] = (ds, entry)
        return ds, entry

    def score(self, problem: Problem, answer: str | None) -> float:
        """reasoning-gym's score for ``answer`` (the better of raw and unwrapped text)."""
        ds, entry = self._entry(problem)
        if answer is None:
            return 0.0
        scores = []
        for candidate in dict.fromkeys([answer, _unwrap(answer)]):
            try:
                scores.append(float(ds.score_answer(candidate, entry)))
            except Exception:  # a scorer crashing on odd text means "not correct"
                scores.append(0.0)
        return max(scores)

    def check(self, problem: Problem, answer: str | None, method: str = "given") -> Verdict:
        """Judge ``answer`` with the dataset's scorer (or numerically, for ``numeric``)."""
        if answer is None:
            return Verdict(extracted=None, method="none", correct=False, reason="no answer found")
        score = self.score(problem, answer)
        if self.numeric:
            ok, why = answers_match(answer, problem.answer)
            if to_number(normalize_answer(answer)) is None:
                why = f"not a number ({why})"
                ok = False
            return Verdict(extracted=answer, method=method, correct=ok,
                           reason=f"{why}; reasoning-gym score {score:g}")
        return Verdict(extracted=answer, method=method, correct=score >= 1.0,
                       reason=f"reasoning-gym score {score:g}")


@tasks.register("gsm_symbolic")
def gsm_symbolic(**options: Any) -> ReasoningGymTask:
    """GSM-Symbolic word problems (integer answers) from reasoning-gym, checked numerically.

    Example:
        >>> t = gsm_symbolic()
        >>> p = t.load(1, seed=0)[0]
        >>> t.verify(p, f"The answer is {p.answer}.").correct
        True
    """
    options.setdefault("numeric", True)
    options.setdefault("name", "gsm_symbolic")
    return ReasoningGymTask(dataset="gsm_symbolic", **options)
