"""``mistakelab improve``: a model that learns from its own mistakes, round after round (METHODS §3.4).

Example:
    >>> from mistakelab.learn.improve import STAGES, ImproveConfig
    >>> "train" in STAGES and "recipes" in ImproveConfig.model_fields
    True
"""

from mistakelab.learn.improve.config import (
    EvalSide,
    ImproveConfig,
    LoopConfigError,
    Split,
    Training,
    TrainSide,
    load_loop_config,
    parse_loop_config,
)
from mistakelab.learn.improve.loop import (
    STAGES,
    LoopError,
    LoopStopped,
    LoopSummary,
    loop_config,
    loop_problems,
    run_loop,
)
from mistakelab.learn.improve.serving import HF_BASE, FinalAdapter, final_adapter
from mistakelab.learn.improve.splits import SplitError, check_disjoint, frozen_splits
from mistakelab.learn.improve.table import LoopTable, RoundCell, RoundInfo, loop_table

__all__ = ["HF_BASE", "STAGES", "EvalSide", "FinalAdapter", "ImproveConfig", "LoopConfigError", "LoopError", "LoopStopped", "LoopSummary",
           "LoopTable", "RoundCell", "RoundInfo", "Split", "SplitError", "TrainSide", "Training", "check_disjoint",
           "final_adapter", "frozen_splits", "load_loop_config", "loop_config", "loop_problems", "loop_table", "parse_loop_config",
           "run_loop"]
