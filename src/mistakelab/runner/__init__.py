"""Experiment configuration, the plan, and the resumable runner."""

from mistakelab.context.results import build_result, failed_result
from mistakelab.runner.config import (
    ConfigError,
    ExperimentConfig,
    GenerationConfig,
    load_config,
    parse_config,
)
from mistakelab.runner.caller import CallStats, ModelCaller, UnitGateway, cache_identity
from mistakelab.runner.plan import PlannedStrategy, plan_strategies
from mistakelab.runner.execute import Unit, execute_locator, execute_unit
from mistakelab.runner.run import RunSummary, parse_shard, run_experiment, unit_key
from mistakelab.runner.solve import solve

__all__ = [
    "CallStats",
    "ConfigError",
    "ExperimentConfig",
    "GenerationConfig",
    "ModelCaller",
    "PlannedStrategy",
    "RunSummary",
    "Unit",
    "UnitGateway",
    "build_result",
    "cache_identity",
    "execute_locator",
    "execute_unit",
    "failed_result",
    "load_config",
    "parse_config",
    "parse_shard",
    "plan_strategies",
    "run_experiment",
    "solve",
    "unit_key",
]
