"""The locator benchmark's grouping, paired comparison and record order."""

from __future__ import annotations

from rich.console import Console

from mistakelab.core.types import Problem
from mistakelab.locate import LocateRecord, build_locator
from mistakelab.locate.base import LocatorResult
from mistakelab.experiments.locate_bench import LocatorRun, Prediction
from mistakelab.experiments.locate_build import by_problem
from mistakelab.report.locate_table import locator_table


def _run(name: str, preds: list[int | None]) -> LocatorRun:
    # four records: two natural with errors at step 1, one injected at step 0, one gold (-1)
    meta = [("n1", "natural", 1), ("n2", "natural", 1), ("i1", "injected", 0), ("g1", "gold", -1)]
    run = LocatorRun(name, build_locator({"name": "arithmetic"}), None)
    run.predictions = [Prediction(rid, "igsm", src, label, LocatorResult(first_error=p), calls=2, tokens=100 * k)
                       for k, ((rid, src, label), p) in enumerate(zip(meta, preds))]
    return run


def _render(table) -> str:  # type: ignore[no-untyped-def]
    console = Console(width=400, record=True)
    console.print(table)
    return console.export_text()


def test_groups_by_source_and_cost_per_group() -> None:
    run = _run("a", [1, 0, 0, -1])
    groups = run.groups("source")
    assert {g: [p.record_id for p in ps] for g, ps in groups.items()} == {
        "natural": ["n1", "n2"], "injected": ["i1"], "gold": ["g1"], "all": ["n1", "n2", "i1", "g1"]}
    scores = run.scores("source")
    assert scores["natural"].acc_err == 0.5 and scores["injected"].acc_err == 1.0
    assert scores["gold"].acc_cor == 1.0
    assert run.cost("natural", "source") == (2.0, 50.0)  # tokens 0 and 100
    assert run.cost() == (2.0, 150.0)
    assert list(run.groups("split")) == ["igsm"]  # one split: no "all" row


def test_table_pairs_each_locator_with_the_first() -> None:
    first = _run("first", [1, 0, 0, -1])  # 3 of 4 exact
    second = _run("second", [1, 1, None, 2])  # wins n2, loses i1 and g1: 2 of 4
    text = _render(locator_table([first, second]))
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if "│" in line}
    assert "baseline" in rows["first"]
    assert "-25.0" in rows["second"] and "+1/-2" in rows["second"]
    by_source = _render(locator_table([first, second], by="source"))
    assert "+1/-0" in by_source and "+0/-1" in by_source  # natural: won n2; injected: lost i1


def test_by_problem_keeps_records_of_a_problem_together() -> None:
    problems = [Problem(id=i, question="q", answer="1") for i in ("p0", "p1")]

    def rec(rid: str, pid: str | None) -> LocateRecord:
        return LocateRecord(id=rid, problem="q", steps=["s"], label=-1, final_answer_correct=True,
                            problem_data={"id": pid} if pid else None)

    recs = [rec("a", "p1"), rec("b", "p0"), rec("x", None), rec("c", "p1"), rec("d", "p0")]
    assert [r.id for r in by_problem(recs, problems)] == ["b", "d", "a", "c", "x"]


def test_a_display_label_does_not_change_the_calls(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from mistakelab.backends import ScriptedBackend
    from mistakelab.core.types import GenParams
    from mistakelab.experiments.locate_bench import run_locators
    from mistakelab.runner.caller import CallStats, ModelCaller
    from mistakelab.store import RunStore

    rec = LocateRecord(id="r", problem="Tom has 3 + 4 apples.", steps=["3 + 4 = 7", "So 7."], label=-1,
                       final_answer_correct=True, gold_answer="7")
    seeds: dict[str, list[int | None]] = {}
    for label in ("rollout-a", "rollout-b"):
        fake = ScriptedBackend(lambda m, p: "so \\boxed{7}")
        store = RunStore(tmp_path / f"{label}.db")  # separate stores: no cache between them
        store.create_run("x", "x", {})
        caller = ModelCaller(lambda: fake, "scripted:f", store, "x", CallStats(), capabilities=fake.capabilities)
        run = LocatorRun(label, build_locator({"name": "rollout", "k": 2}), caller, key="rollout:k=2")
        asyncio.run(run_locators([rec], [run], GenParams()))
        seeds[label] = [c.params.seed for c in fake.calls]
        store.close()
    assert seeds["rollout-a"] == seeds["rollout-b"] and len(seeds["rollout-a"]) == 4
