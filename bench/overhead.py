"""Runner overhead: the same experiment through mistakelab vs calling the backend directly.

Both sides use the scripted backend with a fixed per-call delay (standing in for model
latency) and the same concurrency. The direct side replays exactly the calls the runner
made that reached the model, unit by unit (sequential within a unit, samples of one prompt concurrent), with no
cache, store, trace or verification. Rounds alternate the two sides; medians are printed.

    python bench/overhead.py [--problems 60] [--delays 0.02,0.1,0.25] [--concurrency 8] [--rounds 3]

The runner's own work (cache keys, call log, traces, answer checking) is a fixed CPU cost per
call on one event loop, so the ratio shrinks as model latency grows: 20 ms is a stress case,
real local or server calls take 0.2-10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mistakelab.backends import ScriptedBackend
from mistakelab.core.types import Problem
from mistakelab.runner import parse_config, run_experiment
from mistakelab.store import RunStore
from mistakelab.tasks.base import Task, tasks


class BenchAdd(Task):
    """a + b word problems with known answers (no external data)."""

    name = "bench_add"

    def load(self, n, seed):  # type: ignore[no-untyped-def]
        return [Problem(id=f"b{i}", question=f"What is {i} + {seed + 3}?", answer=str(i + seed + 3))
                for i in range(n or 10)]


tasks.register("bench_add", BenchAdd)


def reply(messages, params):  # type: ignore[no-untyped-def]
    if "VERDICT" in messages[-1].content:
        return "I checked each step. VERDICT: INCORRECT"
    return "Adding the numbers step by step gives the total. \\boxed{7}"


def config(store: Path, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    return parse_config({
        "name": "overhead", "store": str(store), "n_problems": args.problems,
        "concurrency": args.concurrency,
        "models": [{"backend": "scripted", "model": "bench"}],
        "tasks": [{"name": "bench_add"}],
        "strategies": [{"name": "cot"}, {"name": "self_consistency", "k": 4},
                       {"name": "self_refine", "rounds": 2, "temperature": 0.5}],
    })


async def via_runner(args: argparse.Namespace) -> tuple[float, int, Path]:
    store = Path(tempfile.mkdtemp()) / "runs.db"
    fake = ScriptedBackend(reply, delay=args.delay)
    t = time.perf_counter()
    await run_experiment(config(store, args), backend_factory=lambda spec: fake)
    return time.perf_counter() - t, len(fake.calls), store


async def direct(store: Path, run_id: str, args: argparse.Namespace) -> tuple[float, int]:
    st = RunStore(store)
    traces = [st.trace(run_id, u.unit_key) for u in st.units(run_id)]
    fake = ScriptedBackend(reply, delay=args.delay)
    sem = asyncio.Semaphore(args.concurrency)

    async def unit(trace) -> None:  # type: ignore[no-untyped-def]
        async with sem:
            # Calls the runner served from its cache never reached the model: skip them.
            calls = [c for c in trace.calls if not c.completion.cached]
            i = 0
            while i < len(calls):
                group = [calls[i]]
                while calls[i].purpose == "sample" and i + 1 < len(calls) and calls[i + 1].purpose == "sample":
                    i += 1
                    group.append(calls[i])
                await asyncio.gather(*(fake.generate(c.messages, c.params) for c in group))
                i += 1

    t = time.perf_counter()
    await asyncio.gather(*(unit(tr) for tr in traces))
    return time.perf_counter() - t, len(fake.calls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=60)
    ap.add_argument("--delays", default="0.02,0.1,0.25", help="per-call delays in seconds")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    run_id = config(Path("x"), args).run_id()
    print(f"{args.problems} problems x (cot, self_consistency k=4, self_refine R=2 T=0.5), "
          f"concurrency {args.concurrency}, {args.rounds} alternating rounds, medians")
    print(f"{'ms/call':>8} {'calls':>6} {'direct s':>9} {'runner s':>9} {'overhead':>9}")
    for delay in (float(x) for x in args.delays.split(",")):
        args.delay = delay
        runner_t, direct_t = [], []
        for _ in range(args.rounds):
            t_run, n_run, store = asyncio.run(via_runner(args))
            t_dir, n_dir = asyncio.run(direct(store, run_id, args))
            if n_run != n_dir:
                sys.exit(f"call counts differ: runner {n_run}, direct {n_dir}")
            runner_t.append(t_run)
            direct_t.append(t_dir)
        r, d = statistics.median(runner_t), statistics.median(direct_t)
        print(f"{delay * 1000:8.0f} {n_run:6d} {d:9.3f} {r:9.3f} {(r - d) / d * 100:+8.2f}%")
    print("target: overhead under 3%")


if __name__ == "__main__":
    main()
