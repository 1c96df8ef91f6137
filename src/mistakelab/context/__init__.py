"""The context every model-calling part sees: models by role, the trace, seeds, the oracle door.

Strategies get a :class:`~mistakelab.strategies.StrategyContext` (this plus locating the first
error); locators and scorers get a :class:`CallContext`.
"""

from mistakelab.context.base import SOLVER, CallContext, Oracle, PublicProblem
from mistakelab.context.conversation import Conversation
from mistakelab.context.errors import CallFailed, CapabilityError, OracleUnavailable
from mistakelab.context.gateway import DirectGateway, Gateway, guarded
from mistakelab.context.grading import grade_trace
from mistakelab.context.handle import ModelHandle
from mistakelab.context.results import build_result, failed_result, final_text, usage_by_role
from mistakelab.context.seeds import call_seed

__all__ = [
    "SOLVER",
    "CallContext",
    "CallFailed",
    "CapabilityError",
    "Conversation",
    "DirectGateway",
    "Gateway",
    "ModelHandle",
    "Oracle",
    "OracleUnavailable",
    "PublicProblem",
    "build_result",
    "failed_result",
    "final_text",
    "call_seed",
    "grade_trace",
    "guarded",
    "usage_by_role",
]
