"""Confidence signals for whole answers."""

from mistakelab.confidence.signals import (
    SIGNALS,
    Signal,
    agreement,
    mean_entropy,
    mean_logprob,
    self_certainty,
)
from mistakelab.confidence.verdict import critic_verdict, verdict_from_logprobs

__all__ = ["SIGNALS", "Signal", "agreement", "critic_verdict", "mean_entropy", "mean_logprob", "self_certainty",
           "verdict_from_logprobs"]
