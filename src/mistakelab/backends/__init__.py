"""Model backends: ``scripted`` (tests), ``openai`` (any compatible server, or a pool of them),
``local`` (llama.cpp), ``vllm`` (an in-process vLLM engine, on GPU nodes).

Importing this package registers all four; ``local`` and ``vllm`` import their engine only
when a backend is built.
"""

from mistakelab.backends import local as _local  # noqa: F401  (registers)
from mistakelab.backends import openai_backend as _openai  # noqa: F401
from mistakelab.backends import vllm_backend as _vllm  # noqa: F401
from mistakelab.backends.base import (
    CAPABILITIES,
    CONTINUE,
    FULL_DISTRIBUTION,
    MULTI_SAMPLE,
    SCORE,
    TOP_LOGPROBS,
    Backend,
    BackendFactory,
    ModelSpec,
    backends,
    check_spec,
    create_backend,
    apply_stops,
    cut_after_boxed,
    spec_capabilities,
)
from mistakelab.backends.scripted import ScriptedBackend, ScriptedCall, ScriptExhausted

__all__ = [
    "CAPABILITIES",
    "CONTINUE",
    "FULL_DISTRIBUTION",
    "MULTI_SAMPLE",
    "SCORE",
    "TOP_LOGPROBS",
    "Backend",
    "BackendFactory",
    "ModelSpec",
    "ScriptExhausted",
    "ScriptedBackend",
    "ScriptedCall",
    "backends",
    "check_spec",
    "apply_stops",
    "cut_after_boxed",
    "create_backend",
    "spec_capabilities",
]
