"""Does batching cost accuracy? Greedy cot alone (one sequence, one unit at a time) vs batched.

Both arms run the same greedy ``cot`` on the same problems of a GSM8K-format file through the
ordinary runner and run store (so each arm is resumable: kill it and run again), with
different ``cache_tag`` options so that neither is served the other's completions:

* ``alone``: ``n_seq = 1``, ``concurrency = 1``: every request decodes by itself;
* ``batched``: the engine's defaults (``n_seq`` 32, one KV stream per sequence, flash
  attention) with 32 units in flight.

Prints the share of identical outputs, the accuracy of each arm with its 95% interval, and
the paired difference (batched - alone) with its interval and the discordant pairs. Greedy
decoding in a batch is not bit-identical to decoding alone (llama.cpp's kernels round
differently for other batch shapes); a systematic loss would show as a paired difference
whose interval excludes zero.

Usage:
    python bench/batch_fidelity.py --data ../shared/data/gsm8k_dev.jsonl -n 200
    python bench/batch_fidelity.py --model smollm2-135m -n 20      # quick
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from mistakelab.metrics.stats import paired_difference, wilson_interval
from mistakelab.runner.config import parse_config
from mistakelab.runner.run import run_experiment
from mistakelab.store.db import RunStore


def config(arm: str, args: argparse.Namespace) -> dict:
    options = {"n_seq": 1, "cache_tag": "fidelity-alone"} if arm == "alone" else {"n_seq": args.n_seq, "cache_tag": "fidelity-batched"}
    return {
        "name": f"fidelity-{arm}", "seed": 0, "n_problems": args.n, "store": str(args.store),
        "concurrency": 1 if arm == "alone" else args.n_seq,
        "models": [{"backend": "local", "model": args.model, "options": options}],
        "tasks": [{"name": "gsm8k_file", "options": {"path": str(Path(args.data).resolve())}}],
        "strategies": [{"name": "cot"}],
        "generation": {"temperature": 0.0, "max_tokens": args.max_tokens},
    }


def outcomes(store: RunStore, run_id: str) -> dict[str, tuple[bool, str]]:
    """problem id -> (correct, final text of the solution)."""
    out = {}
    for row, trace in store.units_with_traces(run_id):
        if row.result is None or row.status != "done":
            continue
        text = trace.calls[-1].completion.text if trace is not None and trace.calls else ""
        out[row.problem_id] = (bool(row.result.correct), text)
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--data", default="../shared/data/gsm8k_dev.jsonl")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--n-seq", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--store", type=Path, default=Path("runs/batch_fidelity.db"))
    ap.add_argument("--arms", default="batched,alone")
    ap.add_argument("--report-only", action="store_true",
                    help="compare what both arms have finished so far, running nothing")
    args = ap.parse_args()
    args.store.parent.mkdir(parents=True, exist_ok=True)
    ids = {arm: parse_config(config(arm, args), f"<{arm}>").run_id() for arm in ("alone", "batched")}
    for arm in [] if args.report_only else args.arms.split(","):
        cfg = parse_config(config(arm, args), f"<{arm}>")
        summary = await run_experiment(cfg)
        print(f"{arm}: {summary.units_done} units run, {summary.units_skipped} already done, "
              f"{summary.units_failed} failed, {summary.seconds:.0f} s", flush=True)
    store = RunStore(args.store)
    a, b = outcomes(store, ids["alone"]), outcomes(store, ids["batched"])
    both = sorted(set(a) & set(b))
    n = len(both)
    same = sum(a[p][1] == b[p][1] for p in both)
    ka, kb = sum(a[p][0] for p in both), sum(b[p][0] for p in both)
    print(f"\nmodel {args.model}, greedy cot, {args.max_tokens} max tokens, {n} problems of {args.data}")
    print(f"identical outputs: {same}/{n} ({100 * same / max(n, 1):.1f}%)")
    for name, k in (("alone   (n_seq 1, 1 unit)", ka), (f"batched (n_seq {args.n_seq}, {args.n_seq} units)", kb)):
        lo, hi = wilson_interval(k, n)
        print(f"{name}: {k}/{n} = {100 * k / n:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]")
    d = paired_difference([a[p][0] for p in both], [b[p][0] for p in both])
    won = sum(b[p][0] and not a[p][0] for p in both)
    lost = sum(a[p][0] and not b[p][0] for p in both)
    print(f"paired Δ (batched - alone): {100 * d.diff:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}]"
          f"  (batched right only: {won}, alone right only: {lost})")


if __name__ == "__main__":
    asyncio.run(main())
