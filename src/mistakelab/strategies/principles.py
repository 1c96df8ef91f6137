"""``principles`` (LEAP, METHODS §3.1): solve with principles learned from earlier mistakes.

The memory file (``mistakelab learn principles RUN``) holds high-level principles that a
model stated after seeing its wrong solutions next to correct ones. They are put before the
task's prompt, and the model solves once, as ``cot`` does, so ``principles`` vs ``cot`` on
the same problems measures the memory alone. The memory records the problems it was built
from: a run whose problems overlap them stops before any call (the principles would carry
those problems' gold answers into the evaluation).

Solving reads no gold answer (``oracle: no``); building the memory did, and its file says so.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

from pydantic import BaseModel, ConfigDict, field_validator

from mistakelab.core.memory import Memory, MemoryFileError
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.revision import reworded

PROMPTS = {
    "with_principles": "Principles learned from mistakes on similar problems:\n{principles}\n\n"
                       "Keep them in mind.\n\n{prompt}",
}


@lru_cache(maxsize=8)
def _memory(path: str, mtime_ns: int) -> Memory:  # keyed by mtime: a rebuilt file is reread
    return Memory.load(path)


def load_memory(path: str | Path) -> Memory:
    p = Path(path)
    try:
        mtime = p.stat().st_mtime_ns
    except OSError:
        raise MemoryFileError(f"{p}: no such memory file (build one with `mistakelab learn principles RUN`)") from None
    return _memory(str(p), mtime)


class PrinciplesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    memory: str  # path of the memory file
    temperature: float | None = None

    @field_validator("memory")
    @classmethod
    def _readable(cls, v: str) -> str:
        load_memory(v)  # a missing or broken file fails when the run is planned
        return v


def _disjoint(params: PrinciplesParams, problems: Sequence[object]) -> None:
    mem = load_memory(params.memory)
    shared = mem.overlap((p.id, p.question) for p in problems)  # type: ignore[attr-defined]
    if shared:
        more = f" (and {len(shared) - 5} more)" if len(shared) > 5 else ""
        raise ValueError(f"memory {params.memory} was built from {len(shared)} of these problems: "
                         f"{', '.join(shared[:5])}{more}; evaluate on problems it has not seen "
                         "(another seed or split)")


@strategy("principles", PrinciplesParams, prompts=PROMPTS, check=_disjoint,
          method="LEAP principles in memory, METHODS §3.1")
async def principles(ctx: StrategyContext, params: PrinciplesParams) -> None:
    """Solve once with the memory's principles before the question."""
    over = {} if params.temperature is None else {"temperature": params.temperature}
    mem = load_memory(params.memory)
    conv = reworded(ctx, "with_principles", principles=mem.text())  # in front of the task's prompt
    ctx.note(f"memory {mem.id}: {len(mem.principles)} principles", label="memory", memory=mem.id)
    c = await ctx.generate(conv, purpose="solve", **over)
    ctx.final(ctx.record_answer(c, label="solution"), method="only")
