"""Blind-spot figures from a stored blind-spot run: correction accuracy per condition, the
blind spot and how much " Wait" reduces it (Self-Correction Bench, METHODS §2.5).

- correction accuracy: the share of items whose final answer is right (the error was
  corrected), per condition, with a Wilson interval;
- ``BS = (Acc_user - Acc_own) / Acc_user`` (0 when Acc_user is 0): how much worse the model
  corrects an error in its own turn than the same error in the user's message;
- ``BS_wait = (Acc_user - Acc_own+wait) / Acc_user``: the blind spot left when " Wait" is
  appended to the model's own turn;
- Wait reduction ``(BS - BS_wait) / BS`` (the paper's 89.3%; undefined when BS is 0).

The three figures carry percentile bootstrap intervals over items (each resample keeps an
item's four conditions together); only items with all four conditions done count.

Example:
    >>> own, ownw, user, userw = [False] * 4, [True, False, False, False], [True, True, False, False], [True] * 4
    >>> r = level_report("level1", {"own": own, "own+wait": ownw, "user": user, "user+wait": userw})
    >>> r.bs, r.bs_wait, r.reduction
    (1.0, 0.5, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.table import Table

from mistakelab.experiments.blindspot.run import CONDITIONS
from mistakelab.metrics.selfcorrect import bootstrap_ci
from mistakelab.metrics.stats import wilson_interval


@dataclass(frozen=True)
class LevelReport:
    level: str
    n: int
    correct: dict[str, int]  # condition -> items corrected
    ci: dict[str, tuple[float, float]]
    bs: float
    bs_ci: tuple[float, float] | None
    bs_wait: float
    bs_wait_ci: tuple[float, float] | None
    reduction: float | None
    reduction_ci: tuple[float, float] | None

    def accuracy(self, condition: str) -> float:
        return self.correct[condition] / self.n if self.n else 0.0


def blind_spot(acc_user: float, acc_own: float) -> float:
    """``(acc_user - acc_own) / acc_user``, 0 when ``acc_user`` is 0.

    Example:
        >>> blind_spot(0.8, 0.4), blind_spot(0.0, 0.3)
        (0.5, 0.0)
    """
    return 0.0 if acc_user == 0 else (acc_user - acc_own) / acc_user


def _reduction(bs: float, bs_wait: float) -> float | None:
    return None if bs == 0 else (bs - bs_wait) / bs


def level_report(level: str, outcomes: dict[str, list[bool]], n_boot: int = 2000, seed: int = 0) -> LevelReport:
    """Figures of one level from each condition's outcomes on the same items, in item order."""
    x = {c: np.array(outcomes[c], dtype=bool) for c in CONDITIONS}
    n = len(x["own"])

    def figures(idx: np.ndarray) -> tuple[float, float, float | None]:
        user = float(x["user"][idx].mean())
        bs, bs_wait = blind_spot(user, float(x["own"][idx].mean())), blind_spot(user, float(x["own+wait"][idx].mean()))
        return bs, bs_wait, _reduction(bs, bs_wait)

    all_idx = np.arange(n)
    bs, bs_wait, red = figures(all_idx) if n else (0.0, 0.0, None)
    return LevelReport(
        level=level, n=n, correct={c: int(x[c].sum()) for c in CONDITIONS},
        ci={c: wilson_interval(int(x[c].sum()), n) for c in CONDITIONS},
        bs=bs, bs_ci=bootstrap_ci(lambda i: figures(i)[0], n, n_boot, seed),
        bs_wait=bs_wait, bs_wait_ci=bootstrap_ci(lambda i: figures(i)[1], n, n_boot, seed),
        reduction=red, reduction_ci=bootstrap_ci(lambda i: figures(i)[2], n, n_boot, seed),
    )


def blindspot_report(store, run_id: str) -> list[LevelReport]:  # type: ignore[no-untyped-def]
    """One report per level of a stored blind-spot run (items with all conditions done)."""
    by_level: dict[str, dict[str, dict[str, bool]]] = {}
    for u in store.units(run_id):
        if u.result is not None and u.result.status == "done":
            by_level.setdefault(u.task, {}).setdefault(u.problem_id, {})[u.strategy] = u.result.correct
    out = []
    for level in sorted(by_level):
        items = [v for v in by_level[level].values() if all(c in v for c in CONDITIONS)]
        out.append(level_report(level, {c: [v[c] for v in items] for c in CONDITIONS}))
    return out


def _pct(x: float | None, ci: tuple[float, float] | None = None) -> str:
    if x is None:
        return "–"
    return f"{100 * x:.1f}" + ("" if ci is None else f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]")


def blindspot_table(reports: list[LevelReport], title: str = "") -> Table:
    """The blind-spot table: a row per level."""
    table = Table(title=title or None, pad_edge=False)
    for col in ("level", "n", *(f"{c} % [95% CI]" for c in CONDITIONS), "BS %", "BS with Wait %", "Wait reduction %"):
        table.add_column(col, justify="left" if col == "level" else "right", no_wrap=True)
    for r in reports:
        table.add_row(r.level, str(r.n), *(_pct(r.accuracy(c), r.ci[c]) for c in CONDITIONS),
                      _pct(r.bs, r.bs_ci), _pct(r.bs_wait, r.bs_wait_ci), _pct(r.reduction, r.reduction_ci))
    return table
