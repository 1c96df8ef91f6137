"""The round table of an improvement loop (``mistakelab show LOOP``), as rich tables.

One table per eval task and strategy, a row per round; then a table of what each round
trained on. Oracle-built training data (a ``rationalize`` recipe) is labeled in the title.

Example:
    >>> from mistakelab.learn.improve import LoopTable
    >>> round_tables(LoopTable("loop-1", "complete", [], [], False))
    []
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from mistakelab.learn.improve.table import LoopTable, RoundCell, RoundInfo
from mistakelab.metrics.stats import PairedDiff
from mistakelab.report.table import _ci, _pct, wide_console
from mistakelab.report.text import literal


def _delta(d: PairedDiff | None) -> str:
    if d is None:
        return "–"
    return f"{100 * d.diff:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}]"


def _cell_row(c: RoundCell, model: str) -> list[str]:
    w2r, r2w = ("–", "–") if c.vs_prev is None else (str(c.vs_prev.b_only), str(c.vs_prev.a_only))
    return [str(c.round), model, str(c.n), f"{_pct(c.accuracy)} {_ci(*c.ci)}",
            "baseline" if c.vs_base is None and c.round == 0 else _delta(c.vs_base), _delta(c.vs_prev), w2r, r2w,
            f"{c.out_tokens:.0f}", str(c.cut), str(c.failed)]


def round_tables(t: LoopTable) -> list[Table]:
    """A table per eval (task, strategy): one row per round."""
    out = []
    label = " [training data oracle-built]" if t.oracle_built else ""
    for task, strategy in t.keys():
        table = Table(title=literal(f"{t.loop_id}: {strategy} on {task}{label}", one_line=True), pad_edge=False)
        for col in ("round", "model", "n", "acc % [95% CI]", "Δ vs round 0", "Δ vs previous", "w→r", "r→w",
                    "out tok/problem", "cut", "failed"):
            table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
        for c in t.series(task, strategy):
            table.add_row(*_cell_row(c, "base" if c.round == 0 else f"+ adapter r{c.round}"))
        out.append(table)
    return out


def _info_row(r: RoundInfo) -> list[str]:
    solved = "–" if r.solved is None else f"{r.solved[0]}/{r.solved[1]}"
    recipes = ", ".join(f"{d['recipe']} {d['kept']}" + (" (oracle-built)" if d.get("oracle_built") else "")
                        for d in r.recipes) or "–"
    skipped = sum(sum(d["skipped"].values()) for d in r.recipes)
    loss = "–" if r.first_loss is None else f"{r.first_loss:.3f} → {r.last_loss:.3f}"
    return [str(r.round), solved, "–" if r.rows is None else str(r.rows), recipes, str(skipped) if r.recipes else "–",
            "–" if r.dataset_rows is None else str(r.dataset_rows), "–" if r.steps is None else str(r.steps),
            "–" if not r.train_tokens else f"{r.train_tokens:,}", loss,
            "–" if r.train_seconds is None else f"{r.train_seconds:.0f}", r.adapter or "–"]


#: the columns of :func:`_info_row` (the terminal and the HTML round tables)
INFO_COLUMNS = ("round", "train solved", "rows", "rows by recipe", "skipped", "train rows", "steps", "train tok",
                "loss", "train s", "adapter")


def rounds_table(t: LoopTable) -> Table:
    """What each round sampled, built and trained."""
    table = Table(title=literal(f"{t.loop_id}: training per round", one_line=True), pad_edge=False)
    for col in INFO_COLUMNS:
        table.add_column(col, justify="left" if col == "rows by recipe" else "right", no_wrap=col != "rows by recipe")
    for r in t.rounds:
        table.add_row(*_info_row(r))
    return table


def skip_lines(t: LoopTable) -> list[str]:
    """Per round, what each recipe skipped and why.

    Example:
        >>> from mistakelab.learn.improve import LoopTable, RoundInfo
        >>> skip_lines(LoopTable("l", "complete", [RoundInfo(1, None, 0, 0, [{"recipe": "rft", "kept": 0,
        ...     "skipped": {"problem with no correct solution": 3}}])], [], False))
        ['round 1 skipped: rft: problem with no correct solution 3']
    """
    out = []
    for r in t.rounds:
        parts = [f"{d['recipe']}: " + ", ".join(f"{why} {n}" for why, n in sorted(d["skipped"].items()))
                 for d in r.recipes if d["skipped"]]
        if parts:
            out.append(f"round {r.round} skipped: " + "; ".join(parts))
    return out


def serving_lines(t: LoopTable) -> list[str]:
    """Where the final adapter is and how to serve it (embedded engine, vLLM)."""
    a = t.adapter
    if a is None:
        return []
    return [f"final adapter (round {a.round}): {a.peft} (PEFT), {a.gguf} (GGUF LoRA)",
            f"  embedded engine: --model {a.base} with model option lora = {a.gguf}",
            f"  vLLM: {a.vllm_command()}",
            f"        then --backend openai --model {a.name} --base-url http://<host>:8000/v1"]


def print_loop(t: LoopTable, console: Console | None = None) -> None:
    wide = wide_console(console, 180)
    for table in round_tables(t):
        wide.print(table)
    wide.print(rounds_table(t))
    for line in skip_lines(t) + serving_lines(t):
        wide.print(line, markup=False, highlight=False, soft_wrap=True)  # paths stay whole
    wide.print(
        "acc: final answer correct, 95% Wilson interval. Δ: paired difference in percentage points on the "
        "problems both rounds finished (Newcombe interval). w→r / r→w: problems wrong at the previous round and "
        "right now, and the reverse. out tok: generated tokens per problem. cut: problems with an answer cut at "
        "max_tokens. train solved: train problems with a correct sample. Labels come from the gold answers "
        "(oracle-labelled data); skipped: candidates a recipe could not use (reasons in the loop's data stage).",
        style="dim")
