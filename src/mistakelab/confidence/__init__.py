"""Confidence signals for whole answers."""

from mistakelab.confidence.signals import (
    SIGNALS,
    Signal,
    agreement,
    mean_entropy,
    mean_logprob,
    self_certainty,
)

__all__ = ["SIGNALS", "Signal", "agreement", "mean_entropy", "mean_logprob", "self_certainty"]
