"""The model caller's sharing of identical requests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mistakelab.backends import ScriptedBackend
from mistakelab.core.types import Completion, GenParams, Message
from mistakelab.runner.gateway import CallStats, ModelCaller
from mistakelab.store import RunStore


class SlowCounting(ScriptedBackend):
    """Each completion is different, and arrives after the event loop has turned."""

    def __init__(self) -> None:
        self.n = 0
        super().__init__(lambda m, p: "")

    async def sample(self, messages, params, seeds):  # type: ignore[no-untyped-def, override]
        await asyncio.sleep(0)  # let concurrent callers see the request in flight
        out = []
        for _ in seeds:
            self.n += 1
            out.append(Completion(text=f"completion {self.n}"))
        return out


def test_concurrent_identical_samples_share_one_completion(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "r.db")
    store.create_run("r", "r", {})
    fake = SlowCounting()
    caller = ModelCaller(lambda: fake, "scripted:x", store, "r", CallStats())
    msgs = [Message(role="user", content="q")]
    params = GenParams(temperature=0.7)

    async def main():  # type: ignore[no-untyped-def]
        return await asyncio.gather(caller.sample("a", "p", msgs, params, [1, 2]),
                                    caller.sample("b", "p", msgs, params, [2, 3]))

    a, b = asyncio.run(main())
    assert fake.n == 3  # seed 2 was asked once, not twice
    assert a[1].text == b[0].text and b[0].cached and not a[1].cached
    assert len({a[0].text, a[1].text, b[1].text}) == 3
    rows = store.conn.execute("SELECT cache_key, json_extract(completion_json, '$.text') FROM calls").fetchall()
    by_key: dict[str, set[str]] = {}
    for key, text in rows:
        by_key.setdefault(key, set()).add(text)
    assert all(len(texts) == 1 for texts in by_key.values())  # one completion per key in the log
    store.close()
