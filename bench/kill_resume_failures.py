"""kill -9 mid-run, then resume until complete, with a model that fails calls at random.

Each trial runs the toy experiment of tests/runner/kill_target.py (12 problems x {cot,
self_consistency k=3}: 24 units, 48 distinct requests) in a subprocess, kills it with SIGKILL
after 8 answered requests, then runs the same command again until every unit is done.
Printed per trial: runs until complete (the killed one included), calls the model saw and
failed, units lost or stored twice, successful calls recorded twice, calls lost in flight.

    python bench/kill_resume_failures.py [--trials 5] [--fail-rate 0.2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests" / "runner"))
from kill_resume import CALLS, UNITS, measure  # noqa: E402

COLUMNS = ["runs_until_complete", "calls_seen_by_model", "calls_failed_by_model", "lost_units", "duplicated_units",
           "duplicated_successful_calls", "lost_in_flight", "run_complete"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--fail-rate", type=float, default=0.2)
    args = ap.parse_args()
    print(f"{UNITS} units, {CALLS} distinct requests; the model fails {args.fail_rate:.0%} of calls at random")
    print("trial " + " ".join(f"{c:>{max(len(c), 6)}}" for c in COLUMNS))
    totals = {c: 0 for c in COLUMNS}
    for t in range(args.trials):
        with tempfile.TemporaryDirectory() as d:
            m = measure(Path(d), fail_rate=args.fail_rate, seed=t)
        for c in COLUMNS:
            totals[c] += m[c]
        print(f"{t:>5} " + " ".join(f"{m[c]:>{max(len(c), 6)}}" for c in COLUMNS))
    print("total " + " ".join(f"{totals[c]:>{max(len(c), 6)}}" for c in COLUMNS))


if __name__ == "__main__":
    main()
