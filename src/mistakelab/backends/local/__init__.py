"""In-process llama.cpp backend (needs the ``local`` extra: llama-cpp-python).

This package registers the ``local`` backend without importing llama.cpp: the engine is
imported when a backend is built, so listing backends or checking a config stays cheap.
Import :mod:`mistakelab.backends.local.backend` for :class:`LocalBackend` itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mistakelab.backends.base import (
    CONTINUE,
    FULL_DISTRIBUTION,
    MULTI_SAMPLE,
    SCORE,
    TOP_LOGPROBS,
    BackendFactory,
    ModelSpec,
    backends,
)
from mistakelab.backends.local.state import EngineSettings

#: What the local engine can do, whatever its options.
LOCAL_CAPABILITIES = frozenset({CONTINUE, FULL_DISTRIBUTION, MULTI_SAMPLE, SCORE, TOP_LOGPROBS})
_OPTIONS = {"n_seq", "n_ctx_per_seq", "n_threads", "n_batch", "prefix_cache", "lora", "lora_scale"}
_CONVERT = {"prefix_cache": bool, "lora": lambda v: str(Path(v).expanduser().resolve()), "lora_scale": float}


def settings_from_options(options: dict[str, Any]) -> EngineSettings:
    """Engine settings from ``ModelSpec.options`` (unknown keys are an error).

    Example:
        >>> settings_from_options({"n_seq": 4}).n_seq
        4
    """
    unknown = set(options) - _OPTIONS
    if unknown:
        raise ValueError(
            f"unknown local backend option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}")
    return EngineSettings(**{k: _CONVERT.get(k, int)(v) for k, v in options.items()})


def adapter_identity(options: dict[str, Any]) -> str:
    """The part of a model's cache identity its LoRA adapter adds: the file's content hash,
    so a retrained adapter at the same path never gets the old adapter's cached completions.

    Example:
        >>> adapter_identity({"n_seq": 4})
        ''
    """
    if not options.get("lora"):
        return ""
    from mistakelab.models import file_sha256

    return f"+lora:{file_sha256(Path(options['lora']).expanduser())[:16]}*{float(options.get('lora_scale', 1.0))}"


def _check(spec: ModelSpec) -> None:
    from mistakelab.models import check_model_name

    settings = settings_from_options(spec.options)
    check_model_name(spec.model)
    if settings.lora is not None and not Path(settings.lora).is_file():
        raise ValueError(f"option lora: no adapter file at {settings.lora}")


def _create(spec: ModelSpec) -> Any:
    from mistakelab.backends.local.backend import from_spec

    return from_spec(spec)


backends.register("local", BackendFactory(_create, lambda spec: LOCAL_CAPABILITIES, _check,
                                          identity=lambda spec: adapter_identity(spec.options)))

__all__ = ["LOCAL_CAPABILITIES", "adapter_identity", "settings_from_options"]
