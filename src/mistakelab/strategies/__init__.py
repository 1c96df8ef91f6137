"""Test-time strategies, registered by name."""

from mistakelab.strategies import cot as _cot  # noqa: F401  (registers)
from mistakelab.strategies import self_consistency as _sc  # noqa: F401
from mistakelab.strategies import self_refine as _sr  # noqa: F401
from mistakelab.strategies.base import StrategyDef, StrategySpec, strategies, strategy
from mistakelab.strategies.context import DirectGateway, Gateway, StrategyContext
from mistakelab.strategies.prompts import DEFAULT_PROMPTS
from mistakelab.strategies.self_consistency import majority
from mistakelab.strategies.self_refine import parse_verdict

__all__ = [
    "DEFAULT_PROMPTS",
    "DirectGateway",
    "Gateway",
    "StrategyContext",
    "StrategyDef",
    "StrategySpec",
    "majority",
    "parse_verdict",
    "strategies",
    "strategy",
]
