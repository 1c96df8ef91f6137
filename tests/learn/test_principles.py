"""Principles (LEAP): building a memory from a run's mistakes, and the strategy that uses it."""

from __future__ import annotations

import asyncio
import json

import pytest

from learn_fixtures import HIGH_REPLY, IGSM, LOW_REPLY, scripted_run, solver
from mistakelab.backends import ModelSpec, ScriptedBackend
from mistakelab.core.memory import Memory, MemoryFileError, question_hash
from mistakelab.learn import RunSource
from mistakelab.learn.principles import build_memory
from mistakelab.runner import ConfigError, parse_config, run_experiment
from mistakelab.tasks import create_task


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("p")
    store, run_id = scripted_run(root)
    fake = ScriptedBackend(solver())
    memory, report = asyncio.run(build_memory(RunSource.open(store, run_id), ModelSpec(backend="scripted", model="fake"),
                                              max_principles=1, backend_factory=lambda spec: fake))
    path = memory.save(root / "memory.jsonl")
    return store, run_id, memory, report, path, fake


def test_each_mistake_is_shown_with_a_correct_solution_then_condensed(built) -> None:
    store, run_id, memory, report, path, fake = built
    source = RunSource.open(store, run_id)
    wrong = [s for s in source.solutions() if not s.correct]
    task = create_task("igsm", IGSM)
    low_calls = [c for c in fake.calls if "Principle: ..." in c.messages[-1].content]
    assert report.mistakes == len(low_calls) == len(wrong) and report.stated == len(wrong)
    for s in wrong:  # the wrong text and the gold solution of its problem, in one prompt
        assert any(s.text in c.messages[-1].content and task.gold_solution(s.problem) in c.messages[-1].content
                   for c in low_calls)
    high = [c for c in fake.calls if "Condense them" in c.messages[-1].content]
    assert len(high) == 1 and "at most 1 general" in high[0].messages[-1].content
    assert LOW_REPLY.split("Principle: ")[1] in high[0].messages[-1].content
    assert memory.principles == ["Recompute every value from the problem text."]  # max_principles=1
    assert {lp.text for lp in memory.low} == {LOW_REPLY.split("Principle: ")[1]}


def test_the_memory_file_records_where_it_came_from(built) -> None:
    store, run_id, memory, report, path, fake = built
    records = [json.loads(line) for line in path.read_text().splitlines()]
    head = records[0]
    assert head["record"] == "memory" and head["run"] == run_id and head["model"] == "scripted:fake"
    assert head["oracle"] is True and head["format"] == 1 and "Principle: ..." in head["prompts"]["low"]
    sources = [r for r in records if r["record"] == "source"]
    problems = {p.id: p for p in RunSource.open(store, run_id).problems.values()}
    assert sources and all(r["sha256"] == question_hash(problems[r["id"]].question) for r in sources)
    assert Memory.load(path).id == memory.id == head["id"]


def test_building_again_comes_from_the_cache(built) -> None:
    store, run_id, memory, report, path, fake = built
    before = len(fake.calls)
    again, rep = asyncio.run(build_memory(RunSource.open(store, run_id), ModelSpec(backend="scripted", model="fake"),
                                          max_principles=1, backend_factory=lambda spec: fake))
    assert len(fake.calls) == before and rep.calls_made == 0 and rep.calls_cached == report.calls_made
    assert again.principles == memory.principles


def _eval_config(store, memory_path, seed):  # type: ignore[no-untyped-def]
    return parse_config({"name": "evalp", "store": store, "n_problems": 4, "seed": seed,
                         "models": [{"backend": "scripted", "model": "fake"}],
                         "tasks": [{"name": "igsm", "options": IGSM}],
                         "strategies": [{"name": "cot"}, {"name": "principles", "memory": str(memory_path)}]})


def test_principles_put_the_memory_before_the_question_on_unseen_problems(built, tmp_path) -> None:
    store, run_id, memory, report, path, _ = built
    fake = ScriptedBackend(solver(4, seed=7))
    cfg = _eval_config(str(tmp_path / "eval.db"), path, seed=7)
    summary = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: fake))
    assert summary.units_done == 8
    with_memory = [c for c in fake.calls if "Principles learned from mistakes" in c.messages[-1].content]
    assert len(with_memory) == 4
    for c in with_memory:
        text = c.messages[-1].content
        assert "1. Recompute every value from the problem text." in text
        assert text.index("Recompute") < text.index("Solve step by step")  # the task's prompt follows


def test_a_memory_built_from_the_eval_problems_stops_the_run_before_any_call(built, tmp_path) -> None:
    store, run_id, memory, report, path, _ = built
    fake = ScriptedBackend([])
    cfg = _eval_config(str(tmp_path / "eval.db"), path, seed=0)  # seed 0: the problems it was built from
    with pytest.raises(ConfigError, match=r"strategy 'principles\(memory=.*\)' on task 'igsm': memory .* was built "
                                          r"from \d of these problems: igsm-0-"):
        asyncio.run(run_experiment(cfg, backend_factory=lambda spec: fake))
    assert fake.calls == []


def test_the_same_question_under_another_id_counts_as_seen(built) -> None:
    memory = built[2]
    src = memory.sources[0]
    task = create_task("igsm", IGSM)
    question = next(p.question for p in task.load(4, 0) if p.id == src.id)
    assert memory.overlap([("renamed", question), ("other", "What is 2+2?")]) == ["renamed"]


def test_a_missing_or_broken_memory_is_a_config_error(tmp_path) -> None:
    cfg = {"store": str(tmp_path / "e.db"), "models": [{"backend": "scripted", "model": "fake"}],
           "tasks": [{"name": "igsm"}], "strategies": [{"name": "principles", "memory": str(tmp_path / "no.jsonl")}]}
    with pytest.raises(ConfigError, match="no such memory file"):
        asyncio.run(run_experiment(parse_config(cfg), backend_factory=lambda s: ScriptedBackend([])))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"record": "memory", "format": 1, "run": "r", "model": "m"}\nnot json\n')
    with pytest.raises(MemoryFileError, match=r"bad.jsonl:2: not a memory record"):
        Memory.load(bad)
