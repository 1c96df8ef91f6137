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
_OPTIONS = {"n_seq", "n_ctx_per_seq", "n_threads", "n_batch", "n_ubatch", "kv_unified", "flash_attn",
            "prefix_cache", "lora", "lora_scale"}
_IGNORED = {"cache_tag"}  # the caller's (a separate cache identity), not the engine's
_CONVERT = {"prefix_cache": bool, "kv_unified": bool, "flash_attn": bool, "lora": lambda v: str(Path(v).expanduser().resolve()), "lora_scale": float}


def settings_from_options(options: dict[str, Any]) -> EngineSettings:
    """Engine settings from ``ModelSpec.options`` (unknown keys are an error).

    Example:
        >>> settings_from_options({"n_seq": 4}).n_seq
        4
    """
    unknown = set(options) - _OPTIONS - _IGNORED
    if unknown:
        raise ValueError(
            f"unknown local backend option(s) {sorted(unknown)}; known: {sorted(_OPTIONS | _IGNORED)}")
    return EngineSettings(**{k: _CONVERT.get(k, int)(v) for k, v in options.items() if k in _OPTIONS})


def resolved_settings(model: str, options: dict[str, Any]) -> tuple[EngineSettings, str]:
    """The engine settings a ``local`` spec runs with, and where ``n_seq``/``n_ctx_per_seq``
    came from: the spec, this machine's cached tuning (``mistakelab models --tune``) for what
    the spec leaves out, or the defaults.

    Example:
        >>> s, source = resolved_settings("smollm2-135m", {"n_seq": 4, "n_ctx_per_seq": 1024})
        >>> (s.n_seq, s.n_ctx_per_seq, source)
        (4, 1024, 'spec')
    """
    settings = settings_from_options(options)
    missing = {"n_seq", "n_ctx_per_seq"} - set(options)
    if not missing:
        return settings, "spec"
    from dataclasses import replace

    from mistakelab.backends.local.tune import tuned_settings
    from mistakelab.models import ModelError, file_sha256, resolve_model

    try:
        tuning = tuned_settings(file_sha256(resolve_model(model)))
    except (ModelError, OSError, ValueError):
        tuning = None
    if tuning is None:
        return settings, "defaults" if missing == {"n_seq", "n_ctx_per_seq"} else "spec + defaults"
    return replace(settings, **{k: getattr(tuning, k) for k in missing}), "tuned on this machine"


def describe_settings(s: EngineSettings) -> str:
    """One line: what the engine runs with.

    Example:
        >>> describe_settings(EngineSettings(n_seq=32, n_threads=2))
        'n_seq 32, n_ctx_per_seq 2048, KV one stream per sequence, flash attention on, prefix cache on, 2 threads'
    """
    return (f"n_seq {s.n_seq}, n_ctx_per_seq {s.n_ctx_per_seq}, KV "
            f"{'unified' if s.kv_unified else 'one stream per sequence'}, flash attention "
            f"{'on' if s.flash_attn else 'off'}, prefix cache {'on' if s.prefix_cache else 'off'}, "
            f"{s.n_threads} threads" + (f", LoRA {s.lora}" if s.lora else ""))


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

__all__ = ["LOCAL_CAPABILITIES", "adapter_identity", "describe_settings", "resolved_settings",
           "settings_from_options"]
