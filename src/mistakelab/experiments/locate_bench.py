"""The locator benchmark: run locators over records and score them the ProcessBench way,
per split.

Each (locator, record) runs through :func:`~mistakelab.runner.execute.execute_locator`
(the unit executor's locator twin). Every model call goes through the run store's
completion cache, so re-running the same benchmark costs no model calls for records
already done.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable

from mistakelab.core.types import GenParams
from mistakelab.locate.base import Locator, LocatorResult
from mistakelab.locate.records import LocateRecord
from mistakelab.metrics.processbench import LocatorScore, score_locator
from mistakelab.runner.execute import execute_locator
from mistakelab.runner.caller import ModelCaller, UnitGateway
from mistakelab.store import LocatePrediction, RunStore, save_locate


@dataclass
class Prediction:
    record_id: str
    split: str
    source: str | None
    first_error: int  # the record's earliest wrong step (-1: none)
    result: LocatorResult
    calls: int
    tokens: int
    #: why the record has no prediction because a model call failed (after the backend's
    #: retries): a failure, not a wrong prediction, so it is left out of every score
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


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

    @property
    def failed(self) -> list[Prediction]:
        """Records whose model calls failed: no prediction, not scored (run again to retry)."""
        return [p for p in self.predictions if p.failed]

    def groups(self, by: str = "split") -> dict[str, list[Prediction]]:
        """Scored predictions (failed records left out) per split (or per ``source``:
        natural / injected / gold), plus "all" when there are several groups."""
        out: dict[str, list[Prediction]] = {}
        for p in self.predictions:
            if p.failed:
                continue
            out.setdefault(str(getattr(p, by) or "?"), []).append(p)
        if len(out) > 1:
            out["all"] = list(self.predictions)
        return out

    def scores(self, by: str = "split") -> dict[str, LocatorScore]:
        """ProcessBench scores per group (see :meth:`groups`)."""
        return {s: score_locator([p.first_error for p in ps], [p.result.first_error for p in ps])
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
            done = await execute_locator(run.locator, rec, gw, label=run.ident, gen=params, seed=seed)
            calls = done.trace.calls
            tokens = sum(c.completion.prompt_tokens + c.completion.completion_tokens for c in calls)
            if on_done:
                on_done(run.name, rec.id)
            return Prediction(rec.id, rec.split, rec.source, rec.first_error, done.result, len(calls), tokens, done.error)

    for run in runs:
        run.predictions = list(await asyncio.gather(*(one(run, r) for r in records)))


def store_predictions(store: RunStore, run_id: str, records: list[LocateRecord], runs: list[LocatorRun]) -> None:
    """Keep the records and every run's predictions in the run store (reports read them).
    A failed record (its model call failed) is no prediction: it is not stored, and its
    next scoring replaces nothing but what it answers."""
    rows = [LocatePrediction(run.ident, run.name, p.record_id, p.split, p.source, p.first_error, p.result.first_error,
                             run.locator.oracle or p.result.oracle, p.calls, p.tokens,
                             p.result.model_dump(mode="json"))
            for run in runs for p in run.predictions if not p.failed]
    save_locate(store, run_id, [r.model_dump(mode="json", exclude_none=True, by_alias=True) for r in records], rows)
