"""Metrics: intervals, paired comparisons and per-strategy summaries."""

from mistakelab.metrics.rounds import cumulative_accuracy, revision_metrics, turns_to_success, unique_answer_ratio
from mistakelab.metrics.selfcorrect import SelfCorrection, bootstrap_ci, self_correction
from mistakelab.metrics.stats import PairedDiff, mean_interval, paired_difference, wilson_interval
from mistakelab.metrics.summary import StrategySummary, summarize

__all__ = [
    "PairedDiff",
    "SelfCorrection",
    "StrategySummary",
    "bootstrap_ci",
    "cumulative_accuracy",
    "mean_interval",
    "paired_difference",
    "revision_metrics",
    "self_correction",
    "summarize",
    "turns_to_success",
    "unique_answer_ratio",
    "wilson_interval",
]
