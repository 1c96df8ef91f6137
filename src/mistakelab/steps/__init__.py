"""Solutions as steps: splitting, step verdicts, step checkers."""

from mistakelab.steps.arithmetic import Computation, check_arithmetic, find_computations
from mistakelab.steps.split import SplitMode, display_spans, split_steps
from mistakelab.steps.types import InjectedSolution, Step, StepMark, StepStatus, StepVerdict

__all__ = [
    "Computation",
    "InjectedSolution",
    "SplitMode",
    "Step",
    "StepMark",
    "StepStatus",
    "StepVerdict",
    "check_arithmetic",
    "display_spans",
    "find_computations",
    "split_steps",
]
