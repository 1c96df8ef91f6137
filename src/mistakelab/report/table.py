"""Render run summaries as a rich table (terminal) or plain text.

Every accuracy carries n and a 95% Wilson interval; comparisons are paired differences to
the first strategy on the same problems; oracle-assisted rows are labeled.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from mistakelab.core.types import ServerStats
from mistakelab.metrics.summary import StrategySummary
from mistakelab.report.text import literal


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _ci(lo: float, hi: float) -> str:
    return f"[{_pct(lo)}, {_pct(hi)}]"


def _self_correction(r: StrategySummary) -> str:
    if r.cl is None and r.cs is None and r.rss is None:
        return "–"
    cl = "–" if r.cl is None else _pct(r.cl)
    cs = "–" if r.cs is None else _pct(r.cs)
    return f"{cl} / {cs} / {'–' if r.rss is None else f'{r.rss:.2f}'}"


def rounds_lines(rows: list[StrategySummary]) -> list[str]:
    """One line per multi-round strategy: cumulative accuracy after each round, Succ@T,
    mean answers to the first correct one."""
    out = []
    for r in rows:
        if r.cumulative and len(r.cumulative) > 1:
            curve = " → ".join(_pct(x) for x in r.cumulative)
            turns = "–" if r.turns_to_success is None else f"{r.turns_to_success:.2f}"
            out.append(f"{r.strategy}: solved within round 1..{len(r.cumulative)} (%): {curve}; "
                       f"mean answers to the first correct one: {turns}")
    return out


def revision_lines(metrics: dict[str, dict[str, object]]) -> list[str]:
    """One line per strategy with trace-based revision figures
    (:func:`mistakelab.metrics.revision_metrics`), saying only those that apply.

    Example:
        >>> revision_lines({"wait": {"unique_answer_ratio": None, "repeat_share": (0, 0),
        ...     "verify_pass": {"wrong": (0, 0), "right": (0, 0)}, "answer_changed": (3, 40),
        ...     "redactions": (0, 0)}})
        ['wait: answer changed in 3/40 revisions']
    """
    out = []
    for name, m in metrics.items():
        parts = []
        u, (rep, failed), vp = m["unique_answer_ratio"], m["repeat_share"], m["verify_pass"]
        if u is not None:
            parts.append(f"unique-answer ratio {u:.2f}")  # type: ignore[str-format]
        if failed:
            parts.append(f"never solved, same answer every turn: {rep}/{failed}")
        (wp, wn), (rp, rn) = vp["wrong"], vp["right"]  # type: ignore[index]
        if wn or rn:
            parts.append(f"verification passed {wp}/{wn} wrong and {rp}/{rn} right answers")
        changed, steps = m["answer_changed"]  # type: ignore[misc]
        if steps:
            parts.append(f"answer changed in {changed}/{steps} revisions")
        texts, hits = m["redactions"]  # type: ignore[misc]
        if texts:
            parts.append(f"gold answer redacted from {texts} feedback texts ({hits} occurrences)")
        if parts:
            out.append(f"{name}: " + "; ".join(parts))
    return out


def summary_table(rows: list[StrategySummary], title: str = "") -> Table:
    """A rich Table of strategy summaries for one (model, task) group."""
    table = Table(title=literal(title, one_line=True) if title else None, show_lines=False, pad_edge=False)
    roles = sorted({role for r in rows for role in r.tokens_by_role}, key=lambda x: (x != "solver", x))
    by_role = len(roles) > 1
    for col in ("strategy", "n", "acc % [95% CI]", "Δ pts vs first [95% CI]", "w→r", "r→w",
                "CL / CS / RSS", "pass@k % [95% CI]", "tok/prob [95% CI]", *(["tok/prob by role"] if by_role else []),
                "calls/prob", "s/prob", "failed", "oracle"):
        # the strategy label wraps, so a narrow terminal folds it rather than the numbers
        table.add_column(col, justify="left" if col == "strategy" else "right", no_wrap=col != "strategy",
                         min_width=12 if col == "strategy" else None, overflow="fold")
    for r in rows:
        if r.vs_baseline is None:
            vs = "baseline"
        else:
            d = r.vs_baseline
            vs = f"{100 * d.diff:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}] +{d.b_only}/-{d.a_only}"
        pk = "–" if r.pass_at_k is None or r.pass_ci is None else f"{_pct(r.pass_at_k)} {_ci(*r.pass_ci)}"
        split = [" / ".join(f"{role} {r.tokens_by_role.get(role, 0):.0f}" for role in roles)] if by_role else []
        table.add_row(
            literal(r.strategy + (" [oracle-assisted]" if r.oracle else ""), one_line=True), str(r.n),
            f"{_pct(r.accuracy)} {_ci(*r.ci)}", vs, str(r.wrong_to_right), str(r.right_to_wrong),
            _self_correction(r), pk, f"{r.mean_tokens:.0f} [{r.tokens_ci[0]:.0f}, {r.tokens_ci[1]:.0f}]", *split, f"{r.mean_calls:.1f}", f"{r.mean_seconds:.0f}",
            str(r.failed), "yes" if r.oracle else "no",
        )
    return table


def grouped_tables(rows: list[StrategySummary], title: str = "") -> list[Table]:
    """One table per (model, task), titled with both."""
    groups: dict[tuple[str, str], list[StrategySummary]] = {}
    for r in rows:
        groups.setdefault((r.model, r.task), []).append(r)
    prefix = f"{title}: " if title else ""
    return [summary_table(g, f"{prefix}{m} on {t}") for (m, t), g in groups.items()]


def wide_console(console: Console | None = None, width: int = 160) -> Console:
    """A console at least ``width`` columns wide: piped output defaults to 80 columns, which
    would fold every table cell."""
    console = console or Console()
    return Console(width=max(console.width, width), file=console.file,
                   force_terminal=console.is_terminal, no_color=console.no_color)


def print_summary(rows: list[StrategySummary], title: str = "", console: Console | None = None) -> None:
    wide = wide_console(console, 200)  # a column per figure: 160 would fold them
    for table in grouped_tables(rows, title):
        wide.print(table)
    for line in rounds_lines(rows):
        wide.print(line, markup=False, highlight=False)
    wide.print(
        "acc: final answer correct, 95% Wilson interval. Δ: paired difference to the first "
        "strategy on the same problems, in percentage points (Newcombe interval; +problems only "
        "this one solved / -only the first solved). w→r / r→w: first answer in the trace vs the "
        "final one. CL / CS / RSS (strategies with several answers): % of first-right answers kept right, % of "
        "first-wrong answers made right, relative self-correction score (0.5 = answers kept; METHODS §5). tok: prompt + completion tokens, cache hits included (the strategy's own "
        "cost), split by model role when a strategy uses several. s/prob: wall seconds per "
        "problem, shared with the other units in flight. failed: units whose model calls failed "
        "(not counted in n; run again to retry them).",
        style="dim",
    )


def server_table(rows: list[tuple[str, ServerStats]]) -> Table:
    """Per-server figures of the pools of servers that served a run (``show``).

    Example:
        >>> from mistakelab.core.types import ServerStats
        >>> t = server_table([("openai:m@pool", ServerStats(server="http://a/v1", calls=3, failures=1,
        ...                                                    completion_tokens=20, latency_s=1.0))])
        >>> t.row_count, [c.header for c in t.columns][:4]
        (1, ['model', 'server', 'calls', 'failed'])
    """
    table = Table(title="servers", pad_edge=False)
    for col in ("model", "server", "calls", "failed", "answered", "prompt tok", "completion tok", "s/call",
                "marked down"):
        table.add_column(col, justify="left" if col in ("model", "server") else "right", no_wrap=True)
    for model, s in rows:
        table.add_row(literal(model, one_line=True), literal(s.server, one_line=True), str(s.calls), str(s.failures),
                      str(s.answered), str(s.prompt_tokens), str(s.completion_tokens),
                      f"{s.latency_s / s.answered:.3f}" if s.answered else "–", str(s.downs))
    return table
