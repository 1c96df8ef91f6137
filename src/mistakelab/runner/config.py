"""Experiment configuration: typed (pydantic), loaded from TOML, overridable by CLI flags.

Example:
    >>> cfg = ExperimentConfig.model_validate({
    ...     "models": [{"backend": "scripted", "model": "fake", "options": {"outputs": ["4"]}}],
    ...     "tasks": [{"name": "gsm8k_sample"}],
    ...     "strategies": [{"name": "cot"}]})
    >>> cfg.run_id().startswith("experiment-")
    True
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mistakelab.backends.base import ModelSpec
from mistakelab.backends.servers import is_pool
from mistakelab.core.types import GenParams
from mistakelab.strategies.base import StrategySpec
from mistakelab.tasks.base import TaskSpec


class ConfigError(ValueError):
    """A config file or flag that does not validate; the message names file and field."""


class GenerationConfig(BaseModel):
    """Default sampling parameters; strategies may override some per call."""

    model_config = ConfigDict(extra="forbid")
    temperature: float = Field(default=0.0, ge=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    top_k: int = Field(default=0, ge=0)
    max_tokens: int = Field(default=512, ge=1)
    stop: list[str] = Field(default_factory=list)

    def params(self) -> GenParams:
        return GenParams(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k,
                         max_tokens=self.max_tokens, stop=tuple(self.stop))


class ExecutionConfig(BaseModel):
    """Where the units run (``[execution]``): ``engine = "local"`` (asyncio in this process)
    or ``"ray"`` (Ray actors, see :mod:`mistakelab.runner.ray_executor`). How a run executes
    is no part of its identity: a run started locally resumes on Ray and back."""

    model_config = ConfigDict(extra="forbid")
    engine: Literal["local", "ray"] = "local"
    #: the Ray cluster: "auto", "ray://host:10001", "host:6379"; unset: $RAY_ADDRESS, else a
    #: cluster already running on this machine, else a new local one
    address: str | None = None
    #: worker actors; unset: one per CPU of the cluster
    workers: int | None = Field(default=None, ge=1)
    #: GPUs each worker holds (a worker that starts its own vLLM engine)
    worker_gpus: float = Field(default=0.0, ge=0)


class ExperimentConfig(BaseModel):
    """model(s) × task(s) × strategies × problem count × seed."""

    model_config = ConfigDict(extra="forbid")
    name: str = "experiment"
    seed: int = 0
    n_problems: int = Field(default=10, ge=1)
    concurrency: int = Field(default=8, ge=1)
    store: str = "runs/mistakelab.db"
    models: list[ModelSpec] = Field(min_length=1)
    tasks: list[TaskSpec] = Field(min_length=1)
    strategies: list[StrategySpec] = Field(min_length=1)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    #: prompt overrides by ``"<strategy>.<prompt>"`` (``"self_refine.critique"``)
    prompts: dict[str, str] = Field(default_factory=dict)
    #: default model per role for every strategy that uses the role (``[roles.critic]``); a
    #: strategy's own ``critic = ...`` wins. A string names a ``[[models]]`` label or a model
    #: of the solver's backend.
    roles: dict[str, ModelSpec | str] = Field(default_factory=dict)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)

    def identity(self) -> dict[str, Any]:
        """The fields that define the experiment's results (not where or how fast it runs)."""
        data = self.model_dump(mode="json", by_alias=True)
        for k in ("store", "concurrency", "name", "execution"):
            data.pop(k)
        for m in data["models"]:  # a pool's servers serve the same model: where, not what
            if is_pool(m["options"].get("base_url")):
                for k in ("base_url", "max_concurrency", "probe_backoff", "max_probe_backoff"):
                    m["options"].pop(k, None)
        return data

    def run_id(self) -> str:
        """Same config → same id, so re-running the same command resumes the same run."""
        digest = hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()
        return f"{self.name}-{digest[:8]}"


def _format_validation(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  field {loc}: {err['msg']}")
    return "\n".join(lines)


def parse_config(data: dict[str, Any], source: str = "<config>") -> ExperimentConfig:
    """Validate a config mapping; errors name the source and each failing field."""
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, source)) from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Load a TOML experiment file, then apply ``overrides`` (top-level keys)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already carries "(at line N, column M)".
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return parse_config(data, str(path))
