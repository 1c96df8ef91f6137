"""Subprocess target for the two-processes-on-one-store test: runs a toy experiment named
``argv[2]`` on the store ``argv[1]`` with a scripted model that answers after a short
pause, so that two processes started together write to the store at the same time. Waits
for the file ``argv[3]`` to exist before starting (a common start line), then prints its
summary as JSON."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import conftest  # noqa: E402,F401  (registers toy_add)

from mistakelab.backends import ScriptedBackend  # noqa: E402
from mistakelab.runner import parse_config, run_experiment  # noqa: E402


def main() -> None:
    store, name, go = sys.argv[1], sys.argv[2], sys.argv[3]
    cfg = parse_config({
        "name": name, "store": store, "n_problems": 30, "concurrency": 4,
        "models": [{"backend": "scripted", "model": "fake"}],
        "tasks": [{"name": "toy_add"}],
        "strategies": [{"name": "cot"}, {"name": "self_consistency", "k": 3}],
    })
    fake = ScriptedBackend(lambda messages, params: "\\boxed{1}", delay=0.002)
    deadline = time.time() + 60
    while not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.001)
    summary = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: fake))
    print(json.dumps({"run": summary.run_id, "done": summary.units_done, "skipped": summary.units_skipped,
                      "failed": summary.units_failed, "made": summary.calls_made}))


if __name__ == "__main__":
    main()
