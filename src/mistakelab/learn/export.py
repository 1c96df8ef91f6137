"""Write one export format of a run as a dataset directory.

Layout of ``out``::

    README.md             dataset card: provenance, counts, the source tasks' licenses
    data/train.parquet    the rows, written by Hugging Face ``datasets`` (needs the train extra)
    train.jsonl           the same rows as JSON lines
    provenance.jsonl      per row (same order): problem, task, unit and kind it came from

``datasets.load_dataset(str(out))`` loads the Parquet file (the card's ``configs`` point at
it). Every row holds exactly the format's TRL columns; a format that yields anything else is
a bug and raises.

Example:
    >>> import asyncio, json, pathlib, tempfile
    >>> from mistakelab.runner import parse_config, run_experiment
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> cfg = parse_config({"store": str(d / "r.db"), "n_problems": 2,
    ...     "models": [{"backend": "scripted", "model": "fake", "options": {"outputs": ["\\\\boxed{7}"] * 2}}],
    ...     "tasks": [{"name": "gsm8k_sample"}], "strategies": [{"name": "cot"}]})
    >>> _ = asyncio.run(run_experiment(cfg))
    >>> res = export_run(RunSource.open(cfg.store, cfg.run_id()), "unpaired", {}, d / "kto", parquet=False)
    >>> res.rows, [json.loads(l)["label"] for l in (d / "kto" / "train.jsonl").read_text().splitlines()]
    (2, [True, False])
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mistakelab.learn.formats import ExportFormat, Row, Skip, export_formats
from mistakelab.learn.source import RunSource

PARQUET = Path("data") / "train.parquet"


class ExportError(ValueError):
    """An export that cannot be written as asked (the message says why)."""


@dataclass
class ExportResult:
    format: str
    out: Path
    rows: int
    problems: int
    skipped: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)  # rows per ``meta["source"]`` where set
    parquet: Path | None = None


def export_run(source: RunSource, fmt_name: str, options: dict[str, Any], out: str | Path,
               parquet: bool = True) -> ExportResult:
    """Build format ``fmt_name`` over ``source`` and write it under ``out``."""
    fmt = export_formats.get(fmt_name)
    params = fmt.parse(options)
    columns = fmt.columns(params)
    rows: list[Row] = []
    skipped: Counter[str] = Counter()
    for item in fmt.build(source, params):
        if isinstance(item, Skip):
            skipped[item.reason] += 1
            continue
        if tuple(item.data) != columns:
            raise AssertionError(f"export format {fmt_name!r} made a row with columns {tuple(item.data)}, "
                                 f"not {columns}")
        rows.append(item)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "train.jsonl", [r.data for r in rows])
    write_jsonl(out / "provenance.jsonl", [{"row": i, **r.meta} for i, r in enumerate(rows)])
    result = ExportResult(fmt_name, out, len(rows), len({(r.meta.get("task"), r.meta.get("problem_id")) for r in rows}),
                          skipped, Counter(str(r.meta["source"]) for r in rows if "source" in r.meta))
    if parquet and rows:
        result.parquet = _parquet(out, [r.data for r in rows])
    (out / "README.md").write_text(dataset_card(source, fmt, params, result), encoding="utf-8")
    return result


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """``records`` as JSON lines (UTF-8, one object a line)."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def _parquet(out: Path, records: list[dict[str, Any]]) -> Path:
    try:
        import datasets
    except ImportError:
        raise ExportError("writing Parquet needs Hugging Face datasets: pip install 'mistakelab[train]' "
                          "(or export with --no-parquet for JSON lines only)") from None
    path = out / PARQUET
    path.parent.mkdir(parents=True, exist_ok=True)
    was_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # a one-file write needs no bar
    try:
        datasets.Dataset.from_list(records).to_parquet(str(path))
    finally:
        if was_on:
            datasets.enable_progress_bars()
    return path


def _spdx(licenses: dict[str, str]) -> str:
    ids = {v.split(" ", 1)[0].lower() for v in licenses.values()}
    return ids.pop() if len(ids) == 1 and "unknown:" not in ids else "other"


def dataset_card(source: RunSource, fmt: ExportFormat, params: Any, res: ExportResult) -> str:
    """The README.md of an export: YAML header for the hub and ``load_dataset``, then prose."""
    from mistakelab import __version__

    prov = source.provenance()
    licenses = source.licenses()
    cols = fmt.columns(params)
    head = ["---", f"license: {_spdx(licenses)}", "tags:", "- trl", "- mistakelab", f"- {fmt.name}"]
    if res.parquet is not None:
        head += ["configs:", "- config_name: default", "  data_files:", "  - split: train", f"    path: {PARQUET.as_posix()}"]
    head.append("---")
    created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(prov["created"]))
    lines = [
        f"# mistakelab `{fmt.name}` export of run `{prov['run']}`", "",
        f"{fmt.doc.splitlines()[0] if fmt.doc else ''}", "",
        f"- TRL dataset type: {fmt.type_of(params)}; columns: {', '.join(f'`{c}`' for c in cols)}",
        f"- trainer: `{fmt.trainer}`; method: {fmt.method or '-'}",
        f"- export options: `{json.dumps(params.model_dump(), ensure_ascii=False)}`",
        "- labels: from the run's grading against the gold answers (and the tasks' exact step verifiers): "
        "oracle-labelled by nature",
        "", "## Provenance", "",
        f"- run `{prov['run']}` (name `{prov['run_name']}`, created {created} UTC, git `{prov['git_rev'] or '-'}`)",
        f"- store `{prov['store']}`",
        f"- models: {', '.join(map(str, prov['models']))}; tasks: {', '.join(prov['tasks'])}; "
        f"strategies: {', '.join(map(str, prov['strategies']))}; seed {prov['seed']}",
        f"- generation: `{json.dumps(prov['generation'], sort_keys=True)}`",
        f"- exported {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC by mistakelab {__version__}",
        "", "## Counts", "",
        f"- rows: {res.rows}; problems: {res.problems}",
    ]
    lines += [f"- rows from `{k}`: {n}" for k, n in sorted(res.kinds.items())]
    lines += [f"- skipped ({reason}): {n}" for reason, n in sorted(res.skipped.items())]
    lines += ["", "## Licenses of the source tasks", "", "| task | license |", "|---|---|"]
    lines += [f"| `{t}` | {lic} |" for t, lic in sorted(licenses.items())]
    lines += ["", "## Files", "", "- `train.jsonl`: the rows as JSON lines",
              "- `provenance.jsonl`: per row, the problem, task and unit it came from",
              f"- `{PARQUET.as_posix()}`: the rows as Parquet (`datasets.load_dataset(<this folder>)`)"
              if res.parquet is not None else "- no Parquet file (exported without it, or no rows)"]
    return "\n".join(head + lines) + "\n"
