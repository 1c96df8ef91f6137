"""Experiment configuration and the resumable runner."""

from mistakelab.runner.config import (
    ConfigError,
    ExperimentConfig,
    GenerationConfig,
    load_config,
    parse_config,
)
from mistakelab.runner.gateway import CallStats, ModelCaller
from mistakelab.runner.results import build_result
from mistakelab.runner.run import RunSummary, cache_identity, run_experiment, unit_key

__all__ = [
    "CallStats",
    "ConfigError",
    "ExperimentConfig",
    "GenerationConfig",
    "ModelCaller",
    "RunSummary",
    "build_result",
    "cache_identity",
    "load_config",
    "parse_config",
    "run_experiment",
    "unit_key",
]
