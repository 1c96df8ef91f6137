"""What ``mistakelab locate`` keeps in the run store besides its model calls: the records it
scored and every locator's prediction on each, so reports can show them later.

Records and predictions are plain data here (the store does not depend on the locators):
a record is its JSON object, a prediction a :class:`LocatePrediction`. Saving again replaces
the rows of the same (run, record) and (run, locator name, record): the latest scoring wins.

Example:
    >>> import tempfile, pathlib
    >>> from mistakelab.store import RunStore
    >>> st = RunStore(pathlib.Path(tempfile.mkdtemp()) / "runs.db")
    >>> p = LocatePrediction("arithmetic", "arithmetic", "r1", "default", None, 0, 0, False, 0, 0, {})
    >>> save_locate(st, "locate-0", [{"id": "r1", "steps": ["1+1=3"]}], [p])
    >>> [(r["id"], q.pred) for r, q in zip(locate_records(st, "locate-0"), locate_predictions(st, "locate-0"))]
    [('r1', 0)]
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Sequence

from mistakelab.store.db import RunStore


@dataclass(frozen=True)
class LocatePrediction:
    locator_key: str  # what identifies the locator's calls (its spec without the label)
    locator: str  # display name
    record_id: str
    split: str
    source: str | None
    first_error: int | None  # the record's earliest wrong step (-1: none; its ``label`` in files)
    pred: int | None  # the locator's (-1: no error; None: no prediction)
    oracle: bool
    calls: int
    tokens: int
    result: dict[str, Any]  # the LocatorResult as JSON data (marks, scores, raw replies, note)


def save_locate(store: RunStore, run_id: str, records: Sequence[dict[str, Any]],
                predictions: Sequence[LocatePrediction]) -> None:
    """Store records (each with an ``id``) and predictions, in the order given."""
    now = time.time()
    statements: list[tuple[str, tuple[Any, ...]]] = []
    for i, r in enumerate(records):  # long problems and replies are stored once (store/texts.py)
        doc, chunks = store._packed(json.dumps(r, ensure_ascii=False))
        statements += [*chunks, ("INSERT OR REPLACE INTO locate_records VALUES (?,?,?,?)", (run_id, str(r["id"]), i, doc))]
    for i, p in enumerate(predictions):
        doc, chunks = store._packed(json.dumps(p.result, ensure_ascii=False))
        statements += [*chunks, ("INSERT OR REPLACE INTO locate_predictions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                 (run_id, p.locator_key, p.locator, p.record_id, i, p.split, p.source, p.first_error,
                                  p.pred, int(p.oracle), p.calls, p.tokens, doc, now))]
    store._enqueue(*statements)
    store.flush()


def locate_records(store: RunStore, run_id: str) -> list[dict[str, Any]]:
    """The run's records as stored, in order."""
    store.flush()
    return [json.loads(store._unpacked(r[0])) for r in store._rows(
        "SELECT record_json FROM locate_records WHERE run_id=? ORDER BY position, record_id", (run_id,))]


def locate_predictions(store: RunStore, run_id: str) -> list[LocatePrediction]:
    """The run's predictions, locator by locator in the order they were saved."""
    store.flush()
    return [LocatePrediction(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9],
                             json.loads(store._unpacked(r[10])))
            for r in store._rows(
                "SELECT locator_key, locator, record_id, split, source, label, pred, oracle, calls, tokens, "
                "result_json FROM locate_predictions WHERE run_id=? ORDER BY created_at, position",
                (run_id,))]
