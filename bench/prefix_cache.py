"""What the local engine's prefix cache saves, on two workloads.

``chain`` (self-refine-like, the default): for each of ``--chain-problems`` gsm_symbolic
problems, one conversation of three greedy calls, each prompt extending the previous one:
solve (the question), critique (question, solution, review request) and refine (..., review,
rewrite request), with self_refine's own prompts. The problems run concurrently, step by
step, so the figures are per step of the chain: prompt tokens in total, evaluated and reused,
and wall time. With the cache on, each step reuses the previous step's prompt AND the text
the model generated in it (its KV cells), so it evaluates about only the new user turn.

``rollout``: for each of ``--problems`` igsm problems, the rollout locator's prompts are
replayed: the problem, then the gold solution prefilled up to step i, for every step, k
continuations each (``sample``). Consecutive prompts share the problem and the earlier steps.

Each workload runs twice in one process, on an engine with ``prefix_cache`` on and one with it
off (fresh engines, same settings), and the figures are printed side by side. Greedy text can
differ between the two runs (evaluating fewer tokens changes rounding; see the engine docs),
so the prompt totals of later steps can differ slightly.

Usage:
    python bench/prefix_cache.py                          # chain, qwen2.5-coder-0.5b, ~3 min
    python bench/prefix_cache.py --workload rollout       # the rollout prompts, ~1.5 min
    python bench/prefix_cache.py --model smollm2-135m --workload all   # quick run
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
from mistakelab.strategies.self_refine import PROMPTS
from mistakelab.tasks import create_task

CHAIN_STEPS = ("solve", "critique", "refine")


def rollout_workload(n_problems: int) -> list[list[Message]]:
    task = create_task("igsm", {"min_ops": 4, "max_ops": 6})
    out = []
    for p in task.load(n_problems, 0):
        steps = [s for s in (task.gold_solution(p) or "").split("\n") if s.strip()]
        for i in range(len(steps)):
            prefix = STEP_SEPARATOR.join(steps[: i + 1]) + STEP_SEPARATOR
            out.append([*task.prompt(p), Message(role="assistant", content=prefix)])
    return out


def _backend(model: str, cache: bool, threads: int) -> LocalBackend:
    return LocalBackend(model, EngineSettings(n_seq=8, n_ctx_per_seq=2048, n_threads=threads,
                                              prefix_cache=cache))


async def _warm(backend: LocalBackend) -> None:
    await backend.generate([Message(role="user", content="Hi")], GenParams(max_tokens=2))
    backend.engine.reset_stats()


async def run_rollout(model: str, prompts: list[list[Message]], cache: bool, args) -> dict:
    backend = _backend(model, cache, args.threads)
    sem = asyncio.Semaphore(args.concurrency)
    params = GenParams(temperature=0.7, max_tokens=args.max_tokens)

    async def one(i: int, msgs: list[Message]) -> int:
        async with sem:
            outs = await backend.sample(msgs, params, [1000 * i + j for j in range(args.k)])
        return sum(c.completion_tokens for c in outs)

    try:
        await _warm(backend)
        t0 = time.perf_counter()
        generated = sum(await asyncio.gather(*(one(i, m) for i, m in enumerate(prompts))))
        seconds = time.perf_counter() - t0
        st = backend.engine.stats_snapshot()
    finally:
        release_engine(backend.engine)
    return {"cache": cache, "seconds": seconds, "evaluated": st.prompt_tokens_evaluated,
            "reused": st.prompt_tokens_reused, "generated": generated}


async def run_chain(model: str, questions: list[list[Message]], cache: bool, args) -> list[dict]:
    """One row per chain step: prompt tokens (total, evaluated, reused), generated, seconds."""
    backend = _backend(model, cache, args.threads)
    params = GenParams(temperature=0.0, max_tokens=args.chain_max_tokens)
    convs = [list(q) for q in questions]
    follow_ups = {"critique": PROMPTS["critique"], "refine": PROMPTS["refine"].format()}
    rows = []
    try:
        await _warm(backend)
        for step in CHAIN_STEPS:
            if step in follow_ups:
                convs = [[*c, Message(role="user", content=follow_ups[step])] for c in convs]
            before, t0 = backend.engine.stats_snapshot(), time.perf_counter()
            outs = await asyncio.gather(*(backend.generate(c, params) for c in convs))
            seconds = time.perf_counter() - t0
            after = backend.engine.stats_snapshot()
            assert all(c.ok for c in outs), [c.error for c in outs if not c.ok]
            rows.append({"step": step, "seconds": seconds,
                         "total": sum(c.prompt_tokens for c in outs),
                         "evaluated": after.prompt_tokens_evaluated - before.prompt_tokens_evaluated,
                         "reused": after.prompt_tokens_reused - before.prompt_tokens_reused,
                         "generated": sum(c.completion_tokens for c in outs)})
            convs = [[*c, Message(role="assistant", content=o.text)] for c, o in zip(convs, outs)]
    finally:
        release_engine(backend.engine)
    return rows


def print_chain(off: list[dict], on: list[dict], n: int) -> None:
    print(f"chain: {n} problems, solve -> critique -> refine in one conversation each\n")
    print(f"{'step':<10}{'| off: prompt tok':>17}{'evaluated':>10}{'gen':>6}{'s':>7}"
          f"{'| on: prompt tok':>17}{'evaluated':>10}{'reused':>8}{'gen':>6}{'s':>7}")
    for a, b in zip(off, on):
        print(f"{a['step']:<10}{a['total']:>17}{a['evaluated']:>10}{a['generated']:>6}{a['seconds']:>7.1f}"
              f"{b['total']:>17}{b['evaluated']:>10}{b['reused']:>8}{b['generated']:>6}{b['seconds']:>7.1f}")
    ev_off, ev_on = (sum(r["evaluated"] for r in rows) for rows in (off, on))
    s_off, s_on = (sum(r["seconds"] for r in rows) for rows in (off, on))
    print(f"{'all':<10}{sum(r['total'] for r in off):>17}{ev_off:>10}{'':>6}{s_off:>7.1f}"
          f"{sum(r['total'] for r in on):>17}{ev_on:>10}{sum(r['reused'] for r in on):>8}{'':>6}{s_on:>7.1f}")
    print(f"\nprompt tokens evaluated: {ev_on / max(ev_off, 1):.2f}x of no-cache; "
          f"wall time: {s_on / s_off:.2f}x\n")


def print_rollout(rows: list[dict], n_prompts: int, args) -> None:
    print(f"rollout: {n_prompts} prompts from {args.problems} igsm problems, k={args.k}, "
          f"max_tokens {args.max_tokens}, {args.concurrency} in flight\n")
    print(f"{'prefix cache':<14}{'prompt tok evaluated':>22}{'reused':>9}{'generated':>11}{'seconds':>9}")
    for r in rows:
        print(f"{'on' if r['cache'] else 'off':<14}{r['evaluated']:>22}{r['reused']:>9}{r['generated']:>11}"
              f"{r['seconds']:>9.1f}")
    off, on = rows
    print(f"\nprompt tokens evaluated: {on['evaluated'] / max(off['evaluated'], 1):.2f}x of no-cache; "
          f"wall time: {on['seconds'] / off['seconds']:.2f}x\n")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--workload", choices=("chain", "rollout", "all"), default="chain")
    ap.add_argument("--chain-problems", type=int, default=4)
    ap.add_argument("--chain-max-tokens", type=int, default=160)
    ap.add_argument("--problems", type=int, default=2, help="rollout: igsm problems")
    ap.add_argument("--k", type=int, default=2, help="rollout: continuations per prompt")
    ap.add_argument("--max-tokens", type=int, default=16, help="rollout: tokens per continuation")
    ap.add_argument("--concurrency", type=int, default=2, help="rollout: prompts in flight")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    print(f"model {args.model}, {args.threads} threads\n")
    if args.workload in ("chain", "all"):
        task = create_task("gsm_symbolic")
        questions = [task.prompt(p) for p in task.load(args.chain_problems, 0)]
        off, on = [await run_chain(args.model, questions, c, args) for c in (False, True)]
        print_chain(off, on, len(questions))
    if args.workload in ("rollout", "all"):
        prompts = rollout_workload(args.problems)
        rows = [await run_rollout(args.model, prompts, c, args) for c in (False, True)]
        print_rollout(rows, len(prompts), args)


if __name__ == "__main__":
    asyncio.run(main())
