"""Test-time strategies, registered by name (importing this package registers the built-ins)."""

from mistakelab.strategies import cot as _cot  # noqa: F401  (registers)
from mistakelab.strategies import self_consistency as _sc  # noqa: F401
from mistakelab.strategies import self_refine as _sr  # noqa: F401
from mistakelab.strategies import principles as _pr  # noqa: F401
from mistakelab.strategies import try_again as _ta  # noqa: F401
from mistakelab.strategies import prp as _prp  # noqa: F401
from mistakelab.strategies import feedback as _fb  # noqa: F401
from mistakelab.strategies import in_place as _ip  # noqa: F401
from mistakelab.strategies import wait as _wait  # noqa: F401
from mistakelab.strategies import contrastive as _con  # noqa: F401
from mistakelab.strategies import best_of_n as _bon  # noqa: F401
from mistakelab.strategies import first_error_fix as _fef  # noqa: F401
from mistakelab.strategies import magicore as _mag  # noqa: F401
from mistakelab.strategies import step_beam as _beam  # noqa: F401
from mistakelab.strategies import dvts as _dvts  # noqa: F401
from mistakelab.strategies import pal as _pal  # noqa: F401
from mistakelab.strategies import rationalize as _rat  # noqa: F401
from mistakelab.strategies.base import StrategyDef, StrategySpec, strategies, strategy
from mistakelab.strategies.context import FirstError, StrategyContext
from mistakelab.strategies.kit.voting import majority, tally
from mistakelab.strategies.self_refine import parse_verdict

__all__ = [
    "FirstError",
    "StrategyContext",
    "StrategyDef",
    "StrategySpec",
    "majority",
    "parse_verdict",
    "strategies",
    "strategy",
    "tally",
]
