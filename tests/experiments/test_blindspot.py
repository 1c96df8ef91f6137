"""The blind-spot experiment on the scripted backend: items, placements, the store, figures."""

from __future__ import annotations

import asyncio
import string

import pytest
from typer.testing import CliRunner

from mistakelab.backends import ScriptedBackend
from mistakelab.cli import app
from mistakelab.core.types import Message
from mistakelab.experiments.blindspot import (CONDITIONS, BlindspotConfig, FactsTask, blindspot_report, level1,
                                              level2, level3, run_blindspot)
from mistakelab.experiments.blindspot.facts import KINDS
from mistakelab.runner import parse_config, run_experiment
from mistakelab.store import RunStore
from mistakelab.tasks import create_task

runner = CliRunner(env={"COLUMNS": "250"})


def test_facts_cover_every_kind_with_a_wrong_answer_one_step_off() -> None:
    problems = FactsTask().load(2 * len(KINDS), seed=3)
    assert [p.metadata["kind"] for p in problems[:len(KINDS)]] == list(KINDS)
    for p in problems:
        right, wrong = p.answer, p.metadata["wrong"]
        assert right != wrong
        if p.metadata["kind"] in ("larger", "smaller"):
            assert {right, wrong} <= set(p.question.replace(",", " ").replace("?", " ").split())
        elif right.isalpha():
            assert abs(string.ascii_lowercase.index(right) - string.ascii_lowercase.index(wrong)) == 1
        else:
            assert abs(int(right) - int(wrong)) == 1
    assert FactsTask().load(2, 3) == problems[:2]  # deterministic


def test_facts_letters_are_checked_ignoring_case() -> None:
    p = next(p for p in FactsTask().load(8, 0) if p.metadata["kind"] == "next_letter")
    task = FactsTask()
    assert task.verify(p, f"\\boxed{{{p.answer.upper()}}}").correct
    assert not task.verify(p, f"\\boxed{{{p.metadata['wrong']}}}").correct


def test_level2_cuts_the_injected_solution_right_after_the_error() -> None:
    for it in level2(4, seed=1):
        task = it.task
        assert it.level == 2 and not task.verify(it.problem, it.error).correct
        verdict = task.verify_steps(it.problem, it.error)
        assert verdict.first_error == len(verdict.steps) - 1  # the error is the last step shown
        assert "boxed" not in it.error


def _recording_model(correct_when):  # type: ignore[no-untyped-def]
    """A fake model that answers right exactly in the placements ``correct_when`` accepts."""
    seen: list[list[Message]] = []

    def reply(messages: list[Message], params) -> str:  # type: ignore[no-untyped-def]
        seen.append(messages)
        q = messages[0].content
        answer = FactsTask().load(64, 0)
        p = next(p for p in answer if q.startswith(p.question))
        placement = ("own" if messages[-1].role == "assistant" and messages[-1].content != "Wait" else "user") + (
            "+wait" if messages[-1].content.endswith("Wait") else "")
        return f" so \\boxed{{{p.answer if correct_when(placement) else p.metadata['wrong']}}}"

    return seen, reply


def test_run_places_the_error_and_figures_follow(tmp_path) -> None:  # type: ignore[no-untyped-def]
    seen, reply = _recording_model(lambda placement: placement != "own")
    store = str(tmp_path / "bs.db")
    cfg = BlindspotConfig(model={"backend": "scripted", "model": "fake"}, n=8, levels=[1], store=store,
                          concurrency=2)
    fake = ScriptedBackend(reply)
    run_id = asyncio.run(run_blindspot(cfg, backend_factory=lambda spec: fake))
    assert len(fake.calls) == 8 * 4
    by_shape = {(len(m), m[-1].role, m[-1].content.endswith("Wait")) for m in seen}
    assert by_shape == {(2, "assistant", False), (2, "assistant", True), (1, "user", False)}
    own = next(m for m in seen if m[-1].role == "assistant" and not m[-1].content.endswith("Wait"))
    assert own[-1].content.startswith("The answer is \\boxed{") and "The answer is" not in own[0].content
    user = next(m for m in seen if len(m) == 1)
    assert user[0].content.endswith("}.") and "The answer is \\boxed{" in user[0].content
    user_wait = next(m for m in seen if len(m) == 2 and m[-1].content == "Wait")
    assert user_wait[0].content == user[0].content
    st = RunStore(store)
    (r,) = blindspot_report(st, run_id)
    st.close()
    assert r.n == 8 and r.correct == {"own": 0, "own+wait": 8, "user": 8, "user+wait": 8}
    assert (r.bs, r.bs_wait, r.reduction) == (1.0, 0.0, 1.0)
    # resumable: the same config runs nothing again
    again = ScriptedBackend([])
    assert asyncio.run(run_blindspot(cfg, backend_factory=lambda spec: again)) == run_id and not again.calls


