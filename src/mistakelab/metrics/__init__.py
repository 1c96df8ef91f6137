"""Metrics: intervals, paired comparisons and per-strategy summaries."""

from mistakelab.metrics.stats import PairedDiff, mean_interval, paired_difference, wilson_interval
from mistakelab.metrics.summary import StrategySummary, summarize

__all__ = [
    "PairedDiff",
    "StrategySummary",
    "mean_interval",
    "paired_difference",
    "summarize",
    "wilson_interval",
]
