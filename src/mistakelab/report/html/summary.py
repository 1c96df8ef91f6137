"""The `show` table as HTML cells: one table per (model, task), every accuracy with its n and
95% interval, paired differences to the first strategy, transitions, cost, failed units apart,
the oracle label.

Fields that :class:`~mistakelab.metrics.StrategySummary` gains later (CL, CS, RSS...) are shown
too, as extra columns, whenever some row has a value for them: a ``foo_ci`` field is shown with
``foo`` as its interval.

Example:
    >>> from mistakelab.core.types import Result
    >>> from mistakelab.metrics import summarize
    >>> rs = [Result(problem_id=str(i), strategy="cot", model="m", task="t", final_answer="1",
    ...              correct=i < 3, first_correct=i < 3) for i in range(4)]
    >>> table = summary_tables(summarize(rs))[0]
    >>> table.title, table.rows[0][2].text, table.rows[0][2].sub
    ('m on t', '75.0', '[30.1, 95.4]')
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mistakelab.metrics import StrategySummary

#: fields the fixed columns already show
_KNOWN = {"model", "task", "strategy", "n", "correct", "accuracy", "ci", "vs_baseline", "baseline",
          "wrong_to_right", "right_to_wrong", "pass_at_k", "pass_ci", "mean_tokens", "tokens_ci", "mean_completion_tokens",
          "mean_seconds", "mean_calls", "oracle", "failed", "tokens_by_role"}


@dataclass(frozen=True)
class Cell:
    text: str
    sub: str = ""  # smaller second line (an interval, a breakdown)
    cls: str = ""  # css class: num, good, bad, oracle, muted
    title: str = ""  # tooltip


@dataclass
class SummaryTable:
    title: str
    model: str
    task: str
    columns: list[tuple[str, str]] = field(default_factory=list)  # (header, tooltip)
    rows: list[list[Cell]] = field(default_factory=list)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _ci(lo_hi: tuple[float, float] | None) -> str:
    return "" if lo_hi is None else f"[{_pct(lo_hi[0])}, {_pct(lo_hi[1])}]"


def _paired(d: Any) -> Cell:
    sign = "good" if d.low > 0 else "bad" if d.high < 0 else ""
    return Cell(f"{100 * d.diff:+.1f}", f"[{100 * d.low:+.1f}, {100 * d.high:+.1f}] +{d.b_only}/−{d.a_only}",
                f"num {sign}".strip(), f"paired on {d.n} problems" if hasattr(d, "n") else "")


def _extra_fields(rows: list[StrategySummary]) -> list[str]:
    kind = type(rows[0]) if rows else StrategySummary
    names = [f.name for f in dataclasses.fields(kind) if f.name not in _KNOWN]
    interval_of = {n for n in names if n.endswith("_ci") and n[:-3] in names}
    return [n for n in names if n not in interval_of and any(getattr(r, n, None) is not None for r in rows)]


def _header(name: str) -> str:
    return name.upper() if len(name) <= 3 else name.replace("_", " ")


def _value(v: Any) -> Cell:
    """A cell for a value of a field this module does not know."""
    if v is None:
        return Cell("–", cls="muted")
    if hasattr(v, "diff") and hasattr(v, "low") and hasattr(v, "high"):
        return _paired(v)
    if isinstance(v, bool):
        return Cell("yes" if v else "no")
    if isinstance(v, float):
        return Cell(f"{v:.3f}", cls="num")
    if isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
        return Cell(f"[{v[0]:.3f}, {v[1]:.3f}]", cls="num")
    if isinstance(v, int):
        return Cell(str(v), cls="num")
    return Cell(str(v))


def _tokens_sub(r: StrategySummary) -> str:
    ci = getattr(r, "tokens_ci", None)
    interval = f"[{ci[0]:.0f}, {ci[1]:.0f}] · " if ci else ""
    return f"{interval}{r.mean_completion_tokens:.0f} completion"


def _row(r: StrategySummary, roles: list[str], extras: list[str]) -> list[Cell]:
    oracle = " [oracle-assisted]" if r.oracle else ""
    cells = [
        Cell(r.strategy + oracle, cls="oracle" if r.oracle else "", title=r.strategy),
        Cell(str(r.n), cls="num"),
        Cell(_pct(r.accuracy), _ci(r.ci), "num", f"{r.correct} of {r.n} correct"),
        Cell("baseline", cls="muted") if r.vs_baseline is None else _paired(r.vs_baseline),
        Cell(str(r.wrong_to_right), cls="num good" if r.wrong_to_right else "num"),
        Cell(str(r.right_to_wrong), cls="num bad" if r.right_to_wrong else "num"),
        Cell("–", cls="muted") if r.pass_at_k is None else Cell(_pct(r.pass_at_k), _ci(r.pass_ci), "num"),
        Cell(f"{r.mean_tokens:.0f}", _tokens_sub(r), "num", "mean tokens per problem, 95% interval; completion tokens"),
    ]
    if len(roles) > 1:
        cells.append(Cell(" / ".join(f"{role} {r.tokens_by_role.get(role, 0):.0f}" for role in roles), cls="num"))
    cells += [Cell(f"{r.mean_calls:.1f}", cls="num"), Cell(f"{r.mean_seconds:.1f}", cls="num"),
              Cell(str(r.failed), cls="num bad" if r.failed else "num",
                   title="units whose model calls failed: not in n; run again to retry them"),
              Cell("yes" if r.oracle else "no", cls="oracle" if r.oracle else "")]
    for name in extras:
        cell = _value(getattr(r, name, None))
        ci = getattr(r, f"{name}_ci", None)
        if ci is not None and not cell.sub:
            cell = dataclasses.replace(cell, sub=_value(ci).text)
        cells.append(cell)
    return cells


COLUMNS = [
    ("strategy", ""), ("n", "problems with an answer (failed units not counted)"),
    ("acc %", "final answer correct, 95% Wilson interval"),
    ("Δ pts vs first", "paired difference to the first strategy on the same problems (Newcombe 95% "
                       "interval); +problems only this one solved / −only the first solved"),
    ("w→r", "first solution wrong, final answer right"), ("r→w", "first solution right, final answer wrong"),
    ("pass@k %", "any sample correct (sampling strategies), 95% Wilson interval"),
    ("tok/prob", "prompt + completion tokens per problem (95% interval), cache hits included"),
]


def summary_tables(rows: list[StrategySummary]) -> list[SummaryTable]:
    """One table per (model, task), in the order of ``rows``."""
    groups: dict[tuple[str, str], list[StrategySummary]] = {}
    for r in rows:
        groups.setdefault((r.model, r.task), []).append(r)
    extras = _extra_fields(rows)
    out = []
    for (model, task), group in groups.items():
        roles = sorted({role for r in group for role in r.tokens_by_role}, key=lambda x: (x != "solver", x))
        cols = list(COLUMNS)
        if len(roles) > 1:
            cols.append(("tok/prob by role", "tokens per problem of each model role"))
        cols += [("calls/prob", ""), ("s/prob", "wall seconds per problem, shared with the units in flight"),
                 ("failed", "units whose model calls failed (not in n)"),
                 ("oracle", "the gold answer was used while solving")]
        cols += [(_header(n), n) for n in extras]
        out.append(SummaryTable(f"{model} on {task}", model, task, cols, [_row(r, roles, extras) for r in group]))
    return out
