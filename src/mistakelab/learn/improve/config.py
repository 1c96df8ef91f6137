"""The loop's configuration (``mistakelab improve CONFIG.toml``): typed, from TOML, flags override.

Example:
    >>> cfg = ImproveConfig.model_validate({
    ...     "model": {"backend": "local", "model": "qwen2.5-coder-0.5b"},
    ...     "train": {"tasks": [{"name": "gsm_symbolic", "n": 150, "seed": 1}]},
    ...     "eval": {"tasks": [{"name": "gsm_symbolic", "n": 100, "seed": 2}]},
    ...     "recipes": ["rft", "correction:weight=0.5"]})
    >>> cfg.train.strategy.label, [s.label for s in cfg.eval.strategies], cfg.trainer
    ('self_consistency(k=4)', ['cot', 'self_consistency(k=4)'], 'sft')
    >>> cfg.loop_id().startswith("improve-")
    True
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mistakelab.backends.base import ModelSpec
from mistakelab.core.specs import parse_named
from mistakelab.learn.recipes import RecipeSpec, recipes, trainer_of
from mistakelab.learn.recipes.base import Trainer
from mistakelab.strategies.base import StrategySpec
from mistakelab.tasks.base import TaskSpec


class LoopConfigError(ValueError):
    """A loop config or flag that does not validate; the message names the file and field."""


def _strategy(v: Any) -> Any:
    return parse_named(v) if isinstance(v, str) else v


class Split(BaseModel):
    """Problems of one side (train or eval): tasks, default count and seed."""

    model_config = ConfigDict(extra="forbid")
    tasks: list[TaskSpec] = Field(min_length=1)
    n_problems: int = Field(default=10, ge=1)  # per task without its own n
    seed: int = 0  # of the problems, per task without its own seed
    temperature: float = Field(default=0.0, ge=0)
    max_tokens: int = Field(default=512, ge=1)

    @field_validator("tasks", mode="before")
    @classmethod
    def _tasks(cls, v: Any) -> Any:
        return [parse_named(t) if isinstance(t, str) else t for t in v] if isinstance(v, list) else v


class TrainSide(Split):
    """The train problems and how a round samples them from the current model."""

    strategy: StrategySpec = Field(default_factory=lambda: StrategySpec(name="self_consistency", k=4))
    temperature: float = Field(default=0.7, ge=0)

    @field_validator("strategy", mode="before")
    @classmethod
    def _named(cls, v: Any) -> Any:
        return _strategy(v)


class EvalSide(Split):
    """The held-out problems and the strategies each round is measured with."""

    seed: int = 1
    strategies: list[StrategySpec] = Field(
        default_factory=lambda: [StrategySpec(name="cot"), StrategySpec(name="self_consistency", k=4)], min_length=1)

    @field_validator("strategies", mode="before")
    @classmethod
    def _strategies(cls, v: Any) -> Any:
        return [_strategy(s) for s in v] if isinstance(v, list) else v


class Training(BaseModel):
    """LoRA training of each round (:class:`mistakelab.learn.train.TrainSettings`)."""

    model_config = ConfigDict(extra="forbid")
    steps: int | None = Field(default=60, ge=1)  # optimizer steps per round (epochs, when given, win)
    epochs: float | None = Field(default=None, gt=0)
    #: train on about this many tokens per round instead (steps from the rows' mean length):
    #: recipes compared at an equal number of training tokens
    tokens: int | None = Field(default=None, ge=1)
    max_length: int = Field(default=1024, ge=16)
    batch_size: int = Field(default=1, ge=1)
    grad_accum: int = Field(default=1, ge=1)
    learning_rate: float | None = None
    rank: int = Field(default=8, ge=1)
    alpha: float = 16.0
    save_steps: int = Field(default=10, ge=1)
    threads: int | None = Field(default=None, ge=1)
    base: str | None = None  # the model trained (default: the loop's model; an embedded name or .gguf)

    def steps_for(self, rows: int) -> int:
        """Optimizer steps for a dataset of ``rows`` rows.

        Example:
            >>> Training(epochs=2, grad_accum=4).steps_for(10), Training(steps=7).steps_for(10)
            (5, 7)
        """
        if self.epochs is None:
            return self.steps or 1
        return max(1, math.ceil(self.epochs * rows / (self.batch_size * self.grad_accum)))


class ImproveConfig(BaseModel):
    """Rounds of (solve train -> recipe data -> train LoRA -> eval), from the base model on."""

    model_config = ConfigDict(extra="forbid")
    name: str = "improve"
    store: str = "runs/mistakelab.db"
    out: str = "runs/improve"  # datasets and adapters go to <out>/<loop id>/round-<r>/
    rounds: int = Field(default=2, ge=1)
    #: true: every round trains the base model on all data so far (ReST-EM, STaR); false: it
    #: trains the last round's adapter on this round's data
    restart: bool = True
    seed: int = 0  # sampling seeds and the recipes' weights
    concurrency: int = Field(default=8, ge=1)
    model: ModelSpec
    train: TrainSide
    eval: EvalSide
    recipes: list[RecipeSpec] = Field(default_factory=lambda: [RecipeSpec(name="rft")], min_length=1)
    training: Training = Field(default_factory=Training)
    #: models by role: ``teacher`` for the ``gkd`` recipe (an embedded name, .gguf or model folder)
    roles: dict[str, str] = Field(default_factory=dict)
    #: stop this invocation after this many seconds (a stage stops where it is, training with a
    #: checkpoint); the same command continues
    time_limit: float | None = Field(default=None, gt=0)

    @field_validator("recipes", mode="before")
    @classmethod
    def _recipes(cls, v: Any) -> Any:
        return [RecipeSpec.parse_text(r) if isinstance(r, str) else r for r in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _check(self) -> "ImproveConfig":
        for spec in self.recipes:
            spec.resolve()  # unknown recipe or bad options: a ValueError names it
        if self.model.backend not in ("local", "scripted"):
            raise ValueError(f"model.backend {self.model.backend!r}: the loop trains and evaluates on the embedded "
                             "engine (backend local); serve the final adapter elsewhere afterwards")
        kind = trainer_of(self.recipes)
        if kind == "gkd" and "teacher" not in self.roles:
            raise ValueError("recipe gkd needs a teacher: [roles] teacher = \"<model>\"")
        self.train.strategy.resolve()
        for s in self.eval.strategies:
            s.resolve()
        return self

    @property
    def trainer(self) -> Trainer:
        return trainer_of(self.recipes)

    @property
    def oracle_built(self) -> bool:
        """Whether any recipe showed the gold answer to the model while writing data."""
        return any(recipes.get(r.name).oracle_built for r in self.recipes)

    def identity(self) -> dict[str, Any]:
        """The fields that define the loop's results (not where it writes or how fast)."""
        data = self.model_dump(mode="json", by_alias=True)
        for k in ("store", "out", "concurrency", "name", "time_limit"):
            data.pop(k)
        data["training"].pop("threads")
        if data["training"].get("tokens") is None:  # added later: loops started before keep their id
            data["training"].pop("tokens")
        return data

    def loop_id(self) -> str:
        """Same config -> same id, so the same command continues the same loop."""
        digest = hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()
        return f"{self.name}-{digest[:8]}"


def parse_loop_config(data: dict[str, Any], source: str = "<config>") -> ImproveConfig:
    """Validate a loop config mapping; errors name the source and each failing field."""
    try:
        return ImproveConfig.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: invalid loop configuration"]
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
            lines.append(f"  field {loc}: {e['msg']}")
        raise LoopConfigError("\n".join(lines)) from None


def load_loop_config(path: str | Path, overrides: dict[str, Any] | None = None) -> ImproveConfig:
    """A TOML loop config with ``overrides`` applied: dotted keys (``training.steps``) set one
    field of a table, plain keys a top-level field."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LoopConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise LoopConfigError(f"{path}: not valid TOML: {exc}") from None
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        *tables, leaf = key.split(".")
        d = data
        for t in tables:
            d = d.setdefault(t, {})
        d[leaf] = value
    return parse_loop_config(data, str(path))
