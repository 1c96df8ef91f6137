"""A locate run's section: per locator the ProcessBench scores with the confusion counts, and
per record the label and every locator's prediction, with the record's steps.

Example:
    >>> from mistakelab.store import LocatePrediction
    >>> preds = [LocatePrediction("a", "a", f"r{i}", "s", None, y, p, False, 0, 0, {})
    ...          for i, (y, p) in enumerate([(0, 0), (-1, -1), (1, 0)])]
    >>> section = locate_section([{"id": f"r{i}", "steps": ["x", "y"]} for i in range(3)], preds)
    >>> [(r.locator, r.group, r.cells["exact"], r.cells["early"]) for r in section.scores]
    [('a', 's', '1', '1')]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mistakelab.metrics.processbench import score_locator
from mistakelab.metrics.stats import paired_difference
from mistakelab.store import LocatePrediction

CONFUSION = ("early", "exact", "late", "missed", "no_prediction", "correct_kept", "false_alarm")


@dataclass
class ScoreRow:
    locator: str
    group: str
    oracle: bool
    cells: dict[str, str]


@dataclass
class PredCell:
    text: str
    cls: str  # exact / early / late / missed / none / kept / alarm


@dataclass
class RecordRow:
    record_id: str
    split: str
    source: str
    first_error: int | None
    preds: list[PredCell]
    problem: str
    steps: list[str]
    notes: list[tuple[str, str]] = field(default_factory=list)  # (locator, note or raw reply)


@dataclass
class LocateSection:
    locators: list[tuple[str, bool]]  # (name, oracle)
    scores: list[ScoreRow]
    records: list[RecordRow]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _kind(label: int | None, pred: int | None) -> str:
    if pred is None:
        return "none"
    if label is None:
        return ""
    if label == -1:
        return "kept" if pred == -1 else "alarm"
    if pred == -1:
        return "missed"
    return "early" if pred < label else "exact" if pred == label else "late"


def locate_section(records: list[dict[str, Any]], predictions: list[LocatePrediction]) -> LocateSection:
    by: dict[str, list[LocatePrediction]] = {}
    for p in predictions:
        by.setdefault(p.locator, []).append(p)
    names = {k: k for k in by}
    first = next(iter(by), None)
    base = {p.record_id: p.pred == p.first_error for p in by.get(first, [])} if first else {}
    scores = []
    for key, ps in by.items():
        scored = [p for p in ps if p.first_error is not None]
        groups: dict[str, list[LocatePrediction]] = {}
        for p in scored:
            groups.setdefault(p.split, []).append(p)
        if len(groups) > 1:
            groups["all"] = scored
        for group, gps in groups.items():
            s = score_locator([p.first_error for p in gps], [p.pred for p in gps])  # type: ignore[misc]
            cells = {"n err/cor": f"{s.n_err}/{s.n_cor}",
                     "acc_err %": f"{_pct(s.acc_err)} [{_pct(s.acc_err_ci[0])}, {_pct(s.acc_err_ci[1])}]" if s.n_err else "–",
                     "acc_cor %": f"{_pct(s.acc_cor)} [{_pct(s.acc_cor_ci[0])}, {_pct(s.acc_cor_ci[1])}]" if s.n_cor else "–",
                     "F1 %": f"{_pct(s.f1)} [{_pct(s.f1_ci[0])}, {_pct(s.f1_ci[1])}]" if s.n_err and s.n_cor else "– (one class)"}
            cells.update({c: str(s.confusion.get(c, 0)) for c in CONFUSION})
            mine = {p.record_id: p.pred == p.first_error for p in gps}
            ids = [i for i in mine if i in base]
            if key == first:
                cells["Δ exact-match vs first"] = "baseline"
            elif ids:
                d = paired_difference([base[i] for i in ids], [mine[i] for i in ids])
                cells["Δ exact-match vs first"] = (f"{100 * d.diff:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}] "
                                                   f"+{d.b_only}/−{d.a_only}")
            else:
                cells["Δ exact-match vs first"] = "–"
            n = max(len(gps), 1)
            cells["calls/rec"] = f"{sum(p.calls for p in gps) / n:.1f}"
            cells["tokens/rec"] = f"{sum(p.tokens for p in gps) / n:.0f}"
            scores.append(ScoreRow(names[key], group, any(p.oracle for p in gps), cells))
    recs = {str(r.get("id")): r for r in records}
    order = list(recs) + [p.record_id for p in predictions if p.record_id not in recs]
    preds = {(p.locator, p.record_id): p for p in predictions}
    rows = []
    for rid in dict.fromkeys(order):
        rec = recs.get(rid, {})
        cells, notes, first_error, split, source = [], [], rec.get("label"), str(rec.get("split", "")), str(rec.get("source") or "")
        for key in by:
            p = preds.get((key, rid))
            if p is None:
                cells.append(PredCell("", "muted"))
                continue
            first_error, split, source = p.first_error, p.split, p.source or source
            cells.append(PredCell("none" if p.pred is None else str(p.pred), _kind(p.first_error, p.pred)))
            note = p.result.get("note") or "\n---\n".join(str(x) for x in p.result.get("raw") or [])
            if note:
                notes.append((names[key], str(note)))
        rows.append(RecordRow(rid, split, source, first_error, cells, str(rec.get("problem", "")),
                              [str(s) for s in rec.get("steps", [])], notes))
    return LocateSection([(names[k], any(p.oracle for p in ps)) for k, ps in by.items()], scores, rows)
