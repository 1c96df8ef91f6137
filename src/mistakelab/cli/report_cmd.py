"""``mistakelab report``: one self-contained HTML file of a stored run."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from mistakelab.cli.common import DEFAULT_STORE, app, open_run, say


@app.command()
def report(
    run: str = typer.Argument(..., help="Run id (or its name: the latest run of that name), e.g. locate-0."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="HTML file to write (default <run id>.html)."),
    store: str = typer.Option(DEFAULT_STORE, help="Run store file."),
    step_budget: int = typer.Option(1000, min=0, help="Most solutions whose steps the report checks (1-4 ms "
                                    "each): the histogram's wrong solutions first (a sample if there are more), "
                                    "then wrong and changed units."),
) -> None:
    """Write an HTML report: summary, plots, trace viewer (opens from disk, no network)."""
    from mistakelab.report.html import write_report

    sr = open_run(store, run)
    info = sr.info
    path = out or Path(f"{info.id}.html")
    if info.config.get("kind") == "improve":  # a self-improvement loop: round tables + accuracy by round
        from mistakelab.learn.improve import loop_table
        from mistakelab.report.html.improve import write_loop_report

        write_loop_report(loop_table(sr.store, info.id), path)
        sr.store.close()
        say("report of loop ", info.id, "; wrote ", str(path.resolve()))
        return
    rendered = write_report(sr.store, info.id, path, step_budget=step_budget)
    sr.store.close()
    size = path.stat().st_size
    say("report of ", info.id, f": {rendered.units} units, {rendered.problems} problems, "
        f"{size / 1e6:.1f} MB in {rendered.seconds:.1f} s")
    say("wrote ", str(path.resolve()))
