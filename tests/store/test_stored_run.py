"""A stored run read back once: one lookup rule, its config parsed into tasks and labels."""

from __future__ import annotations

import pytest

from mistakelab.core import Problem
from mistakelab.store import RunStore, StoredRun, find_run

CONFIG = {"tasks": [{"name": "gsm8k_sample", "label": "gsm"}, {"name": "no_such_task"}],
          "strategies": [{"name": "self_consistency", "k": 4}, {"name": "cot"},
                         {"name": "self_refine", "critic": {"model": "big"}, "label": "refine"}]}


def test_one_lookup_rule_by_id_prefix_or_latest_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    st = RunStore(tmp_path / "r.db")
    st.create_run("exp-bbbb", "exp", CONFIG)
    st.create_run("exp-aaaa", "exp", CONFIG)
    st._write("UPDATE runs SET created_at = created_at - 10 WHERE id = 'exp-aaaa'")  # the older one
    assert find_run(st, "exp-aaaa").id == "exp-aaaa"
    assert find_run(st, "exp-b").id == "exp-bbbb"
    assert find_run(st, "exp").id == "exp-bbbb"  # a name: the latest run of it
    with pytest.raises(LookupError, match="no run 'nope'.*known: exp-aaaa, exp-bbbb"):
        find_run(st, "nope")
    st.close()


def test_config_tasks_labels_and_problems(tmp_path) -> None:  # type: ignore[no-untyped-def]
    st = RunStore(tmp_path / "r.db")
    st.create_run("r1", "r", CONFIG)
    st.save_problems("r1", "gsm", [Problem(id="p1", question="2+2?", answer="4")])
    run = StoredRun.open(st, "r1")
    assert run.strategy_labels == ["self_consistency(k=4)", "cot", "refine"]
    assert list(run.task_specs) == ["gsm", "no_such_task"]
    assert run.task("gsm").name == "gsm8k_sample" and run.task("gsm") is run.task("gsm")
    tasks, notes = run.rebuild_tasks()
    assert list(tasks) == ["gsm"] and "unknown task 'no_such_task'" in notes["no_such_task"]
    assert run.problems_of("gsm")["p1"].answer == "4" and run.problems_by_task() == {
        "gsm": {"p1": run.problems_of("gsm")["p1"]}, "no_such_task": {}}
    assert not run.served and run.units() == []
    st.close()


def test_an_answer_stored_with_round_reads_back_with_its_index() -> None:
    from mistakelab.core.trace import AnswerRecord

    old = AnswerRecord.model_validate({"kind": "sample", "label": "s", "round": 3, "extracted": "4"})
    assert old.index == 3 and "round" not in old.model_dump()
