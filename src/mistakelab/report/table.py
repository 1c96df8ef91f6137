"""Render run summaries as a rich table (terminal) or plain text.

Every accuracy carries n and a 95% Wilson interval; comparisons are paired differences to
the first strategy on the same problems; oracle-assisted rows are labeled.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from mistakelab.metrics.summary import StrategySummary


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _ci(lo: float, hi: float) -> str:
    return f"[{_pct(lo)}, {_pct(hi)}]"


def summary_table(rows: list[StrategySummary], title: str = "") -> Table:
    """A rich Table of strategy summaries (one per model × task × strategy)."""
    table = Table(title=title or None, show_lines=False)
    for col, just in [
        ("model", "left"), ("task", "left"), ("strategy", "left"), ("n", "right"),
        ("acc % [95% CI]", "right"), ("Δ vs first, pts [95% CI]", "right"),
        ("wrong→right", "right"), ("right→wrong", "right"), ("pass@k % [95% CI]", "right"),
        ("tokens/prob", "right"), ("calls/prob", "right"), ("s/prob", "right"), ("oracle", "center"),
    ]:
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in rows:
        if r.vs_baseline is None:
            vs = "(baseline)"
        else:
            d = r.vs_baseline
            vs = f"{100 * d.diff:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}] (+{d.b_only}/-{d.a_only})"
        pk = "–" if r.pass_at_k is None or r.pass_ci is None else f"{_pct(r.pass_at_k)} {_ci(*r.pass_ci)}"
        table.add_row(
            r.model, r.task, r.strategy + (" [oracle-assisted]" if r.oracle else ""), str(r.n),
            f"{_pct(r.accuracy)} {_ci(*r.ci)}", vs, str(r.wrong_to_right), str(r.right_to_wrong),
            pk, f"{r.mean_tokens:.0f}", f"{r.mean_calls:.1f}", f"{r.mean_seconds:.1f}",
            "yes" if r.oracle else "no",
        )
    return table


def print_summary(rows: list[StrategySummary], title: str = "", console: Console | None = None) -> None:
    console = console or Console()
    console.print(summary_table(rows, title))
    console.print(
        "acc: final answer correct, 95% Wilson interval. Δ: paired difference to the first "
        "strategy on the same problems (Newcombe interval; +problems only this one solved / "
        "-only the first solved). wrong→right / right→wrong: first answer in the trace vs the "
        "final one. tokens: prompt + completion, cache hits included (the strategy's own cost).",
        style="dim",
    )
