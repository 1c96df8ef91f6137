"""Per-step timing of the engine (``Engine.start_profile``): where a step's time goes.

``bench/local_throughput.py`` reads it to split a step into ``llama_decode``, sampling and the
Python around them, and to measure the prompt-evaluation ceiling.

Example:
    >>> from mistakelab.backends.local.state import EngineStats
    >>> prof, stats = StepProfiler(), EngineStats()
    >>> steps = prof.start()
    >>> prof.step(lambda: (4, 0), stats, lambda: 4)
    >>> [(p.rows, p.tokens, p.prompt) for p in prof.stop()]
    [(4, 4, 0)]
    >>> prof.step(lambda: (4, 0), stats, lambda: 4)  # off: not recorded
    >>> prof.stop()
    []
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from mistakelab.backends.local.state import EngineStats


@dataclass
class StepProfile:
    """One engine step, timed: ``rows`` tokens were sampled; ``tokens`` went through
    ``llama_decode`` (``prompt`` of them prompt or scored tokens); ``other_s`` is the step's
    Python bookkeeping (admission, batch building, results), ``total_s`` minus the timed parts.
    """

    rows: int
    tokens: int
    prompt: int
    decode_s: float
    sample_s: float
    total_s: float

    @property
    def other_s(self) -> float:
        return max(self.total_s - self.decode_s - self.sample_s, 0.0)


class StepProfiler:
    """Records a :class:`StepProfile` for every step run through :meth:`step` while started."""

    def __init__(self) -> None:
        self.steps: list[StepProfile] | None = None
        self._lock = threading.Lock()  # a profiled step, whole

    def start(self) -> list[StepProfile]:
        self.steps = []
        return self.steps

    def stop(self) -> list[StepProfile]:
        """End profiling; the steps so far. Waits for the step in progress: a step resolves
        its futures before it records its own timing."""
        with self._lock:
            steps, self.steps = self.steps, None
        return steps if steps is not None else []

    def step(self, one_step: Callable[[], tuple[int, int]], stats: EngineStats,
             batch_tokens: Callable[[], int]) -> None:
        """Run ``one_step`` (returns rows sampled, prompt tokens), timed when started."""
        steps = self.steps  # stop() may clear the attribute meanwhile
        if steps is None:
            one_step()
            return
        with self._lock:
            t0, d0, s0 = time.perf_counter(), stats.decode_s, stats.sample_s
            n, prompt = one_step()
            steps.append(StepProfile(rows=n, tokens=batch_tokens(), prompt=prompt, decode_s=stats.decode_s - d0,
                                     sample_s=stats.sample_s - s0, total_s=time.perf_counter() - t0))
