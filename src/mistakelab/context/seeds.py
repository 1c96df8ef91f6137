"""Seeds that do not depend on timing.

A sampled call's seed is a hash of (run seed, model, strategy, problem, purpose, index within
that purpose). Concurrent calls, calls issued in any order and resumed runs all get the same
seeds, hence the same cache keys. Greedy calls carry no seed, so identical greedy requests
share the cache across strategies.

Example:
    >>> call_seed(0, "m", "self_consistency", "p1", "sample", 3) == call_seed(0, "m", "self_consistency", "p1", "sample", 3)
    True
    >>> call_seed(0, "m", "self_consistency", "p1", "sample", 3) != call_seed(0, "m", "self_consistency", "p1", "sample", 4)
    True
"""

from __future__ import annotations

import hashlib

SEED_MODULUS = 2**31 - 1


def call_seed(run_seed: int, model: str, strategy: str, problem_id: str, purpose: str, index: int) -> int:
    """The seed of the ``index``-th call with this ``purpose`` (see the module docstring)."""
    text = "|".join(map(str, (run_seed, model, strategy, problem_id, purpose, index)))
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % SEED_MODULUS
