"""Local confidence of a generated text from its top-k logprobs (DeepConf, 2025; METHODS §2.13).

- token confidence ``C_i = -(1/k) * sum_j log P_i(j)`` over the k most likely candidates at
  position i (high: a peaked distribution); the sampled token's own logprob is not used;
- group confidence: the mean of ``C_i`` over a sliding window of ``window`` tokens (one group
  per full window; a text shorter than the window is one group);
- a trace's score: ``lowest`` (its lowest group), ``bottom10`` (the mean of its lowest 10% of
  groups, at least one), ``tail`` (the mean over its last ``window`` tokens), ``mean`` (over
  all tokens).

Example:
    >>> from mistakelab.core import TokenLogprob
    >>> token_confidence(TokenLogprob(token="a", logprob=-0.1, top=[("a", -0.1), ("b", -2.3)]))
    1.2
    >>> group_confidences([1.0, 3.0, 5.0, 7.0], window=2)
    [2.0, 4.0, 6.0]
    >>> trace_score([1.0, 3.0, 5.0, 7.0], window=2, score="lowest"), trace_score([1.0, 3.0, 5.0, 7.0], 2, "tail")
    (2.0, 6.0)
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

from mistakelab.core.stopping import LowConfidenceStop, low_confidence_end, token_confidence
from mistakelab.core.types import TokenLogprob

TraceScore = Literal["lowest", "bottom10", "tail", "mean"]
__all__ = ["LowConfidenceStop", "TraceScore", "group_confidences", "low_confidence_end", "token_confidence",
           "token_confidences", "trace_score"]


def token_confidences(logprobs: Sequence[TokenLogprob] | None, k: int | None = None) -> list[float] | None:
    """Token confidence of every position; None if any position lacks its top candidates.

    Example:
        >>> token_confidences([TokenLogprob(token="a", logprob=-1.0)]) is None
        True
    """
    out = [token_confidence(lp, k) for lp in logprobs or []]
    return None if any(c is None for c in out) else out  # type: ignore[return-value]


def group_confidences(conf: Sequence[float], window: int) -> list[float]:
    """Mean confidence of each full window of ``window`` consecutive tokens, in order (one
    group over all tokens when there are fewer; none for no tokens)."""
    if not conf:
        return []
    if len(conf) <= window:
        return [sum(conf) / len(conf)]
    out, total = [], sum(conf[:window])
    out.append(total / window)
    for i in range(window, len(conf)):
        total += conf[i] - conf[i - window]
        out.append(total / window)
    return out


def trace_score(conf: Sequence[float], window: int, score: TraceScore = "lowest") -> float | None:
    """One trace's score from its token confidences (module docstring); None for no tokens.

    Example:
        >>> trace_score([float(v) for v in range(1, 21)], window=1, score="bottom10")
        1.5
    """
    if not conf:
        return None
    if score == "mean":
        return sum(conf) / len(conf)
    if score == "tail":
        tail = conf[-window:]
        return sum(tail) / len(tail)
    groups = group_confidences(conf, window)
    if score == "lowest":
        return min(groups)
    low = sorted(groups)[: max(1, math.ceil(0.1 * len(groups)))]
    return sum(low) / len(low)

