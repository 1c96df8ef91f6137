"""The model caller's sharing of identical requests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mistakelab.backends import ScriptedBackend
from mistakelab.core.types import Completion, GenParams, Message
from mistakelab.runner.caller import CallStats, ModelCaller
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


class Gate(ScriptedBackend):
    """Holds every request until released; then answers, raises, or never returns."""

    def __init__(self, outcome: object) -> None:
        super().__init__(lambda m, p: "")
        self.outcome, self.asked, self.release = outcome, 0, asyncio.Event()

    async def sample(self, messages, params, seeds):  # type: ignore[no-untyped-def, override]
        self.asked += 1
        await self.release.wait()
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return [Completion(text=str(self.outcome)) for _ in seeds]


def _two_waiters(tmp_path: Path, fake: Gate, cancel_first: bool):  # type: ignore[no-untyped-def]
    store = RunStore(tmp_path / "r.db")
    store.create_run("r", "r", {})
    caller = ModelCaller(lambda: fake, "scripted:x", store, "r", CallStats())
    msgs, params = [Message(role="user", content="q")], GenParams()

    async def main():  # type: ignore[no-untyped-def]
        first = asyncio.ensure_future(caller.generate("a", "p", msgs, params))
        second = asyncio.ensure_future(caller.generate("b", "p", msgs, params))
        for _ in range(5):
            await asyncio.sleep(0)  # both are now waiting on the one request in flight
        if cancel_first:
            first.cancel()
            await asyncio.sleep(0)
            fake.outcome = "answer"
        fake.release.set()
        return await asyncio.wait_for(asyncio.gather(first, second, return_exceptions=True), 5)

    out = asyncio.run(main())
    store.close()
    return out


def test_a_waiter_on_a_shared_request_never_hangs_when_the_script_runs_out(tmp_path: Path) -> None:
    from mistakelab.backends import ScriptExhausted

    first, second = _two_waiters(tmp_path, Gate(ScriptExhausted("no output left")), cancel_first=False)
    assert isinstance(first, ScriptExhausted) and isinstance(second, ScriptExhausted)


def test_a_waiter_asks_itself_when_the_unit_it_waited_on_is_cancelled(tmp_path: Path) -> None:
    fake = Gate(RuntimeError("unused"))
    first, second = _two_waiters(tmp_path, fake, cancel_first=True)
    assert isinstance(first, asyncio.CancelledError)
    assert isinstance(second, Completion) and second.text == "answer" and fake.asked == 2


def test_a_shared_failure_is_a_failure_for_every_waiter(tmp_path: Path) -> None:
    first, second = _two_waiters(tmp_path, Gate(ConnectionError("down")), cancel_first=False)
    assert first.error == second.error == "ConnectionError: down"
