"""Plan a run before any model call: resolve strategies, role models, prompts, capabilities.

Everything a user can get wrong in a config is found here, so a run never fails half-way on
a typo: unknown task, strategy, backend or model, bad parameters, a prompt override no
strategy has, a capability a strategy needs and its model's backend lacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from mistakelab.backends.base import ModelSpec, check_spec, spec_capabilities
from mistakelab.context import SOLVER
from mistakelab.core.registry import UnknownNameError
from mistakelab.runner.config import ConfigError, ExperimentConfig
from mistakelab.strategies.base import StrategyDef, StrategySpec


@dataclass
class PlannedStrategy:
    spec: StrategySpec
    sdef: StrategyDef
    params: BaseModel
    prompts: dict[str, str]
    role_specs: dict[str, Any] = field(default_factory=dict)  # role -> model ref (unresolved)

    @property
    def label(self) -> str:
        return self.spec.label

    def depth(self) -> int:
        """The longest run of sequential calls of one unit (scheduling: deep units start first)."""
        return self.sdef.depth(self.params) if self.sdef.depth else 1


def model_key(spec: ModelSpec) -> str:
    """One backend (and caller) per distinct spec."""
    return json.dumps({"backend": spec.backend, "model": spec.model, "options": spec.options}, sort_keys=True,
                      default=str)


def resolve_role_model(ref: Any, solver: ModelSpec, cfg: ExperimentConfig) -> ModelSpec:
    """A role's model: a model table, a ``[[models]]`` label, or a model name served by the
    solver's backend (same options)."""
    if isinstance(ref, ModelSpec):
        return ref
    if isinstance(ref, dict):
        try:
            return ModelSpec.model_validate(ref)
        except ValidationError as exc:
            raise ConfigError(f"role model {ref!r}: {exc.errors()[0]['msg']}") from None
    name = str(ref)
    for m in cfg.models:
        if m.label == name:
            return m
    return solver.model_copy(update={"model": name, "name": None})


def plan_strategies(cfg: ExperimentConfig) -> dict[str, PlannedStrategy]:
    """Validate every strategy of ``cfg`` and its prompts; by label."""
    planned: dict[str, PlannedStrategy] = {}
    for s in cfg.strategies:
        try:
            sdef, params = s.resolve()
        except UnknownNameError as exc:
            raise ConfigError(str(exc)) from None
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if s.label in planned:
            raise ConfigError(f"strategy {s.label!r} appears twice; give one a label")
        roles = {**{r: v for r, v in cfg.roles.items() if r in sdef.roles}, **s.role_models()}
        prompts = dict(sdef.prompts)
        planned[s.label] = PlannedStrategy(s, sdef, params, prompts, roles)
    _apply_prompt_overrides(cfg, planned)
    return planned


def _apply_prompt_overrides(cfg: ExperimentConfig, planned: dict[str, PlannedStrategy]) -> None:
    by_name: dict[str, list[PlannedStrategy]] = {}
    for p in planned.values():
        by_name.setdefault(p.sdef.name, []).append(p)
    for key, text in cfg.prompts.items():
        name, dot, prompt = key.partition(".")
        targets = by_name.get(name, [])
        if not dot or not targets or prompt not in targets[0].sdef.prompts:
            known = sorted(f"{p.sdef.name}.{n}" for ps in by_name.values() for p in ps[:1] for n in p.sdef.prompts)
            raise ConfigError(f"prompts.{key}: no strategy of this run has that prompt; known: "
                              f"{', '.join(known) or '(none)'}")
        for p in targets:
            p.prompts[prompt] = text


def check_models(cfg: ExperimentConfig, planned: dict[str, PlannedStrategy],
                 check_specs: bool = True) -> dict[str, dict[str, ModelSpec]]:
    """For every (solver label, strategy label): role -> model spec, each checked (unless
    ``check_specs`` is False: the caller builds its own backends), with the capabilities each
    strategy needs of each role present. Raises :class:`ConfigError`."""
    out: dict[str, dict[str, ModelSpec]] = {}
    _check = _check_spec if check_specs else (lambda spec, what: None)
    for solver in cfg.models:
        _check(solver, f"model {solver.label!r}")
        for label, p in planned.items():
            roles = {SOLVER: solver}
            for role, ref in p.role_specs.items():
                spec = resolve_role_model(ref, solver, cfg)
                _check(spec, f"strategy {label!r}: {role} model {spec.label!r}")
                roles[role] = spec
            for role, caps in p.sdef.capabilities_needed(p.params).items():
                spec = roles.get(role, solver)
                missing = sorted(caps - spec_capabilities(spec))
                if missing:
                    raise ConfigError(
                        f"strategy {label!r} needs capability {', '.join(map(repr, missing))} of its {role} "
                        f"model {spec.label!r} ({spec.backend} backend), which does not declare it"
                        + _hint(spec, missing))
            out[f"{solver.label}|{label}"] = roles
    return out


def _check_spec(spec: ModelSpec, what: str) -> None:
    try:
        check_spec(spec)
    except UnknownNameError as exc:
        raise ConfigError(f"{what}: {exc}") from None
    except (ValueError, LookupError) as exc:
        raise ConfigError(f"{what}: {exc}") from None


def _hint(spec: ModelSpec, missing: list[str]) -> str:
    if spec.backend == "openai" and "continue" in missing:
        return ("; set the model's options.continuation to the server's way of continuing a message "
                "(see the README: vLLM/SGLang or a llama.cpp server)")
    return ""
