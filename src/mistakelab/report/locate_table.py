"""Tables for the locator benchmark and for confidence calibration."""

from __future__ import annotations

from rich.table import Table

from mistakelab.locate.bench import LocatorRun


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _ci(lo_hi: tuple[float, float]) -> str:
    return f"[{_pct(lo_hi[0])}, {_pct(lo_hi[1])}]"


def locator_table(runs: list[LocatorRun], title: str = "") -> Table:
    t = Table(title=title or None)
    for col in ("locator", "split", "n err/cor", "acc_err % [CI]", "acc_cor % [CI]", "F1 % [CI]",
                "early", "exact", "late", "missed", "no pred", "false alarm", "calls/rec", "tokens/rec", "oracle"):
        t.add_column(col, justify="left" if col in ("locator", "split") else "right")
    for run in runs:
        for split, s in run.scores().items():
            c = s.confusion
            calls, tokens = run.cost(split)
            t.add_row(
                run.name + (" [oracle-assisted]" if run.locator.oracle else ""), split,
                f"{s.n_err}/{s.n_cor}", f"{_pct(s.acc_err)} {_ci(s.acc_err_ci)}",
                f"{_pct(s.acc_cor)} {_ci(s.acc_cor_ci)}", f"{_pct(s.f1)} {_ci(s.f1_ci)}",
                str(c["early"]), str(c["exact"]), str(c["late"]), str(c["missed"]), str(c["no_prediction"]),
                str(c["false_alarm"]), f"{calls:.1f}", f"{tokens:.0f}", "yes" if run.locator.oracle else "no",
            )
    return t


LOCATE_LEGEND = (
    "acc_err: exact earliest-error step on records with an error; acc_cor: '-1' on records "
    "without one (Wilson 95% intervals); F1: their harmonic mean (ProcessBench), 95% interval "
    "from a seeded stratified bootstrap. early/exact/late/missed/no pred: predictions on records "
    "with an error; false alarm: a step named on a correct record."
)
