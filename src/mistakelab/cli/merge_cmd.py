"""``merge``: join run stores (the shards of a run) into one."""

from __future__ import annotations

from pathlib import Path

import typer

from mistakelab.cli.common import app, fail, say


@app.command()
def merge(
    stores: list[Path] = typer.Argument(..., help="Run stores to merge (e.g. the shard stores of a run)."),
    out: Path = typer.Option(..., "--out", "-o", help="Store to merge into (created, or added to)."),
) -> None:
    """Merge run stores: identical units are kept once; units that differ refuse the merge."""
    from mistakelab.store.merge import merge_stores
    from mistakelab.store.sqlite import StoreError

    try:
        summary = merge_stores(stores, out)
    except StoreError as exc:
        fail(str(exc))
    say(f"merged {len(stores)} stores into {out}: {summary.runs} runs, {summary.units} units"
        f"{f' ({summary.duplicates} identical copies kept once)' if summary.duplicates else ''}")
