"""Run locators over records and score them the ProcessBench way, per split.

Every model call goes through the run store's completion cache, so re-running the same
benchmark costs no model calls for records already done.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable

from mistakelab.core.types import GenParams
from mistakelab.locate.base import Locator, LocatorResult, locate_context
from mistakelab.locate.records import LocateRecord
from mistakelab.metrics.processbench import LocatorScore, score_locator
from mistakelab.context.caller import ModelCaller, UnitGateway


@dataclass
class Prediction:
    record_id: str
    split: str
    source: str | None
    label: int
    result: LocatorResult
    calls: int
    tokens: int


@dataclass
class LocatorRun:
    name: str  # display label, e.g. "critic(0.5b)"
    locator: Locator
    caller: ModelCaller | None  # model for locators that need one
    predictions: list[Prediction] = field(default_factory=list)
    # what identifies the locator's calls (unit keys, sampling seeds, cache): the spec without
    # its display label, so renaming a locator never changes what it asks the model
    key: str = ""

    @property
    def ident(self) -> str:
        return self.key or self.name

    def groups(self, by: str = "split") -> dict[str, list[Prediction]]:
        """Predictions per split (or per ``source``: natural / injected / gold), plus "all"
        when there are several groups."""
        out: dict[str, list[Prediction]] = {}
        for p in self.predictions:
            out.setdefault(str(getattr(p, by) or "?"), []).append(p)
        if len(out) > 1:
            out["all"] = list(self.predictions)
        return out

    def scores(self, by: str = "split") -> dict[str, LocatorScore]:
        """ProcessBench scores per group (see :meth:`groups`)."""
        return {s: score_locator([p.label for p in ps], [p.result.first_error for p in ps])
                for s, ps in self.groups(by).items()}

    def cost(self, group: str | None = None, by: str = "split") -> tuple[float, float]:
        """Mean model calls and tokens per record (over one group, or all)."""
        ps = self.groups(by).get(group, []) if group not in (None, "all") else self.predictions
        n = max(len(ps), 1)
        return sum(p.calls for p in ps) / n, sum(p.tokens for p in ps) / n


async def run_locators(records: list[LocateRecord], runs: list[LocatorRun], params: GenParams,
                       concurrency: int = 8, seed: int = 0,
                       on_done: Callable[[str, Any], None] | None = None) -> None:
    """Fill each run's predictions (records in order)."""
    sem = asyncio.Semaphore(concurrency)

    async def one(run: LocatorRun, rec: LocateRecord) -> Prediction:
        async with sem:
            gw = UnitGateway(run.caller, f"locate|{run.ident}|{rec.id}") if run.caller else None
            ctx = locate_context(rec, gw, run.ident, params, seed)
            try:
                res = await run.locator.locate(rec, ctx)
            except Exception as exc:  # noqa: BLE001 - a failing record is a missed prediction
                res = LocatorResult(first_error=None, note=f"{type(exc).__name__}: {exc}")
            calls = ctx.trace.calls
            tokens = sum(c.completion.prompt_tokens + c.completion.completion_tokens for c in calls)
            if on_done:
                on_done(run.name, rec.id)
            return Prediction(rec.id, rec.split, rec.source, rec.label, res, len(calls), tokens)

    for run in runs:
        run.predictions = list(await asyncio.gather(*(one(run, r) for r in records)))