def test_a_strategy_bug_fails_its_unit_and_the_run_goes_on(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A bug in a probe (not a failed call) fails that unit with its error; every other unit
    is still run and stored, and the failed ones are retried on the next run."""
    import mistakelab.experiments.blindspot.run as bs_run

    real = bs_run.probe

    async def buggy(ctx, error, condition, cue):  # type: ignore[no-untyped-def]
        if condition == "user":
            raise ZeroDivisionError("a bug in the probe")
        await real(ctx, error, condition, cue)

    monkeypatch.setattr(bs_run, "probe", buggy)
    store = str(tmp_path / "bs.db")
    cfg = BlindspotConfig(model={"backend": "scripted", "model": "fake"}, n=3, levels=[1], store=store)
    _, reply = _recording_model(lambda placement: True)
    run_id = asyncio.run(run_blindspot(cfg, backend_factory=lambda spec: ScriptedBackend(reply)))
    st = RunStore(store)
    units = st.units(run_id)
    st.close()
    failed = [u for u in units if u.status == "failed"]
    assert len(units) == 3 * 4 and {u.strategy for u in failed} == {"user"} and len(failed) == 3
    assert failed[0].result.error == "ZeroDivisionError: a bug in the probe"
    assert all(u.result.correct for u in units if u.status == "done")


def test_level3_uses_a_stored_runs_wrong_solutions_cut_after_the_first_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    task = create_task("igsm", {"min_ops": 3, "max_ops": 4})
    problems = task.load(3, 0)
    wrong = task.inject_error(problems[1], 1).text  # a wrong solution for the second problem
    outs = [task.gold_solution(problems[0]), wrong, "no steps here, just \\boxed{12345}"]
    store = str(tmp_path / "runs.db")
    cfg = parse_config({"name": "src", "store": store, "n_problems": 3, "concurrency": 1,
                        "models": [{"backend": "scripted", "model": "m", "options": {"outputs": outs}}],
                        "tasks": [{"name": "igsm", "options": {"min_ops": 3, "max_ops": 4}}],
                        "strategies": [{"name": "cot"}]})
    asyncio.run(run_experiment(cfg))
    items = level3(store, "src", 10)
    assert [it.problem.id for it in items] == [problems[1].id, problems[2].id]
    first, whole = items
    assert first.kind == "first_error" and first.error == "\n".join(wrong.splitlines()[:2]) + "\n"
    assert whole.kind == "whole" and whole.error.endswith("\\boxed{12345}")
    with pytest.raises(ValueError, match="no run"):
        level3(store, "nope", 3)


def test_cli_blindspot_prints_the_table_and_refuses_level3_without_a_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = str(tmp_path / "bs.db")
    outs = '["\\\\boxed{1}", "\\\\boxed{1}", "\\\\boxed{1}", "\\\\boxed{1}"]'
    res = runner.invoke(app, ["blindspot", "--backend", "scripted", "--model", "fake", "--model-option",
                              f"outputs={outs}", "-n", "1", "--level", "1", "--store", store, "--concurrency", "1"])
    assert res.exit_code == 0, res.output
    assert "level1" in res.output and "BS %" in res.output and "Wait reduction" in res.output
    shown = runner.invoke(app, ["show", "blindspot", "--store", store])
    assert shown.exit_code == 0 and all(c in shown.output for c in CONDITIONS)
    bad = runner.invoke(app, ["blindspot", "--backend", "scripted", "--model", "fake", "--level", "3",
                              "--store", store, "--model-option", f"outputs={outs}"])
    assert bad.exit_code == 2 and "level 3 needs a stored run" in bad.output


def test_items_of_level1_hold_the_wrong_answer() -> None:
    for it in level1(8, seed=0):
        assert it.error == f"The answer is \\boxed{{{it.problem.metadata['wrong']}}}."
