"""The scorer interface: rate a solution step by step (or as a whole), higher = better.

A scorer gets a :class:`~mistakelab.context.CallContext` (its model calls are recorded in the
context's trace) and a solution: its text and its steps (``ctx.steps(text)`` by default). It
returns :class:`StepScores`: one score per step (``None``: that step was not scored) and
their aggregate. An *outcome* scorer rates the whole solution: no per-step scores, only the
aggregate.

Aggregations (``agg=``) of the per-step scores, unscored steps left out:

- ``min``: the weakest step (the usual PRM rule); ``prod``: the product (probabilities only);
- ``last``: the last scored step (what step search ranks partial solutions by);
- ``mean``: the mean; ``flags``: minus the number of steps scoring under 0.5 (fewest flagged
  steps ranks first; no scored step means no flag, 0).

With no scored step every aggregation but ``flags`` is ``None``: no evidence, never a guess.

Example:
    >>> aggregate([0.9, None, 0.5, 0.8], "min"), aggregate([0.9, None, 0.5, 0.8], "prod")
    (0.5, 0.36)
    >>> aggregate([0.9, None, 0.5, 0.8], "last"), aggregate([1.0, 0.0, None, 0.0], "flags")
    (0.8, -2.0)
    >>> aggregate([None, None], "min") is None
    True
"""

from __future__ import annotations

import math
from bisect import bisect_right
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Mapping, Sequence

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from mistakelab.core.registry import Registry
from mistakelab.core.specs import PartSpec, parse_named
from mistakelab.core.types import Completion
from mistakelab.steps.types import Step

if TYPE_CHECKING:
    from mistakelab.context import CallContext

Aggregation = Literal["min", "prod", "last", "mean", "flags"]
FLAG_BELOW = 0.5  # a step scoring under this counts as flagged (``flags``)


def aggregate(scores: Sequence[float | None], how: Aggregation) -> float | None:
    """Combine per-step scores (``None`` entries skipped); see the module docstring."""
    vals = [s for s in scores if s is not None]
    if how == "flags":
        return -float(sum(v < FLAG_BELOW for v in vals))
    if not vals:
        return None
    if how == "min":
        return min(vals)
    if how == "prod":
        return round(math.prod(vals), 12)
    if how == "last":
        return vals[-1]
    if how == "mean":
        return sum(vals) / len(vals)
    raise ValueError(f"unknown aggregation {how!r}; known: min, prod, last, mean, flags")


def step_at(ends: Sequence[int], pos: int) -> int:
    """Index of the step a character offset belongs to, given the steps' ``end`` offsets in
    order: the first step ending after ``pos`` (a gap between steps goes to the step after
    it; past the last step, the last).

    Example:
        >>> [step_at([3, 8], p) for p in (0, 3, 7, 20)]
        [0, 1, 1, 1]
    """
    return min(bisect_right(ends, pos), len(ends) - 1)


class StepScores(BaseModel):
    """What a scorer says about one solution. ``scores[i]`` belongs to ``steps[i]``; an
    outcome scorer leaves both empty and gives only ``aggregate``."""

    scorer: str
    steps: list[Step]
    scores: list[float | None]
    aggregate: float | None
    note: str = ""


class ScorerParams(BaseModel):
    """Parameters every scorer takes; scorers extend this model with their own."""

    model_config = ConfigDict(extra="forbid")
    agg: Aggregation | None = None  # None: the scorer's default


