"""Confidence signals for whole answers, and local (sliding-window) confidence of a text."""

from mistakelab.confidence.groups import (
    LowConfidenceStop,
    TraceScore,
    group_confidences,
    low_confidence_end,
    token_confidence,
    token_confidences,
    trace_score,
)
from mistakelab.confidence.signals import (
    SIGNALS,
    Signal,
    agreement,
    mean_entropy,
    mean_logprob,
    self_certainty,
)
from mistakelab.confidence.verdict import critic_verdict, verdict_from_logprobs

__all__ = ["LowConfidenceStop", "SIGNALS", "Signal", "TraceScore", "agreement", "critic_verdict", "group_confidences",
           "low_confidence_end", "mean_entropy",
           "mean_logprob", "self_certainty", "token_confidence", "token_confidences", "trace_score",
           "verdict_from_logprobs"]
