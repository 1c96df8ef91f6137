"""Tables for the locator benchmark and for confidence calibration."""

from __future__ import annotations

from rich.table import Table

from mistakelab.experiments.locate_bench import LocatorRun, Prediction
from mistakelab.metrics.stats import paired_difference
from mistakelab.report.text import literal


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _ci(lo_hi: tuple[float, float]) -> str:
    return f"[{_pct(lo_hi[0])}, {_pct(lo_hi[1])}]"


def _hits(preds: list[Prediction]) -> dict[str, bool]:
    return {p.record_id: p.result.first_error == p.first_error for p in preds}


def _paired(base: dict[str, bool], preds: list[Prediction]) -> str:
    """This locator's exact-match rate minus the first one's, on the same records."""
    mine = _hits(preds)
    ids = [i for i in mine if i in base]
    if not ids:
        return "–"
    d = paired_difference([base[i] for i in ids], [mine[i] for i in ids])
    return f"{100 * d.diff:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}] +{d.b_only}/-{d.a_only}"


def locator_table(runs: list[LocatorRun], title: str = "", by: str = "split") -> Table:
    """One row per locator and group (``by``: split or source), first locator as the baseline
    of the paired column."""
    t = Table(title=literal(title, one_line=True) if title else None)
    for col in ("locator", by, "n err/cor", "acc_err % [CI]", "acc_cor % [CI]", "F1 % [CI]",
                "Δ exact-match pts vs first [CI]", "early", "exact", "late", "missed", "no pred", "false alarm",
                "calls/rec", "tokens/rec", "oracle"):
        t.add_column(col, justify="left" if col in ("locator", by) else "right")
    base = {g: _hits(ps) for g, ps in runs[0].groups(by).items()} if runs else {}
    for k, run in enumerate(runs):
        groups = run.groups(by)
        for group, s in run.scores(by).items():
            c = s.confusion
            calls, tokens = run.cost(group, by)
            t.add_row(
                literal(run.name + (" [oracle-assisted]" if run.locator.oracle else ""), one_line=True),
                literal(group, one_line=True),
                f"{s.n_err}/{s.n_cor}",
                f"{_pct(s.acc_err)} {_ci(s.acc_err_ci)}" if s.n_err else "–",
                f"{_pct(s.acc_cor)} {_ci(s.acc_cor_ci)}" if s.n_cor else "–",
                f"{_pct(s.f1)} {_ci(s.f1_ci)}" if s.n_err and s.n_cor else "– (one class)",
                "baseline" if k == 0 else _paired(base.get(group, {}), groups[group]),
                str(c["early"]), str(c["exact"]), str(c["late"]), str(c["missed"]), str(c["no_prediction"]),
                str(c["false_alarm"]), f"{calls:.1f}", f"{tokens:.0f}", "yes" if run.locator.oracle else "no",
            )
    return t


LOCATE_LEGEND = (
    "acc_err: exact earliest-error step on records with an error; acc_cor: '-1' on records "
    "without one (Wilson 95% intervals); F1: their harmonic mean (ProcessBench), 95% interval "
    "from a seeded stratified bootstrap. early/exact/late/missed/no pred: predictions on records "
    "with an error; false alarm: a step named on a correct record. Δ exact-match: paired difference "
    "from the first locator in the share of records whose predicted step (or -1) equals the label "
    "(Newcombe 95% interval; +won/-lost records)."
)
