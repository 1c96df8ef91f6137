"""Stopping a generation early on low local confidence (DeepConf's online stop, METHODS §2.13).

The rule lives here, below the backends, so that every backend applies the same one: the
local engine stops generating at the token, a streamed server request is cancelled there,
and :func:`cut_at_low_confidence` cuts any other backend's finished completion at the same
token. :mod:`mistakelab.confidence.groups` builds the trace scores on the same token
confidence.

Example:
    >>> from mistakelab.core.types import Completion, ConfidenceStop, GenParams
    >>> def rule(threshold):
    ...     stop = ConfidenceStop(window=2, threshold=threshold, top_k=1)
    ...     return GenParams(logprobs=True, top_logprobs=1, confidence_stop=stop)
    >>> lps = [TokenLogprob(token=t, logprob=0.0, top=[(t, -c)]) for t, c in zip("abcd", (3.0, 3.0, 1.0, 1.0))]
    >>> c = Completion(text="abcd", completion_tokens=4, logprobs=lps)
    >>> cut_at_low_confidence(c, rule(1.5)) == c  # fires on the last token
    True
    >>> cut = cut_at_low_confidence(c, rule(2.5))
    >>> cut.text, cut.finish_reason, cut.completion_tokens
    ('abc', 'low_confidence', 3)
"""

from __future__ import annotations

from typing import Sequence

from mistakelab.core.types import Completion, GenParams, TokenLogprob


def token_confidence(lp: TokenLogprob, k: int | None = None) -> float | None:
    """``-mean`` of the top-``k`` candidates' logprobs at one position (all given when
    ``k`` is None); None when the backend returned no candidates.

    Example:
        >>> token_confidence(TokenLogprob(token="a", logprob=-0.1, top=[("a", -0.1), ("b", -2.3)]))
        1.2
    """
    top = lp.top[:k] if k else lp.top
    if not top:
        return None
    return -sum(v for _, v in top) / len(top)


class LowConfidenceStop:
    """DeepConf's online stop, one token at a time: :meth:`push` is True at the first token
    that completes a window of ``window`` tokens whose mean confidence (the group confidence
    of :func:`group_confidences`, computed the same way) is under ``threshold``. A token
    without top candidates counts as no stop here; the caller finds it missing.

    Example:
        >>> watch = LowConfidenceStop(window=2, threshold=1.5, k=1)
        >>> [watch.push(TokenLogprob(token="t", logprob=0.0, top=[("t", -c)])) for c in (3.0, 3.0, 1.0, 1.0)]
        [False, False, False, True]
        >>> low_confidence_end([3.0, 3.0, 1.0, 1.0, 5.0], window=2, threshold=1.5)
        4
    """

    def __init__(self, window: int, threshold: float, k: int | None = None) -> None:
        self.window, self.threshold, self.k = window, threshold, k
        self.conf: list[float] = []
        self.total = 0.0

    def push(self, lp: TokenLogprob) -> bool:
        c = token_confidence(lp, self.k)
        return False if c is None else self.push_confidence(c)

    def push_confidence(self, c: float) -> bool:
        n = len(self.conf)
        self.conf.append(c)
        self.total += c if n < self.window else c - self.conf[n - self.window]
        return n + 1 >= self.window and self.total / self.window < self.threshold


def low_confidence_end(conf: Sequence[float], window: int, threshold: float) -> int | None:
    """How many tokens :class:`LowConfidenceStop` lets through (the stopping token included);
    None when no full window falls under ``threshold``."""
    watch = LowConfidenceStop(window, threshold)
    return next((i + 1 for i, c in enumerate(conf) if watch.push_confidence(c)), None)




def watch_of(params: GenParams) -> LowConfidenceStop | None:
    """The stop rule a request asks for (``GenParams.confidence_stop``), fresh, or None."""
    rule = params.confidence_stop
    return None if rule is None else LowConfidenceStop(rule.window, rule.threshold, rule.top_k)


def cut_at_low_confidence(c: Completion, params: GenParams) -> Completion:
    """Apply ``params.confidence_stop`` to a finished completion: its text ends with the token
    at which the rule stops (finish reason ``low_confidence``). A backend that stopped there
    itself gives a completion this leaves as it is; so does a rule that never fires, or one
    that fires on the last token (the text ended there anyway), or token strings that do not
    spell the text's start (the cut point is then unknown)."""
    watch = watch_of(params)
    if watch is None or not c.ok or not c.logprobs:
        return c
    end = next((i + 1 for i, lp in enumerate(c.logprobs) if watch.push(lp)), None)
    if end is None or end >= len(c.logprobs):
        return c
    prefix = "".join(lp.token for lp in c.logprobs[:end])
    if not c.text.startswith(prefix):
        return c
    return c.model_copy(update={"text": prefix, "finish_reason": "low_confidence", "completion_tokens": end,
                                "logprobs": c.logprobs[:end]})
