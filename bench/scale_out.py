"""Scale-out: one run over a pool of 1, 2, 4, 8 model servers, and the Ray executor's
overhead against the in-process runner.

Fake OpenAI-compatible servers (tests/backends/fake_openai.py, each its own process on
127.0.0.1) answer after ``--latency`` seconds, ``--capacity`` requests at a time (more
queue). A server's ceiling is capacity / latency calls per second (40/s at 4 and 100 ms).

1. Throughput: a ``cot`` run on gsm_symbolic (one call per unit) with ``--per-server``
   units per server, over n servers (pool cap = capacity per server, run concurrency
   n x capacity + n); calls/s against n x the 1-server figure (target >= 0.9x linear).
2. Ray overhead: the same config (``--ray-servers`` servers) in process and with
   ``[execution] engine = "ray"`` and 1 worker on a local cluster started beforehand; wall
   seconds from the run's start (problems frozen) to its end, with and without the worker's
   start (a fixed cost of a few seconds); rounds alternate the two sides, medians compared
   (target < 5%).

    python bench/scale_out.py [--servers 1,2,4,8] [--per-server 120] [--latency 0.1] [--capacity 4]
                              [--ray-servers 2] [--ray-units 160] [--rounds 2] [--no-ray]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "backends"))
from fake_openai import FakeServer  # noqa: E402

from mistakelab.runner import parse_config, run_experiment  # noqa: E402


def config(store: Path, urls: list[str], units: int, capacity: int, engine: str = "local") -> Any:
    return parse_config({
        "name": "scale", "store": str(store), "n_problems": units, "concurrency": len(urls) * (capacity + 1),
        "execution": {"engine": engine, "workers": 1},
        "models": [{"backend": "openai", "model": "fake",
                    "options": {"base_url": urls, "max_concurrency": capacity, "timeout": 60}}],
        "tasks": [{"name": "gsm_symbolic"}], "strategies": [{"name": "cot"}],
        "generation": {"max_tokens": 64}})


def timed_run(cfg: Any) -> tuple[float, float, int]:
    """(seconds from the run's start event to its end, the same from its workers being up
    (Ray) or its start (in process), calls made)."""
    marks: dict[str, float] = {}

    def progress(event: str, payload: Any) -> None:
        if event in ("start", "ray_workers"):
            marks[event] = time.perf_counter()

    summary = asyncio.run(run_experiment(cfg, progress=progress))
    end = time.perf_counter()
    if summary.unit_errors:
        raise SystemExit(f"bench run failed: {summary.failure_line()}")
    return end - marks["start"], end - marks.get("ray_workers", marks["start"]), summary.calls_made


def throughput(args: argparse.Namespace, tmp: Path) -> None:
    counts = [int(n) for n in args.servers.split(",")]
    servers = [FakeServer(args.latency, args.capacity).start() for _ in range(max(counts))]
    try:
        base = None
        print(f"{'servers':>7} {'calls':>6} {'seconds':>8} {'calls/s':>8} {'ceiling/s':>9} {'x linear':>8}")
        for n in counts:
            cfg = config(tmp / f"thr{n}.db", [s.url for s in servers[:n]], args.per_server * n, args.capacity)
            seconds, _, calls = timed_run(cfg)
            rate = calls / seconds
            base = base if base is not None else rate / n
            print(f"{n:>7} {calls:>6} {seconds:>8.2f} {rate:>8.1f} {n * args.capacity / args.latency:>9.0f} "
                  f"{rate / (n * base):>8.2f}")
    finally:
        for s in servers:
            s.kill()


def ray_overhead(args: argparse.Namespace, tmp: Path) -> None:
    import ray

    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    print(f"\nRay: local cluster started in {time.perf_counter() - t0:.1f} s (not counted below)")
    servers = [FakeServer(args.latency, args.capacity).start() for _ in range(args.ray_servers)]
    urls = [s.url for s in servers]
    sides: dict[str, list[tuple[float, float]]] = {"local": [], "ray": []}
    try:
        for r in range(args.rounds):
            for engine in ("local", "ray") if r % 2 == 0 else ("ray", "local"):
                total, running, _ = timed_run(config(tmp / f"{engine}{r}.db", urls, args.ray_units, args.capacity,
                                                     engine))
                sides[engine].append((total, running))
    finally:
        for s in servers:
            s.kill()
        ray.shutdown()
    local = statistics.median(t for t, _ in sides["local"])
    total = statistics.median(t for t, _ in sides["ray"])
    running = statistics.median(r for _, r in sides["ray"])
    print(f"{args.ray_units} units over {args.ray_servers} servers, {args.rounds} rounds (medians):")
    print(f"  in process                    {local:6.2f} s   runs {', '.join(f'{t:.2f}' for t, _ in sides['local'])}")
    print(f"  ray, 1 worker                 {total:6.2f} s   runs {', '.join(f'{t:.2f}' for t, _ in sides['ray'])}")
    print(f"  ray, once its worker is up    {running:6.2f} s   runs {', '.join(f'{r:.2f}' for _, r in sides['ray'])}")
    print(f"  overhead: {100 * (total / local - 1):+.1f} % with the worker's start, "
          f"{100 * (running / local - 1):+.1f} % once it is up")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="1,2,4,8")
    ap.add_argument("--per-server", type=int, default=120)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--capacity", type=int, default=4)
    ap.add_argument("--ray-servers", type=int, default=2)
    ap.add_argument("--ray-units", type=int, default=160)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        print(f"fake servers: {args.latency * 1000:.0f} ms per call, {args.capacity} at a time each")
        throughput(args, Path(d))
        if not args.no_ray:
            ray_overhead(args, Path(d))


if __name__ == "__main__":
    main()
