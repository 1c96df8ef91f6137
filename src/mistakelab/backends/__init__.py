"""Model backends: ``scripted`` (tests), ``openai`` (any compatible server), ``local`` (llama.cpp)."""

from mistakelab.backends.base import Backend, ModelSpec, backends, create_backend
from mistakelab.backends.scripted import ScriptedBackend, ScriptedCall, ScriptExhausted
from mistakelab.core.registry import lazy

lazy(
    backends,
    {
        "openai": "mistakelab.backends.openai_backend:from_spec",
        "local": "mistakelab.backends.local.backend:from_spec",
    },
)

__all__ = [
    "Backend",
    "ModelSpec",
    "ScriptExhausted",
    "ScriptedBackend",
    "ScriptedCall",
    "backends",
    "create_backend",
]
