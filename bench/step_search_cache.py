"""Prompt tokens a search over steps evaluates and reuses on the local engine's prefix cache.

``step_beam`` and ``dvts`` re-send the question plus the partial solution for every expansion
(``continue_``), so consecutive prompts share almost all of their tokens. This runs a strategy
on ``--problems`` problems directly on a local backend (no run store, so nothing comes from
the completion cache), once on an engine with the prefix cache on and once with it off (fresh
engines, same settings), and prints the engine's counters: prompt tokens put through the
model, prompt tokens found in a slot's KV, tokens generated, wall time. The searches' outputs
are sampled with fixed seeds, so both engines are asked the same first requests; later ones
follow what each engine generated.

Usage:
    python bench/step_search_cache.py                                  # qwen2.5-coder-0.5b, ~3 min
    python bench/step_search_cache.py --model smollm2-135m --problems 1
    python bench/step_search_cache.py --strategy dvts:width=4,expand=2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from mistakelab.backends.local.backend import LocalBackend, release_engine
from mistakelab.backends.local.engine import EngineSettings
from mistakelab.core.types import GenParams, Message
from mistakelab.runner import solve
from mistakelab.tasks import create_task


async def run(args: argparse.Namespace, cache: bool) -> dict:
    settings = EngineSettings(n_seq=args.n_seq, n_ctx_per_seq=2048, n_threads=args.threads, prefix_cache=cache)
    backend = LocalBackend(args.model, settings)
    task = create_task(args.task)
    problems = task.load(args.problems, 0)
    params = GenParams(max_tokens=args.max_tokens)
    try:
        await backend.generate([Message(role="user", content="Hi")], GenParams(max_tokens=2))
        backend.engine.reset_stats()
        t0 = time.perf_counter()
        results = await asyncio.gather(*(solve(args.strategy, backend, p, task, params=params) for p in problems))
        seconds = time.perf_counter() - t0
        st = backend.engine.stats_snapshot()
    finally:
        release_engine(backend.engine)
    calls = sum(len(t.calls) for t, _ in results)
    prompt = sum(r.prompt_tokens for _, r in results)
    return {"cache": cache, "seconds": seconds, "evaluated": st.prompt_tokens_evaluated,
            "reused": st.prompt_tokens_reused, "generated": st.tokens_generated, "calls": calls,
            "prompt": prompt, "correct": sum(r.correct for _, r in results)}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--task", default="gsm_symbolic")
    ap.add_argument("--strategy", default="step_beam:width=2,expand=2,max_depth=6,step_tokens=96")
    ap.add_argument("--problems", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=384)
    ap.add_argument("--n-seq", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    print(f"{args.strategy} on {args.problems} {args.task} problems, model {args.model}, n_seq {args.n_seq}\n")
    rows = [await run(args, c) for c in (True, False)]
    print(f"{'prefix cache':<14}{'calls':>7}{'prompt tok sent':>17}{'evaluated':>11}{'reused':>9}"
          f"{'reused %':>10}{'generated':>11}{'seconds':>9}{'correct':>9}")
    for r in rows:
        sent = r["evaluated"] + r["reused"]
        share = 100 * r["reused"] / sent if sent else 0.0
        print(f"{'on' if r['cache'] else 'off':<14}{r['calls']:>7}{r['prompt']:>17}{r['evaluated']:>11}"
              f"{r['reused']:>9}{share:>9.1f}%{r['generated']:>11}{r['seconds']:>9.1f}{r['correct']:>9}")
    print("\nprompt tok sent: the prompt tokens the calls report (what the strategy is charged); evaluated +"
          " reused: what the engine did with them (multi-sample calls evaluate a prompt once for k samples).")


if __name__ == "__main__":
    asyncio.run(main())
