"""``compare``: every strategy of a run against self-consistency at equal tokens."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape

from mistakelab.cli.common import DEFAULT_STORE, app, console, fail, open_graded_run


def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


@app.command()
def compare(
    run: str = typer.Argument(..., help="Run id (or name) holding self_consistency and other strategies."),
    store: str = typer.Option(DEFAULT_STORE, help="Run store file."),
    baseline: Optional[str] = typer.Option(None, help="Strategy label of the paired Δ column (default: cot)."),
    boot: int = typer.Option(2000, min=100, help="Bootstrap resamples of the problems."),
    seed: int = typer.Option(0, help="Seed of the bootstrap and of subset sampling."),
) -> None:
    """Self-consistency's accuracy-vs-tokens curve (maj@m from its own samples) and each
    strategy's point against it: "at equal tokens, X is +d points [95% CI] over SC"."""
    from rich.table import Table

    from mistakelab.experiments.compare_run import compare_run
    from mistakelab.report import wide_console

    sr = open_graded_run(store, run, "compare")
    info = sr.info
    if baseline is not None and baseline not in sr.strategy_labels:
        fail(f"flag --baseline {baseline!r}: no such strategy in run {info.id}; its strategies: "
             f"{', '.join(sr.strategy_labels) or '(none)'}")
    groups = compare_run(sr.store, info.id, baseline=baseline, n_boot=boot, seed=seed)
    if not groups:
        fail(f"run {info.id} has no finished units")
    out = wide_console(console, 180)
    for g in groups:
        title = f"{g.model} · {g.task}"
        if g.sc_label is None:
            out.print(escape(f"{title}: no self_consistency in this run; nothing to compare at equal tokens"))
        else:
            out.print(escape(f"{title}: {g.sc_label}, maj@m from its own samples"), highlight=False)
            curve = Table("m", *(str(m) for m, _, _ in g.curve), pad_edge=False)
            curve.add_row("tok/prob", *(f"{tok:.0f}" for _, tok, _ in g.curve))
            curve.add_row("maj@m %", *(f"{100 * acc:.1f}" for _, _, acc in g.curve))
            out.print(curve)
        table = Table(title=escape(title), pad_edge=False)
        for col in ("strategy", "n", "acc % [95% CI]", "tok/prob", f"Δ pts vs {g.baseline or '–'} [95% CI]",
                    "SC at equal tok (m)", "Δ pts vs SC at equal tok [95% CI]", "oracle"):
            table.add_column(col, justify="left" if col == "strategy" else "right", no_wrap=True)
        for r in g.rows:
            vs = "–" if r.vs_baseline is None else (
                f"{_pts(r.vs_baseline.diff)} [{_pts(r.vs_baseline.low)}, {_pts(r.vs_baseline.high)}]")
            eq, sc = "–", "–"
            if r.equal is not None:
                e = r.equal
                sc = f"{100 * e.sc_accuracy:.1f} ({e.m:.1f}{' ' + e.flag if e.flag else ''})"
                eq = f"{_pts(e.diff)} [{_pts(e.low)}, {_pts(e.high)}]"
            table.add_row(escape(r.strategy), str(r.n), f"{100 * r.accuracy:.1f} [{100 * r.ci[0]:.1f}, "
                          f"{100 * r.ci[1]:.1f}]", f"{r.tokens:.0f}", vs, sc, eq, "yes" if r.oracle else "no")
        out.print(table)
    out.print("SC at equal tok: maj@m interpolated at the strategy's mean tokens on the problems both "
                  "finished (<1: cheaper than one sample; >k: dearer than all samples, compared with maj@k). "
                  "Intervals: paired bootstrap over problems (Δ vs SC), Newcombe (Δ vs baseline).",
                  highlight=False)
