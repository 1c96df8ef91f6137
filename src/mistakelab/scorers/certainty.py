"""Scorers from the solver's own token statistics: self-certainty and mean log-probability.

Self-certainty of a token position is KL(U || p) of the next-token distribution (METHODS
§1.3; needs the full distribution: the ``local`` backend). Values come from the completion
that produced the text when it carries them (ask for ``logprobs=True`` when generating, as
``wants_logprobs`` says), else from one ``score`` call of the solution as the reply to the
question. A token belongs to the step its first character falls in (tokens in the gaps
between steps go to the step after them; tokens past the text's end, such as the
end-of-turn token, to the last step).

- ``self_certainty_step``: per step, the mean over its tokens (default aggregation ``mean``);
- ``self_certainty`` (outcome): the mean over all tokens, the paper's score;
- ``mean_logprob`` (outcome): the mean log-probability of the tokens.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.context import CallContext
    >>> from mistakelab.core import Completion, Problem, TokenLogprob
    >>> from mistakelab.scorers import build_scorer
    >>> from mistakelab.tasks import create_task
    >>> text = "a b\\n\\nc"
    >>> gen = Completion(text=text, logprobs=[TokenLogprob(token=t, logprob=-0.5, kl_from_uniform=v)
    ...                  for t, v in [("a", 2.0), (" b", 4.0), ("\\n\\n", 6.0), ("c", 9.0)]])
    >>> ctx = CallContext.standalone(ScriptedBackend([]), Problem(id="p", question="?", answer="1"),
    ...                              create_task("gsm8k_sample"))
    >>> asyncio.run(build_scorer("self_certainty_step").score(ctx, text, completion=gen)).scores
    [3.0, 7.5]
    >>> asyncio.run(build_scorer("self_certainty").score(ctx, text, completion=gen)).aggregate
    5.25
"""

from __future__ import annotations

from typing import Mapping

from mistakelab.backends.base import FULL_DISTRIBUTION
from mistakelab.context import CallContext
from mistakelab.core.types import Completion
from mistakelab.scorers.base import Scorer, scorers, step_at
from mistakelab.steps.types import Step


async def token_values(ctx: CallContext, text: str, attr: str, completion: Completion | None,
                       first_needed: int = 0) -> tuple[list[tuple[int, float]], str]:
    """``(character offset in text, value)`` of each token, for ``attr`` of TokenLogprob.

    Uses ``completion`` when its text is the tail of ``text`` starting at or before
    ``first_needed`` and its tokens carry ``attr``; otherwise scores ``text``.
    """
    base = len(text) - len(completion.text) if completion is not None else -1
    usable = (completion is not None and completion.logprobs and text.endswith(completion.text)
              and 0 <= base <= first_needed and all(getattr(t, attr) is not None for t in completion.logprobs))
    if usable:
        tokens, source = completion.logprobs, "generation"  # type: ignore[union-attr]
    else:
        base, source = 0, "score"
        tokens = (await ctx.score(ctx.question(), text, purpose=f"score-{attr}")).logprobs or []
    out, pos = [], base
    for t in tokens:
        value = getattr(t, attr)
        if value is None:
            return [], f"{source}: no {attr} (needs the full next-token distribution)"
        out.append((min(pos, max(len(text) - 1, 0)), float(value)))
        pos += len(t.token)
    return out, source


def step_means(values: list[tuple[int, float]], steps: list[Step]) -> list[float | None]:
    """Mean value per step, each token given to the step its offset falls in (see module doc).

    Example:
        >>> steps = [Step(index=0, text="ab", start=0, end=2), Step(index=1, text="c", start=4, end=5)]
        >>> step_means([(0, 1.0), (1, 3.0), (2, 5.0), (4, 7.0)], steps)
        [2.0, 6.0]
    """
    if not steps:
        return []
    ends = [s.end for s in steps]
    sums, counts = [0.0] * len(steps), [0] * len(steps)
    for pos, v in values:
        i = step_at(ends, pos)
        sums[i] += v
        counts[i] += 1
    return [s / c if c else None for s, c in zip(sums, counts)]


class _TokenScorer(Scorer):
    attr = "kl_from_uniform"
    wants_logprobs = True
    probability = False

    def needs(self) -> Mapping[str, frozenset[str]]:
        # the statistics come with generation (logprobs=True) or from a score call
        return {"solver": frozenset({FULL_DISTRIBUTION})} if self.attr == "kl_from_uniform" else {}

    async def rate_outcome(self, ctx: CallContext, text: str,
                           completion: Completion | None) -> tuple[float | None, str]:
        values, source = await token_values(ctx, text, self.attr, completion)
        return (sum(v for _, v in values) / len(values) if values else None), source


@scorers.register("self_certainty_step")
class SelfCertaintyStep(_TokenScorer):
    """Each step: the mean self-certainty (KL from uniform) of its tokens."""

    name = "self_certainty_step"
    default_agg = "mean"

    async def rate(self, ctx: CallContext, text: str, steps: list[Step], wanted: list[int],
                   completion: Completion | None) -> tuple[dict[int, float | None], str]:
        first = steps[wanted[0]].start if wanted else 0
        values, source = await token_values(ctx, text, self.attr, completion, first)
        means = step_means(values, steps)
        return {i: means[i] for i in wanted}, source


@scorers.register("self_certainty")
class SelfCertainty(_TokenScorer):
    """The whole solution: its tokens' mean self-certainty (Kang et al. 2025)."""

    name = "self_certainty"
    kind = "outcome"


@scorers.register("mean_logprob")
class MeanLogprob(_TokenScorer):
    """The whole solution: its tokens' mean logprob."""

    name = "mean_logprob"
    kind = "outcome"
    attr = "logprob"
