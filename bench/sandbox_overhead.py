"""Per-run overhead of the sandbox: an empty program at each isolation level, side by side.

    python bench/sandbox_overhead.py [--runs 30] [--concurrency 4]

The baseline is a bare ``python -I -S -c pass`` subprocess (no sandbox); each level is shown
with and without its per-run cgroup. Rows are interleaved round by round so that background
load hits every row alike; medians and 90th percentiles are printed. The last line runs
``--runs`` empty programs through the async pool to give the throughput of concurrent runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time

from mistakelab.sandbox import ProgramPool, isolation_report, run_program
from mistakelab.sandbox.cgroups import cgroup_support
from mistakelab.sandbox.host import base_python


def _bare() -> None:
    subprocess.run([base_python(), "-I", "-S", "-c", "pass"], check=True, timeout=30)


def _sandboxed(level: str, cgroup: bool):
    def go() -> None:
        run = run_program("pass", isolation=level, cgroup=cgroup)  # type: ignore[arg-type]
        if not run.ok:
            raise SystemExit(f"{level} (cgroup={cgroup}) failed: {run.status.value} {run.detail}")
    return go


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()

    report = isolation_report()
    rows: dict[str, object] = {"bare subprocess (no sandbox)": _bare}
    for level in report.levels:
        if not level.available:
            print(f"{level.level}: not available here ({level.reason})")
            continue
        rows[f"{level.level}"] = _sandboxed(level.level, False)
        if cgroup_support().available:
            rows[f"{level.level} + cgroup"] = _sandboxed(level.level, True)
    times: dict[str, list[float]] = {name: [] for name in rows}
    for fn in rows.values():
        fn()  # warm-up: probes, page cache
    for _ in range(args.runs):
        for name, fn in rows.items():
            start = time.perf_counter()
            fn()  # type: ignore[operator]
            times[name].append((time.perf_counter() - start) * 1000)

    bare = statistics.median(times["bare subprocess (no sandbox)"])
    print(f"\nempty program, {args.runs} runs per row (auto uses: {report.level})")
    print(f"{'row':<32}{'median ms':>11}{'p90 ms':>9}{'over bare':>11}")
    for name, ms in times.items():
        med = statistics.median(ms)
        p90 = statistics.quantiles(ms, n=10)[-1]
        print(f"{name:<32}{med:>11.1f}{p90:>9.1f}{med - bare:>+11.1f}")

    async def many() -> float:
        pool = ProgramPool(max_concurrent=args.concurrency)
        start = time.perf_counter()
        runs = await asyncio.gather(*(pool.run("pass") for _ in range(args.runs)))
        assert all(r.ok for r in runs)
        return time.perf_counter() - start

    elapsed = asyncio.run(many())
    print(f"\nasync pool, concurrency {args.concurrency}: {args.runs} runs in {elapsed:.2f} s "
          f"= {args.runs / elapsed:.1f} runs/s ({sys.platform}, auto level)")


if __name__ == "__main__":
    main()
