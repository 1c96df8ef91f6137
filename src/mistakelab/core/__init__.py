"""Core types and registries."""

from mistakelab.core.registry import Registry, UnknownNameError
from mistakelab.core.types import (
    AnswerRecord,
    CallRecord,
    Completion,
    GenParams,
    Message,
    Problem,
    ReferenceStep,
    Result,
    TokenLogprob,
    Trace,
    Verdict,
)

__all__ = [
    "AnswerRecord",
    "CallRecord",
    "Completion",
    "GenParams",
    "Message",
    "Problem",
    "ReferenceStep",
    "Registry",
    "Result",
    "TokenLogprob",
    "Trace",
    "UnknownNameError",
    "Verdict",
]
