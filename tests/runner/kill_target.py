"""Subprocess target for the kill -9 resume test: runs a toy experiment on a fake model
that logs every call it receives to a file (one line per call, flushed at once)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import conftest  # noqa: E402,F401  (registers toy_add)

from mistakelab.backends import ScriptedBackend  # noqa: E402
from mistakelab.runner import parse_config, run_experiment  # noqa: E402


def config(store: str):  # type: ignore[no-untyped-def]
    return parse_config({
        "name": "killme", "store": store, "n_problems": 12, "concurrency": 4,
        "models": [{"backend": "scripted", "model": "fake"}],
        "tasks": [{"name": "toy_add"}],
        "strategies": [{"name": "cot"}, {"name": "self_consistency", "k": 3}],
    })


def main() -> None:
    store, log = sys.argv[1], sys.argv[2]
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def answer(messages, params):  # type: ignore[no-untyped-def]
        a, b = map(int, re.findall(r"\d+", messages[-1].content)[:2])
        os.write(fd, (json.dumps({"q": messages[-1].content, "seed": params.seed}) + "\n").encode())
        return f"{a} + {b} = {a + b}. \\boxed{{{a + b}}}"

    fake = ScriptedBackend(answer, model_id="fake", delay=0.02)
    summary = asyncio.run(run_experiment(config(store), backend_factory=lambda spec: fake))
    print(json.dumps({"done": summary.units_done, "made": summary.calls_made, "cached": summary.calls_cached}))


if __name__ == "__main__":
    main()