class Scorer(ABC):
    """Base class; subclasses set the class attributes and implement :meth:`rate`.

    ``kind``: ``step`` (per-step scores) or ``outcome`` (one score for the whole solution).
    ``oracle``: uses the gold answer (marks results oracle-assisted). ``probability``: scores
    lie in [0, 1] (``prod`` is refused otherwise). ``needs``: role -> backend capabilities.
    ``wants_logprobs``: reads the per-token statistics of the completion that produced the
    text when given one, so a strategy should ask for ``logprobs=True`` when generating.
    """

    name: ClassVar[str] = "scorer"
    kind: ClassVar[Literal["step", "outcome"]] = "step"
    oracle: ClassVar[bool] = False
    probability: ClassVar[bool] = True
    default_agg: ClassVar[Aggregation] = "min"
    wants_logprobs: ClassVar[bool] = False
    Params: ClassVar[type[ScorerParams]] = ScorerParams

    def __init__(self, **params: Any) -> None:
        self.params = self.Params.model_validate(params)
        self.agg: Aggregation = self.params.agg or self.default_agg
        if self.agg == "prod" and not self.probability:
            raise ValueError(f"scorer {self.name!r}: agg=prod needs probabilities; its scores are not")

    def needs(self) -> Mapping[str, frozenset[str]]:
        """Capabilities the models of each role must declare for this scorer."""
        return {}

    async def score(self, ctx: "CallContext", text: str, steps: Sequence[Step] | None = None, *,
                    completion: Completion | None = None, only: Sequence[int] | None = None) -> StepScores:
        """Score ``text`` (split into ``steps``, default ``ctx.steps(text)``).

        ``completion``: the call that produced ``text`` or its tail (a continuation), whose
        per-token data a scorer may use instead of a new call. ``only``: step indices to
        score (the others stay ``None``); step search scores just the newest step.
        """
        if self.oracle:
            ctx.oracle()  # say the result is oracle-assisted before looking at the gold
        steps = list(steps) if steps is not None else ctx.steps(text)
        if self.kind == "outcome":
            value, note = await self.rate_outcome(ctx, text, completion)
            return StepScores(scorer=self.name, steps=[], scores=[], aggregate=value, note=note)
        wanted = sorted(set(range(len(steps)) if only is None else only))
        per, note = await self.rate(ctx, text, steps, wanted, completion)
        scores = [per.get(i) if i in wanted else None for i in range(len(steps))]
        return StepScores(scorer=self.name, steps=steps, scores=scores, aggregate=aggregate(scores, self.agg),
                          note=note)

    async def rate(self, ctx: "CallContext", text: str, steps: list[Step], wanted: list[int],
                   completion: Completion | None) -> tuple[dict[int, float | None], str]:
        """Step scorers: scores of the ``wanted`` steps by index, and a note."""
        raise NotImplementedError

    async def rate_outcome(self, ctx: "CallContext", text: str,
                           completion: Completion | None) -> tuple[float | None, str]:
        """Outcome scorers: the solution's score, and a note."""
        raise NotImplementedError


scorers: Registry[type[Scorer]] = Registry("scorer")


def build_scorer(spec: "str | Mapping[str, Any] | Scorer") -> Scorer:
    """``"critic_step:agg=prod"``, ``{"name": "prm", "model": "..."}`` or a Scorer → a Scorer.

    Example:
        >>> s = build_scorer("arithmetic_step")
        >>> s.name, s.kind, s.agg
        ('arithmetic_step', 'step', 'flags')
    """
    if isinstance(spec, Scorer):
        return spec
    data = parse_named(spec) if isinstance(spec, str) else dict(spec)
    name = data.pop("name")
    try:
        return scorers.get(name)(**data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(parameters)'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"scorer {name!r}: {problems}") from None


def checked_scorer(spec: Any) -> Any:
    """Build the scorer once so a bad spec fails when the run is planned (a params validator)."""
    try:
        build_scorer(spec)
    except KeyError as exc:  # an unknown name: pydantic reports ValueErrors only
        raise ValueError(str(exc)) from None
    return spec


#: A strategy parameter naming a scorer (``"critic_step:agg=min"`` or a table), checked when
#: the run is planned; the strategy's oracle use and capabilities follow from the scorer it names.
ScorerSpec = Annotated[str | dict[str, Any], AfterValidator(checked_scorer), PartSpec("scorer", build_scorer)]


def merge_needs(*maps: Mapping[str, frozenset[str] | set[str]]) -> dict[str, frozenset[str]]:
    """Union of role -> capability maps (a strategy's own needs plus its scorers').

    Example:
        >>> m = merge_needs({"solver": {"continue"}}, {"solver": {"score"}, "critic": {"top_logprobs"}})
        >>> {role: sorted(caps) for role, caps in m.items()}
        {'solver': ['continue', 'score'], 'critic': ['top_logprobs']}
    """
    out: dict[str, frozenset[str]] = {}
    for m in maps:
        for role, caps in m.items():
            out[role] = out.get(role, frozenset()) | frozenset(caps)
    return out
