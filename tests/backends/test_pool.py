"""A pool of servers for one model: routing, health, failover; and a run over three real
fake servers (processes on 127.0.0.1), one killed mid-run and restarted."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fake_openai import FakeServer
from mistakelab.backends import ModelSpec, check_spec, create_backend
from mistakelab.backends.pool import NoServer, PooledOpenAIBackend, ServerPool, routed
from mistakelab.backends.servers import parse_servers
from mistakelab.cli import app
from mistakelab.core.types import GenParams, Message
from mistakelab.report.html import render_report
from mistakelab.runner import cache_identity, parse_config, run_experiment
from mistakelab.store import RunStore


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _pool(*servers: str, cap: int = 2, probe=None, clock=None) -> ServerPool:  # type: ignore[no-untyped-def]
    return ServerPool(parse_servers(list(servers)), default_cap=cap, probe=probe, probe_backoff=1.0,
                      max_probe_backoff=4.0, clock=clock or Clock())


async def test_least_outstanding_weighted_and_caps() -> None:
    pool = _pool("http://a/v1", "http://b/v1 weight=3 max_concurrency=3", cap=1)
    got = [(await pool.acquire(None)).url for _ in range(4)]
    # b (weight 3) takes three before a's one is cheaper; then both are full
    assert sorted(got) == ["http://a/v1", "http://b/v1", "http://b/v1", "http://b/v1"]
    assert pool.pick(None) is None
    waiter = asyncio.create_task(pool.acquire(None))
    await asyncio.sleep(0)
    assert not waiter.done()  # full: waits for a slot
    pool.release(pool.servers[0], ok=True)
    assert (await asyncio.wait_for(waiter, 5)).url == "http://a/v1"


async def test_a_unit_sticks_to_its_server_unless_saturated() -> None:
    pool = _pool("http://a/v1", "http://b/v1", cap=2)
    first = await pool.acquire("u1")
    other = await pool.acquire("u2")
    assert other is not first  # least outstanding
    pool.release(other, ok=True)  # other idle, first busy with one call of u1
    assert await pool.acquire("u1") is first  # u1 goes back to its server, busier as it is
    assert first.saturated
    assert await pool.acquire("u1") is other  # full: u1 moves
    assert await pool.acquire("u1") is other  # and now sticks there


async def test_down_server_gets_no_traffic_until_a_probe_finds_it_back() -> None:
    clock = Clock()
    answers = [False, True]
    probed: list[str] = []

    async def probe(s):  # type: ignore[no-untyped-def]
        probed.append(s.url)
        return answers.pop(0)

    pool = _pool("http://a/v1", "http://b/v1", cap=8, probe=probe, clock=clock)
    a, b = pool.servers
    s = await pool.acquire("u")
    pool.release(s, ok=False, down=True)
    assert s.stats.downs == 1 and s.stats.failures == 1
    for _ in range(5):  # everything goes to the other one; no probe before the backoff
        assert (await pool.acquire("u")) is not s
    assert probed == []
    clock.now = 1.0  # due: the next acquire starts a probe, which fails: backoff doubles
    await pool.acquire(None)
    await asyncio.sleep(0.01)
    assert probed == [s.url] and s.down_until == pytest.approx(1.0 + 2.0)
    clock.now = 3.0
    await pool.acquire(None)
    await asyncio.sleep(0.01)
    assert s.up and s.backoff == 1.0  # back, and its backoff starts over
    assert pool.pick("new") is s  # least outstanding: the other one holds the traffic


async def test_all_servers_down_is_no_server() -> None:
    pool = _pool("http://a/v1", probe=None)
    s = await pool.acquire(None)
    pool.release(s, ok=False, down=True)
    with pytest.raises(NoServer, match="all 1 servers are down"):
        await pool.acquire(None)


def test_spec_checks_name_the_bad_server() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        check_spec(ModelSpec(backend="openai", model="m", options={"base_url": ["http://a/v1", "http://a/v1/"]}))
    with pytest.raises(ValueError, match="weight"):
        check_spec(ModelSpec(backend="openai", model="m", options={"base_url": [{"url": "http://a", "weight": 0}]}))
    with pytest.raises(ValueError, match="list of servers"):
        check_spec(ModelSpec(backend="openai", model="m", options={"base_url": "http://a", "probe_backoff": 1}))
    pool = ModelSpec(backend="openai", model="m", options={"base_url": ["http://a/v1", "http://b/v1"]})
    assert isinstance(create_backend(pool), PooledOpenAIBackend)
    moved = pool.model_copy(update={"options": {"base_url": ["http://c/v1"]}})
    assert cache_identity(pool) == cache_identity(moved) == "openai:m@pool"  # the key names no server


async def test_a_refused_server_is_skipped_and_the_call_counted_once(tmp_path: Path) -> None:
    with FakeServer(latency=0.0) as live:
        dead = FakeServer().start()
        dead_url = dead.url
        dead.kill()
        b = PooledOpenAIBackend("fake", base_url=[dead_url, live.url], max_retries=2, probe_backoff=30)
        b.pool.servers[0].outstanding = -1  # the dead one looks least busy: it is tried first
        with routed("u"):
            c = await b.generate([Message(role="user", content="What is 2 + 3?")], GenParams())
        await b.aclose()
    assert c.ok and "\\boxed{5}" in c.text
    stats = {s.server: s for s in b.take_server_stats()}
    assert stats[dead_url].failures == 1 and stats[dead_url].downs == 1
    assert stats[live.url].calls == 1 and stats[live.url].failures == 0
    assert b.take_server_stats() == []  # taken: counted once


def _config(store: Path, urls: list[str]):  # type: ignore[no-untyped-def]
    return parse_config({
        "name": "pool", "store": str(store), "concurrency": 6, "n_problems": 40,
        "models": [{"backend": "openai", "model": "fake", "name": "fake",
                    "options": {"base_url": urls, "max_concurrency": 4, "max_retries": 8, "initial_backoff": 0.05,
                                "max_backoff": 0.5, "probe_backoff": 0.1, "timeout": 20}}],
        "tasks": [{"name": "toy_add"}],
        "strategies": [{"name": "cot"}, {"name": "self_consistency", "k": 3}]})


@pytest.mark.slow
def test_three_servers_one_killed_mid_run_and_restarted(tmp_path: Path) -> None:
    servers = [FakeServer(latency=0.03, capacity=4).start() for _ in range(3)]
    victim = servers[1]
    store = tmp_path / "pool.db"
    cfg = _config(store, [s.url for s in servers])
    done = 0

    def progress(event: str, payload: object) -> None:
        nonlocal done
        if event != "unit":
            return
        done += 1
        if done == 15:
            victim.kill()  # connections drop, in-flight calls fail over
        if done == 30:
            victim.start()  # the same port: a probe finds it back

    try:
        summary = asyncio.run(run_experiment(cfg, progress=progress))
        answered_after_restart = _answered(victim)
    finally:
        for s in servers:
            s.kill()

    assert summary.unit_errors == [] and summary.units_done == summary.units_total == 80  # 0 lost
    st = RunStore(store)
    units = st.units(summary.run_id)
    assert len(units) == 80 and {u.status for u in units} == {"done"}
    assert all(u.result and u.result.correct for u in units)
    with sqlite3.connect(store) as db:  # 0 stored twice: one logged call per (unit, request)
        rows = db.execute("SELECT unit_key, cache_key, COUNT(*) FROM calls WHERE cached=0 "
                          "GROUP BY unit_key, cache_key").fetchall()
    assert len(rows) == 40 + 40 * 3 and {n for *_, n in rows} == {1}
    per_server = {s.server: s for _, s in st.server_stats(summary.run_id)}
    assert set(per_server) == {s.url for s in servers}
    assert sum(s.answered for s in per_server.values()) == 160  # each call answered once, by one server
    assert per_server[victim.url].downs >= 1 and per_server[victim.url].failures >= 1
    assert answered_after_restart > 0  # probed and back in the rotation
    page = render_report(st, summary.run_id).html
    assert 'id="servers"' in page and victim.url in page.split('id="servers"')[1]
    st.close()

    shown = CliRunner().invoke(app, ["show", summary.run_id, "--store", str(store)], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    for s in servers:
        assert f"{s.url}" in shown.output
    line = next(ln for ln in shown.output.splitlines() if victim.url in ln)
    assert str(per_server[victim.url].calls) in line.split()


def _answered(server: FakeServer) -> int:
    import json
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/stats", timeout=5) as r:
        return int(json.load(r)["answered"])


def test_base_url_repeated_on_the_command_line(tmp_path: Path) -> None:
    store = str(tmp_path / "cli.db")
    with FakeServer(latency=0.0) as a, FakeServer(latency=0.0) as b:
        flags = ["run", "--backend", "openai", "--model", "fake", "--base-url", a.url,
                 "--base-url", f"{b.url} weight=2 max_concurrency=2", "--task", "toy_add", "-n", "6",
                 "--store", store]
        out = CliRunner().invoke(app, flags, terminal_width=200)
        assert out.exit_code == 0, out.output
    st = RunStore(store)
    run = st.list_runs()[-1]
    assert run.config["models"][0]["options"]["base_url"] == [a.url, f"{b.url} weight=2 max_concurrency=2"]
    assert {s.server for _, s in st.server_stats(run.id)} <= {a.url, b.url}
    assert sum(s.answered for _, s in st.server_stats(run.id)) == 6
    st.close()
    bad = CliRunner().invoke(app, ["run", "--backend", "openai", "--model", "m", "--base-url", "http://a/v1",
                                   "--base-url", "http://b/v1 weigth=2", "--store", str(tmp_path / "x.db")])
    assert bad.exit_code == 2 and "weigth" in bad.output and "Traceback" not in bad.output
