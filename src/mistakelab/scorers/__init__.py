"""Step and outcome scorers behind one interface (importing this package registers the built-ins).

``build_scorer("critic_step:agg=prod")`` gives a scorer; ``await scorer.score(ctx, text)`` its
:class:`StepScores`. See :mod:`mistakelab.scorers.base` for the interface and aggregations.
"""

from mistakelab.scorers import certainty as _certainty  # noqa: F401  (registers)
from mistakelab.scorers import checks as _checks  # noqa: F401
from mistakelab.scorers import critic as _critic  # noqa: F401
from mistakelab.scorers import prm as _prm  # noqa: F401
from mistakelab.scorers.base import (
    Aggregation,
    Scorer,
    ScorerParams,
    ScorerSpec,
    StepScores,
    aggregate,
    build_scorer,
    checked_scorer,
    merge_needs,
    scorers,
    step_at,
)
from mistakelab.scorers.certainty import step_means, token_values
from mistakelab.scorers.critic import STEP_PROMPT

__all__ = [
    "STEP_PROMPT",
    "Aggregation",
    "Scorer",
    "ScorerParams",
    "ScorerSpec",
    "StepScores",
    "aggregate",
    "build_scorer",
    "checked_scorer",
    "merge_needs",
    "scorers",
    "step_at",
    "step_means",
    "token_values",
]
