"""The proxy's server-side caps (issue 25, item 2): a request whose strategy parameters ask
for more samples, rounds, programs or sandbox seconds than the server allows is a 400 naming
the parameter and the cap, before any model call; a body over the cap is a 413; a sandbox
whose request ends (a timeout here) is killed before the answer goes out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from mistakelab.sandbox.aio import live_sandboxes
from mistakelab.serve import ServeConfig
from mistakelab.serve.limits import ServeLimits
from mistakelab.serve.service import Proxy
from serve_helpers import boxed_echo, proxy_server, scripted, units

USER = [{"role": "user", "content": "What is 12?"}]


def _post(srv: Any, model: str, **body: Any) -> httpx2.Response:
    return httpx2.post(srv.url + "/chat/completions", json={"model": model, "messages": USER, **body}, timeout=60)


@pytest.mark.parametrize("model, body, param, cap", [
    ("self_consistency-k3000/fake", {}, "mistakelab.params.k", "max_samples"),
    ("self_consistency-k40/fake", {"n": 2}, "mistakelab.params.k", "max_samples"),  # 80 samples per request
    ("fake", {"mistakelab": {"strategy": "self_refine", "params": {"rounds": 500}}}, "mistakelab.params.rounds",
     "max_rounds"),
    ("fake", {"mistakelab": {"strategy": "wait:rounds=99"}}, "mistakelab.params.rounds", "max_rounds"),
    ("fake", {"mistakelab": {"strategy": "pal", "params": {"k": 17}}}, "mistakelab.params.k", "max_programs"),
    ("fake", {"mistakelab": {"strategy": "pal", "params": {"wall_seconds": 3600}}}, "mistakelab.params.wall_seconds",
     "max_sandbox_seconds"),
    ("fake", {"mistakelab": {"strategy": "pal", "params": {"cpu_seconds": 100000}}}, "mistakelab.params.cpu_seconds",
     "max_sandbox_seconds"),
    ("fake", {"mistakelab": {"strategy": "step_beam", "params": {"width": 200}}}, "mistakelab.params.width",
     "max_samples"),
    ("fake", {"mistakelab": {"strategy": "step_beam", "params": {"step_tokens": 10**6}}},
     "mistakelab.params.step_tokens", "max_tokens"),
    ("fake", {"max_tokens": 10**7}, "max_tokens", "max_tokens"),
])
def test_a_request_over_a_cap_is_a_400_naming_it(tmp_path: Path, model: str, body: dict, param: str,
                                                   cap: str) -> None:
    calls: list[Any] = []

    def script(messages: Any, params: Any) -> str:
        calls.append(messages)
        return boxed_echo(messages, params)

    with proxy_server(tmp_path, scripted(script), strategy="cot") as srv:
        r = _post(srv, model, **body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == param and err["code"] == "over_limit" and cap in err["message"], err
    assert calls == []  # refused before any model call


def test_caps_are_configuration(tmp_path: Path) -> None:
    with proxy_server(tmp_path, scripted(boxed_echo), strategy="cot", limits=ServeLimits(max_samples=2)) as srv:
        small = _post(srv, "self_consistency-k2/fake")
        big = _post(srv, "self_consistency-k3/fake")
    assert small.status_code == 200 and big.status_code == 400
    assert "at most 2 (max_samples)" in big.json()["error"]["message"]


def test_a_body_over_the_cap_is_refused_unread(tmp_path: Path) -> None:
    with proxy_server(tmp_path, scripted(boxed_echo), strategy="cot", limits=ServeLimits(max_body_bytes=4096)) as srv:
        big = _post(srv, "fake", padding="x" * 8192)
        chunked = httpx2.post(srv.url + "/chat/completions", content=iter([b'{"model": "fake", "x": "' + b"x" * 8192,
                                                                          b'"}']), timeout=60)
        fine = _post(srv, "fake")
    assert big.status_code == 413 and "max_body_bytes" in big.json()["error"]["message"]
    assert chunked.status_code == 413
    assert fine.status_code == 200


def test_a_default_strategy_over_the_caps_is_refused_at_start(tmp_path: Path) -> None:
    import asyncio

    proxy = Proxy(ServeConfig(backend="scripted", model="fake", store=str(tmp_path / "s.db"),
                              strategy="self_consistency:k=500", backend_factory=lambda spec: scripted(boxed_echo)))
    with pytest.raises(ValueError, match="max_samples"):
        asyncio.run(proxy.start())


def test_a_sandbox_dies_with_its_request(tmp_path: Path) -> None:
    program = "```python\nimport time\ntime.sleep(100)\nprint(1)\n```"
    with proxy_server(tmp_path, scripted(lambda m, p: program), strategy="cot", timeout=1.0) as srv:
        r = _post(srv, "fake", mistakelab={"strategy": "pal", "params": {"wall_seconds": 30, "rounds": 0}})
        assert r.status_code == 504, r.text
        assert live_sandboxes() == []  # killed before the 504 went out, not 30 s later
    _, rows, _ = units(tmp_path)
    assert [row.result.status for row in rows] == ["failed"]


def test_a_served_run_whose_server_was_killed_is_marked_interrupted(tmp_path: Path) -> None:
    import subprocess
    import sys

    from mistakelab.serve.service import mark_abandoned_runs
    from mistakelab.store import RunStore

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    st = RunStore(tmp_path / "served.db")
    host = __import__("socket").gethostname()
    st.create_run("gone", "served", {"kind": "served", "server": {"host": host, "pid": dead.pid}})
    st.create_run("alive", "served", {"kind": "served", "server": {"host": host, "pid": 1}})
    st.create_run("elsewhere", "served", {"kind": "served", "server": {"host": "other-host", "pid": dead.pid}})
    assert mark_abandoned_runs(st) == ["gone"]
    assert {r.id: r.status for r in st.list_runs()} == {"gone": "interrupted", "alive": "running",
                                                         "elsewhere": "running"}
    st.close()
    with proxy_server(tmp_path, scripted(boxed_echo), strategy="cot") as srv:  # a server's start does it too
        assert _post(srv, "fake").status_code == 200


def test_a_deadline_passing_as_the_last_choice_ends_is_an_answer(tmp_path: Path, monkeypatch) -> None:
    """The race of issue 25 item 8 (a 504 for a request whose unit was stored done), made
    certain: the request's timeout 'fires' on the way out, after every choice finished."""
    import contextlib

    from mistakelab.serve import service

    real = service.asyncio.timeout

    @contextlib.asynccontextmanager
    async def late(seconds: float):  # type: ignore[no-untyped-def]
        async with real(seconds):
            yield
        raise TimeoutError  # the deadline, just after the body ended

    monkeypatch.setattr(service.asyncio, "timeout", late)
    with proxy_server(tmp_path, scripted(boxed_echo), strategy="cot") as srv:
        r = _post(srv, "fake")
    _, rows, _ = units(tmp_path)
    assert [row.result.status for row in rows] == ["done"]
    assert r.status_code == 200, r.text
