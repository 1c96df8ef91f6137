"""What the local engine's prefix cache saves on a rollout-style workload.

For each of ``--problems`` igsm problems, the rollout locator's prompts are replayed: the
problem, then the gold solution prefilled up to step i, for every step, k continuations each
(``sample``). Consecutive prompts share the problem and the earlier steps. The same requests
run twice in one process, on an engine with ``prefix_cache`` on and one with it off (fresh
engines, same settings), and the prompt tokens evaluated and the wall time are printed side by
side.

Usage:
    python bench/prefix_cache.py                         # qwen2.5-coder-0.5b, about 1.5 min
    python bench/prefix_cache.py --model smollm2-135m    # quick run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from mistakelab.backends.local.backend import LocalBackend, release_engine
from mistakelab.backends.local.engine import EngineSettings
from mistakelab.core.types import GenParams, Message
from mistakelab.locate.records import STEP_SEPARATOR
from mistakelab.tasks import create_task


def workload(n_problems: int) -> list[list[Message]]:
    task = create_task("igsm", {"min_ops": 4, "max_ops": 6})
    out = []
    for p in task.load(n_problems, 0):
        steps = [s for s in (task.gold_solution(p) or "").split("\n") if s.strip()]
        for i in range(len(steps)):
            prefix = STEP_SEPARATOR.join(steps[: i + 1]) + STEP_SEPARATOR
            out.append([*task.prompt(p), Message(role="assistant", content=prefix)])
    return out


async def run(model: str, prompts: list[list[Message]], cache: bool, k: int, max_tokens: int,
              concurrency: int, threads: int) -> dict:
    settings = EngineSettings(n_seq=8, n_ctx_per_seq=2048, n_threads=threads, prefix_cache=cache)
    backend = LocalBackend(model, settings)
    sem = asyncio.Semaphore(concurrency)
    params = GenParams(temperature=0.7, max_tokens=max_tokens)

    async def one(i: int, msgs: list[Message]) -> int:
        async with sem:
            outs = await backend.sample(msgs, params, [1000 * i + j for j in range(k)])
        return sum(c.completion_tokens for c in outs)

    try:
        await backend.generate([Message(role="user", content="Hi")], GenParams(max_tokens=2))
        backend.engine.reset_stats()
        t0 = time.perf_counter()
        generated = sum(await asyncio.gather(*(one(i, m) for i, m in enumerate(prompts))))
        seconds = time.perf_counter() - t0
        st = backend.engine.stats_snapshot()
    finally:
        release_engine(backend.engine)
    return {"cache": cache, "seconds": seconds, "evaluated": st.prompt_tokens_evaluated,
            "reused": st.prompt_tokens_reused, "generated": generated}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--problems", type=int, default=2)
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--concurrency", type=int, default=2, help="rollout prompts in flight")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    prompts = workload(args.problems)
    print(f"{len(prompts)} rollout prompts from {args.problems} igsm problems, k={args.k}, "
          f"max_tokens {args.max_tokens}, {args.concurrency} in flight, model {args.model}\n")
    rows = [await run(args.model, prompts, c, args.k, args.max_tokens, args.concurrency, args.threads)
            for c in (False, True)]
    print(f"{'prefix cache':<14}{'prompt tok evaluated':>22}{'reused':>9}{'generated':>11}{'seconds':>9}")
    for r in rows:
        print(f"{'on' if r['cache'] else 'off':<14}{r['evaluated']:>22}{r['reused']:>9}{r['generated']:>11}"
              f"{r['seconds']:>9.1f}")
    off, on = rows
    print(f"\nprompt tokens evaluated: {on['evaluated'] / max(off['evaluated'], 1):.2f}x of no-cache; "
          f"wall time: {on['seconds'] / off['seconds']:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
