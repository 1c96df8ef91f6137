"""Subprocess target for the kill -9 resume test: runs a toy experiment on a fake model
that logs every call it answers to a file (one line per call, flushed at once).

With a third argument N, the fake answers N requests, then blocks every later request
forever; once the calls it answered are committed to the store it prints ``blocked`` on
stdout. The parent kills the process then, so the kill always lands mid-run, with no timing
window.

With ``MISTAKELAB_FAIL_RATE=0.2`` (and ``MISTAKELAB_FAIL_SEED``), each sample fails at
random with that probability, as a server that drops calls would: the failed call is
logged, its unit stored as failed, and a later run retries it. Log lines carry ``ok``."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sys
from typing import Awaitable, Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import conftest  # noqa: E402,F401  (registers toy_add)

from mistakelab.backends import Backend  # noqa: E402
from mistakelab.core import Completion  # noqa: E402
from mistakelab.runner import parse_config, run_experiment  # noqa: E402
from mistakelab.store import RunStore  # noqa: E402


def config(store: str):  # type: ignore[no-untyped-def]
    return parse_config({
        "name": "killme", "store": store, "n_problems": 12, "concurrency": 4,
        "models": [{"backend": "scripted", "model": "fake"}],
        "tasks": [{"name": "toy_add"}],
        "strategies": [{"name": "cot"}, {"name": "self_consistency", "k": 3}],
    })


class Fake(Backend):
    """Answers whole requests (all seeds at once) and logs each completion; after
    ``block_after`` requests it blocks every later request forever."""

    model_id = "fake"

    def __init__(self, log_fd: int, block_after: int | None, ready: Callable[[int], Awaitable[None]],
                 fail_rate: float = 0.0, fail_seed: str = "") -> None:
        self.fd, self.block_after, self.ready = log_fd, block_after, ready
        self.requests = self.answered = 0
        self.never = asyncio.Event()
        self.fail_rate, self.rng = fail_rate, random.Random(fail_seed)

    async def generate(self, messages, params):  # type: ignore[no-untyped-def]
        return (await self.sample(messages, params, [params.seed]))[0]

    async def sample(self, messages, params, seeds):  # type: ignore[no-untyped-def]
        self.requests += 1
        if self.block_after is not None and self.requests > self.block_after:
            if self.requests == self.block_after + 1:
                await self.ready(self.answered)
            await self.never.wait()
        a, b = map(int, re.findall(r"\d+", messages[-1].content)[:2])
        out = []
        for s in seeds:
            ok = self.rng.random() >= self.fail_rate
            os.write(self.fd, (json.dumps({"q": messages[-1].content, "seed": s, "ok": ok}) + "\n").encode())
            out.append(Completion(text=f"{a} + {b} = {a + b}. \\boxed{{{a + b}}}", prompt_tokens=5,
                                  completion_tokens=8) if ok else
                       Completion.from_error(ConnectionError("injected failure: the server dropped the call")))
        self.answered += len(seeds)
        return out


def main() -> None:
    store, log = sys.argv[1], sys.argv[2]
    block_after = int(sys.argv[3]) if len(sys.argv) > 3 else None
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    run_store = RunStore(store)
    run_id = config(store).run_id()

    async def ready(answered: int) -> None:
        # every answered request returns to its unit, which logs it: wait until all are stored
        while run_store.call_counts(run_id)[0] < answered:
            await asyncio.sleep(0)
        print("blocked", flush=True)

    fake = Fake(fd, block_after, ready, float(os.environ.get("MISTAKELAB_FAIL_RATE", "0")),
                os.environ.get("MISTAKELAB_FAIL_SEED", ""))
    summary = asyncio.run(run_experiment(config(store), backend_factory=lambda spec: fake, store=run_store))
    run_store.close()
    print(json.dumps({"done": summary.units_done, "made": summary.calls_made, "cached": summary.calls_cached,
                      "failed": summary.units_failed, "skipped": summary.units_skipped}))


if __name__ == "__main__":
    main()
