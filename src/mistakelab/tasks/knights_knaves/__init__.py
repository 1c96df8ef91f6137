"""Knights and Knaves: generated logic puzzles with gold steps, perturbations, an answer
checker, a step verifier, error injection and the LiMem memorization score (METHODS 4.2).

Example:
    >>> from mistakelab.tasks.knights_knaves import KnightsKnavesTask, resample_leaf
    >>> t = KnightsKnavesTask(n_people=3)
    >>> p = t.load(1, seed=0)[0]
    >>> p.id, t.check(p, p.answer).correct
    ('kk-3-0-0', True)
    >>> resample_leaf(p).answer != p.answer
    True
"""

from mistakelab.tasks.knights_knaves.check import (assignment_key, check_assignment, extract_assignment,
                                                   verify_answer)
from mistakelab.tasks.knights_knaves.generate import generate_puzzle, random_statement
from mistakelab.tasks.knights_knaves.inject import inject_error
from mistakelab.tasks.knights_knaves.logic import evaluate, solutions, truth_table
from mistakelab.tasks.knights_knaves.memorization import MemorizationScore, limem, memorization_score
from mistakelab.tasks.knights_knaves.perturb import (PERTURBATIONS, perturb, rename_people, rename_roles,
                                                     reorder_statements, resample_leaf, resample_statement)
from mistakelab.tasks.knights_knaves.puzzle import Puzzle
from mistakelab.tasks.knights_knaves.solve import solve
from mistakelab.tasks.knights_knaves.task import KnightsKnavesTask
from mistakelab.tasks.knights_knaves.verify import verify_steps
from mistakelab.tasks.knights_knaves.vocab import NAMES, ROLE_PAIRS

__all__ = [
    "KnightsKnavesTask", "MemorizationScore", "NAMES", "PERTURBATIONS", "Puzzle", "ROLE_PAIRS",
    "assignment_key", "check_assignment", "evaluate", "extract_assignment", "generate_puzzle",
    "inject_error", "limem", "memorization_score", "perturb", "random_statement", "rename_people",
    "rename_roles", "reorder_statements", "resample_leaf", "resample_statement", "solutions", "solve",
    "truth_table", "verify_answer", "verify_steps",
]
