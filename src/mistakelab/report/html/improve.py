"""The HTML report of an improvement loop (``mistakelab report LOOP``): the round tables and
the accuracy-by-round plot (one line per eval task and strategy, 95% intervals), in one
self-contained file that loads nothing.

Example:
    >>> from mistakelab.learn.improve import LoopTable
    >>> "<svg" not in loop_page(LoopTable("loop-1", "running", [], [], False))  # no rounds: no plot
    True
"""

from __future__ import annotations

import html
from pathlib import Path

from matplotlib import rc_context
from matplotlib.figure import Figure

from mistakelab.learn.improve.table import LoopTable
from mistakelab.report.html.plots import _COLORS, _RC, _figure, _short, svg_uri
from mistakelab.report.html.text import clean
from mistakelab.report.improve import INFO_COLUMNS, _cell_row, _info_row

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = ("body{font:14px system-ui,sans-serif;margin:2em;max-width:75em}table{border-collapse:collapse;margin:1em 0}"
         "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}th{background:#f4f4f4}"
         "td:nth-child(2){text-align:left}.note{color:#555;font-size:12px}")


def accuracy_by_round_figure(t: LoopTable) -> Figure:
    """Accuracy (95% interval) per round, one line per eval task and strategy."""
    with rc_context(_RC):
        fig, ax = _figure()
        for i, (task, strategy) in enumerate(t.keys()):
            cells = t.series(task, strategy)
            xs = [c.round for c in cells]
            ys = [100 * c.accuracy for c in cells]
            err = [[y - 100 * c.ci[0] for y, c in zip(ys, cells)], [100 * c.ci[1] - y for y, c in zip(ys, cells)]]
            ax.errorbar([x + 0.03 * i for x in xs], ys, yerr=err, marker="o", capsize=3, color=_COLORS[i % len(_COLORS)],
                        label=_short(f"{strategy} on {task}", 50))
        rounds = sorted({c.round for c in t.cells})
        ax.set_xticks(rounds, [("base" if r == 0 else f"r{r}") for r in rounds])
        ax.set_xlabel("round (0 = base model)")
        ax.set_ylabel("accuracy % (95% CI)")
        ax.set_ylim(-2, 102)
        ax.set_title(_short(f"{t.loop_id}: accuracy by round", 80))
        ax.legend(fontsize=7, loc="best", frameon=False)
    return fig


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(clean(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def loop_page(t: LoopTable) -> str:
    """The whole page as a string."""
    title = html.escape(clean(f"mistakelab loop {t.loop_id} ({t.status})"))
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='Content-Security-Policy' "
             f"content=\"{CSP}\"><title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1>"]
    if t.oracle_built:
        parts.append("<p><b>Training data oracle-built</b>: a recipe showed the gold answer to the model.</p>")
    if t.cells:
        parts.append(f"<img alt='accuracy by round' src='{svg_uri(accuracy_by_round_figure(t))}'>")
    head = ["round", "model", "n", "acc % [95% CI]", "Δ vs round 0", "Δ vs previous", "w→r", "r→w",
            "out tok/problem", "cut", "failed"]
    for task, strategy in t.keys():
        parts.append(f"<h2>{html.escape(clean(f'{strategy} on {task}'))}</h2>")
        parts.append(_table(head, [_cell_row(c, "base" if c.round == 0 else f"+ adapter r{c.round}")
                                   for c in t.series(task, strategy)]))
    parts.append("<h2>Training per round</h2>")
    parts.append(_table(list(INFO_COLUMNS), [_info_row(r) for r in t.rounds]))
    parts.append("<p class='note'>Δ: paired difference in percentage points (Newcombe 95% interval) on the problems "
                 "both rounds finished; w→r / r→w since the previous round; cut: answers cut at max_tokens.</p>")
    return "".join(parts) + "</body></html>"


def write_loop_report(t: LoopTable, out: str | Path) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(loop_page(t), encoding="utf-8")
    return path
