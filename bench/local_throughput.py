"""Aggregate generation throughput of the local llama.cpp backend with continuous batching.

For 1, 4 and 8 concurrent sequences it measures (a) k samples of ONE prompt through
``sample`` (prompt evaluated once, KV shared) and (b) DIFFERENT prompts through concurrent
``generate`` calls, and prints tokens, seconds, tokens/s and the speed-up over 1 sequence.

With ``--signals`` the rows at the highest level are also run with ``logprobs=True``
(per-token logprob, entropy and KL from uniform over the full vocabulary), each right after
its plain twin, and the throughput drop is printed. Seeds are equal, so both runs sample the
same tokens and do the same model work: the difference is the statistics. ``stats s`` is the
engine's own timer for them, a less noisy view of the same cost.

Usage:
    python bench/local_throughput.py                        # qwen2.5-coder-0.5b (default model)
    python bench/local_throughput.py --model smollm2-135m   # quick run
    python bench/local_throughput.py --signals              # + cost of logprobs at 8 seqs
    python bench/local_throughput.py --full                 # no early EOS: every row full length

``--full`` sets ``min_tokens = max_tokens`` (end-of-generation masked until then), so every
sequence decodes the whole budget and the rows measure a full batch, not the 6-7 sequences
that are still alive on average when samples stop at EOS.

Needs the ``local`` extra and the model's packages installed. Timings include prompt
evaluation and sampling; generated counts are real (requests may stop early at EOS).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from mistakelab.backends.local.backend import LocalBackend
from mistakelab.backends.local.engine import EngineSettings
from mistakelab.core.types import GenParams, Message

PROMPTS = [
    "Write a Python function that checks whether a string is a palindrome, and explain it.",
    "Explain how binary search works, step by step, with an example.",
    "Write a short story about a robot learning to paint.",
    "What are the differences between lists and tuples in Python? Give examples.",
    "Describe how a hash map handles collisions.",
    "Write a SQL query that finds the second highest salary, and explain it.",
    "Explain recursion to a beginner using a real-life analogy.",
    "Write a bash script that counts the lines of every .py file in a folder.",
]
TARGET_TOKS, TARGET_RATIO = 55.0, 2.3  # at 8 samples of one prompt, on qwen2.5-coder-0.5b
TARGET_SIGNALS_DROP = 10.0  # % throughput lost to logprobs at 8 sequences (the issue's target)


async def run_case(backend: LocalBackend, mode: str, n: int, max_tokens: int,
                   logprobs: bool = False, full: bool = False) -> dict:
    params = GenParams(temperature=0.7, top_p=0.95, max_tokens=max_tokens, logprobs=logprobs,
                       min_tokens=max_tokens if full else 0)
    backend.engine.reset_stats()
    start = time.perf_counter()
    with backend.engine.hold():  # all requests start in one step: repeatable batches
        if mode == "samples":
            tasks = [asyncio.ensure_future(backend.sample(
                [Message(role="user", content=PROMPTS[0])], params, list(range(n))))]
        else:
            tasks = [asyncio.ensure_future(backend.generate(
                [Message(role="user", content=PROMPTS[i % len(PROMPTS)])], params.with_(seed=i)))
                for i in range(n)]
        await asyncio.sleep(0)  # let every task submit
    done = await asyncio.gather(*tasks)
    outs = done[0] if mode == "samples" else done
    seconds = time.perf_counter() - start
    errors = [c.error for c in outs if c.error]
    if errors:
        raise SystemExit(f"generation failed: {errors[0]}")
    stats = backend.engine.stats_snapshot()
    tokens = sum(c.completion_tokens for c in outs)
    return {"mode": mode, "n": n, "logprobs": logprobs, "tokens": tokens,
            "texts": [c.text for c in outs], "seconds": seconds, "tps": tokens / seconds,
            "prompt": stats.prompt_tokens_evaluated, "decode_s": stats.decode_s,
            "sample_s": stats.sample_s, "steps": stats.decode_steps}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seqs", default="1,4,8", help="comma-separated concurrency levels")
    ap.add_argument("--signals", action="store_true",
                    help="also run the highest level with logprobs on and print the drop")
    ap.add_argument("--full", action="store_true", help="min_tokens = max_tokens: no sequence stops early")
    args = ap.parse_args()
    levels = [int(x) for x in args.seqs.split(",")]
    # prefix cache off: each row (and each +lp twin) evaluates its prompt, as the comparison assumes
    settings = EngineSettings(n_seq=max(levels), n_ctx_per_seq=1024, n_threads=args.threads, prefix_cache=False)
    t0 = time.perf_counter()
    backend = LocalBackend(args.model, settings)
    loaded = time.perf_counter() - t0
    print(f"model {backend.model_id}  ({backend.path.name}, loaded in {loaded:.1f}s)")
    print(f"threads {args.threads}, max_tokens {args.max_tokens}, temperature 0.7, top_p 0.95"
          f"{', min_tokens = max_tokens (full length)' if args.full else ''}\n")
    try:
        warm_up = [Message(role="user", content="Hi")]
        await backend.generate(warm_up, GenParams(max_tokens=4))
        rows = []
        for n in levels:
            for mode in ("samples", "prompts"):
                rows.append(await run_case(backend, mode, n, args.max_tokens, full=args.full))
                if args.signals and n == max(levels):  # right after its twin: same conditions
                    rows.append(await run_case(backend, mode, n, args.max_tokens, logprobs=True, full=args.full))
    finally:
        await backend.aclose()
    print_table(rows)
    if args.signals:
        print_signals(rows)
    print_target(rows, args.model)


def print_table(rows: list[dict]) -> None:
    base = {r["mode"]: r["tps"] for r in rows if r["n"] == 1 and not r["logprobs"]}
    head = (f"{'mode':<27}{'seqs':>5}{'tokens':>8}{'seconds':>9}{'tok/s':>8}{'x 1 seq':>9}"
            f"{'prompt tok':>11}{'steps':>7}{'decode s':>10}{'sample s':>10}")
    print(head)
    print("-" * len(head))
    for r in rows:
        label = "k samples, one prompt" if r["mode"] == "samples" else "different prompts"
        label += " +lp" if r["logprobs"] else ""
        ratio = r["tps"] / base[r["mode"]] if r["mode"] in base else float("nan")
        print(f"{label:<27}{r['n']:>5}{r['tokens']:>8}{r['seconds']:>9.2f}{r['tps']:>8.1f}"
              f"{ratio:>8.2f}x{r['prompt']:>11}{r['steps']:>7}{r['decode_s']:>10.2f}{r['sample_s']:>10.2f}")


def print_signals(rows: list[dict]) -> None:
    print(f"\nlogprobs off vs on (logprob + entropy + KL per token; target drop < "
          f"{TARGET_SIGNALS_DROP:.0f}%)")
    head = (f"{'mode':<27}{'seqs':>5}{'tok/s off':>10}{'tok/s on':>10}{'drop':>8}"
            f"{'stats s':>9}{'stats %':>9}{'same text':>10}")
    print(head)
    print("-" * len(head))
    for on in (r for r in rows if r["logprobs"]):
        off = next(r for r in rows if r["mode"] == on["mode"] and r["n"] == on["n"]
                   and not r["logprobs"])
        drop = 100.0 * (1.0 - on["tps"] / off["tps"])
        extra = on["sample_s"] - off["sample_s"]  # time the statistics added, engine-timed
        label = "k samples, one prompt" if on["mode"] == "samples" else "different prompts"
        print(f"{label:<27}{on['n']:>5}{off['tps']:>10.1f}{on['tps']:>10.1f}{drop:>7.1f}%"
              f"{extra:>9.2f}{100.0 * extra / on['seconds']:>8.1f}%"
              f"{'yes' if on['texts'] == off['texts'] else 'no':>10}")


def print_target(rows: list[dict], model: str) -> None:
    base = next((r for r in rows if r["mode"] == "samples" and r["n"] == 1), None)
    best = next((r for r in rows if r["mode"] == "samples" and r["n"] == 8
                 and not r["logprobs"]), None)
    if best is not None and base is not None:
        ratio = best["tps"] / base["tps"]
        ok = best["tps"] >= TARGET_TOKS and ratio >= TARGET_RATIO
        print(f"\ntarget at 8 samples (qwen2.5-coder-0.5b): >= {TARGET_TOKS:.0f} tok/s and >= "
              f"{TARGET_RATIO}x -> measured {best['tps']:.1f} tok/s, {ratio:.2f}x "
              f"[{'met' if ok else 'NOT met'}"
              f"{'' if model == 'qwen2.5-coder-0.5b' else ', other model'}]")


if __name__ == "__main__":
    asyncio.run(main())
