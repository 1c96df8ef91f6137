"""Confidence signals for whole answers, one number per completion.

Self-certainty and entropy need the full next-token distribution, which only the ``local``
backend has (it fills ``TokenLogprob.entropy`` and ``kl_from_uniform`` during generation).
From a server that returns top-k logprobs they are *unavailable*: these functions return a
:class:`Signal` with ``value=None`` and the reason, and never approximate from the top-k.

Example:
    >>> from mistakelab.core.types import Completion, TokenLogprob
    >>> c = Completion(text="4", logprobs=[TokenLogprob(token="4", logprob=-0.1, entropy=0.3, kl_from_uniform=9.0)])
    >>> self_certainty(c).value, mean_logprob(c).value
    (9.0, -0.1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mistakelab.core.types import Completion


@dataclass(frozen=True)
class Signal:
    name: str
    value: float | None
    reason: str = ""  # why the value is missing

    @property
    def available(self) -> bool:
        return self.value is not None


def _per_token(c: Completion, attr: str, name: str) -> Signal:
    if not c.logprobs:
        return Signal(name, None, "no per-token data (ask for logprobs=True)")
    vals = [getattr(t, attr) for t in c.logprobs]
    if any(v is None for v in vals):
        return Signal(name, None, "needs the full next-token distribution; this backend gives top-k only")
    return Signal(name, sum(vals) / len(vals))


def self_certainty(c: Completion) -> Signal:
    """Mean KL(U || p_i) over generated tokens (Kang et al. 2025); higher = more certain.

    KL(U || p) = -log V - mean_j log p(j) weighs every token of the vocabulary equally, so it
    is not a function of the entropy (KL(p || U) = log V - H(p) would be).
    """
    return _per_token(c, "kl_from_uniform", "self_certainty")


def mean_entropy(c: Completion) -> Signal:
    """Mean entropy of the next-token distribution; lower = more certain."""
    return _per_token(c, "entropy", "mean_entropy")


def mean_logprob(c: Completion) -> Signal:
    """Mean log-probability of the sampled tokens (exact from any backend with logprobs)."""
    return _per_token(c, "logprob", "mean_logprob")


def agreement(answers: list[str | None], key: Callable[[str], str] = lambda a: a) -> list[Signal]:
    """Internal consistency: for each sample, the share of samples with an equivalent answer.

    Example:
        >>> [s.value for s in agreement(["3", "3", "4", None])]
        [0.5, 0.5, 0.25, 0.0]
    """
    keys = [key(a) if a is not None else None for a in answers]
    n = len(keys)
    return [Signal("agreement", 0.0 if k is None else sum(1 for x in keys if x == k) / n) for k in keys]


SIGNALS: dict[str, Callable[[Completion], Signal]] = {
    "self_certainty": self_certainty,
    "neg_entropy": lambda c: _negate(mean_entropy(c)),
    "mean_logprob": mean_logprob,
}


def _negate(s: Signal) -> Signal:
    """Entropy is low when confident; negate it so every signal ranks 'higher = surer'."""
    return Signal("neg_entropy", None if s.value is None else -s.value, s.reason)
