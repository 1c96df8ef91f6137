"""The strategy kit: what several strategies do the same way, so each strategy file reads as
its method. :mod:`~mistakelab.strategies.kit.voting`: majority and weighted votes, Borda,
choosing the best-scored candidate, confidence of a vote.
"""

from mistakelab.strategies.kit.voting import (
    best_index,
    borda_vote,
    borda_weights,
    majority,
    mass_confidence,
    ranked,
    tally,
    weak_steps,
    weighted_vote,
)

__all__ = ["best_index", "borda_vote", "borda_weights", "majority", "mass_confidence", "ranked", "tally",
           "weak_steps", "weighted_vote"]
