"""The improve loop's logic on the scripted model, with a trainer that writes a marker adapter.

The scripted model reads the adapter it is given: the base model gets every problem with an
odd first number wrong, the round-1 adapter only those with a first number of 3 mod 4, the
round-2 adapter none. So the round table's figures are known exactly. Training itself is
tested on smollm2 (test_improve_local.py); here the loop's stages, resume and records are.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mistakelab.backends import ModelSpec, ScriptedBackend
from mistakelab.cli.app import app
from mistakelab.core.types import GenParams, Message
from mistakelab.learn.improve import LoopStopped, SplitError, loop_table, parse_loop_config, run_loop
from mistakelab.learn.train import TrainResult
from mistakelab.store import RunStore, loop_stages

Q = re.compile(r"What is (\d+) \+ (\d+)\?")


def config(tmp: Path, **over) -> dict:  # type: ignore[no-untyped-def]
    data = {"name": "toyloop", "store": str(tmp / "loop.db"), "out": str(tmp / "out"), "rounds": 2,
            "model": {"backend": "scripted", "model": "toy"},
            "train": {"tasks": [{"name": "toy_add", "n": 8, "seed": 0}], "strategy": "self_consistency:k=2"},
            "eval": {"tasks": [{"name": "toy_add", "n": 8, "seed": 20}], "strategies": ["cot"]},
            "recipes": ["rft", "correction:weight=0.5"], "training": {"steps": 3}}
    data.update(over)
    return data


def backend(spec: ModelSpec) -> ScriptedBackend:
    lora = spec.options.get("lora")
    level = 0 if lora is None else int(Path(lora).read_text().split()[0])

    def reply(messages: list[Message], params: GenParams) -> str:
        a, b = map(int, Q.search(messages[-1].content).groups())
        wrong = (a % 2 == 1) if level == 0 else (a % 4 == 3) if level == 1 else False
        wrong = wrong and "Hint: the correct final answer" not in messages[-1].content  # a hint helps
        return f"{a} + {b} = {a + b + wrong}. The answer is \\boxed{{{a + b + wrong}}}."

    return ScriptedBackend(reply, model_id=f"toy+{level}")


class Trainer:
    """Writes an adapter file whose first word is the round number; records its calls."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, dataset, base, out, settings, on_log=None, time_limit_s=None, init_adapter=None, teacher=None):  # type: ignore[no-untyped-def]
        rows = Path(dataset).read_text().splitlines()
        self.calls.append({"dataset": str(dataset), "rows": len(rows), "init": init_adapter, "steps": settings.max_steps,
                           "tokens": settings.tokens})
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        level = int(out.parent.name.split("-")[1])
        (out / "adapter.gguf").write_text(f"{level} trained on {len(rows)} rows")
        for s in range(1, settings.max_steps + 1):
            if on_log:
                on_log(s, settings.max_steps, 1.0 / s)
        return TrainResult(str(out), str(out / "adapter"), str(out / "adapter.gguf"), base, str(dataset), len(rows),
                           len(rows), settings.max_steps, [(s, 1.0 / s) for s in range(1, settings.max_steps + 1)],
                           2.5, 100.0, max_steps=settings.max_steps, row_tokens=50.0)


class Kill(Exception):
    pass


def killer(at: tuple[int, str]):  # type: ignore[no-untyped-def]
    def progress(event, payload):  # type: ignore[no-untyped-def]
        if event == "stage_done" and payload[:2] == at:
            raise Kill()
    return progress


def test_a_loop_killed_between_stages_continues_where_it_stopped(tmp_path: Path) -> None:
    cfg = parse_loop_config(config(tmp_path))
    trainer = Trainer()
    with pytest.raises(Kill):
        asyncio.run(run_loop(cfg, backend_factory=backend, train_fn=trainer, progress=killer((1, "data"))))
    st = RunStore(cfg.store)
    assert [(s.round, s.stage) for s in loop_stages(st, cfg.loop_id())] == [(0, "eval"), (1, "solve"), (1, "data")]
    assert st.get_run(cfg.loop_id()).status == "incomplete" and trainer.calls == []
    st.close()
    events: list[tuple[str, object]] = []
    summary = asyncio.run(run_loop(cfg, backend_factory=backend, train_fn=trainer,
                                   progress=lambda e, p: events.append((e, p))))
    assert summary.rounds == 3 and summary.stages_run == 6  # r1 train, eval; r2 solve, data, train, eval
    assert [p for e, p in events if e == "stage_skip"] == [(0, "eval"), (1, "solve"), (1, "data")]
    # restart = true: round 2 trains the base model (no init adapter) on both rounds' rows
    assert [c["init"] for c in trainer.calls] == [None, None]
    assert trainer.calls[1]["rows"] > trainer.calls[0]["rows"] and trainer.calls[1]["dataset"].endswith("pool.jsonl")
    assert any(e == "train" for e, _ in events)
    again = asyncio.run(run_loop(cfg, backend_factory=backend, train_fn=trainer))
    assert again.stages_run == 0 and len(trainer.calls) == 2  # nothing left to do


def test_the_round_table_has_exact_figures(tmp_path: Path) -> None:
    cfg = parse_loop_config(config(tmp_path))
    asyncio.run(run_loop(cfg, backend_factory=backend, train_fn=Trainer()))
    st = RunStore(cfg.store)
    t = loop_table(st, cfg.loop_id())
    assert t.status == "complete" and t.keys() == [("toy_add", "cot")]
    cells = t.series("toy_add", "cot")
    # eval first numbers 20..27: base wrong on odd (4), r1 on 23 and 27 (2), r2 on none
    assert [(c.round, c.n, c.correct) for c in cells] == [(0, 8, 4), (1, 8, 6), (2, 8, 8)]
    assert cells[0].vs_base is None and cells[0].vs_prev is None
    assert (cells[1].vs_prev.b_only, cells[1].vs_prev.a_only) == (2, 0)  # w→r, r→w
    assert cells[2].vs_base.diff == pytest.approx(0.5) and cells[2].vs_prev.b_only == 2
    assert cells[2].vs_base.low > 0  # 4 of 8 more, none fewer: significant
    r1 = t.rounds[1]
    # train first numbers 0..7, k=2 identical samples: base solves the 4 even ones
    assert r1.solved == (4, 8) and r1.steps == 3 and r1.first_loss == 1.0 and r1.train_seconds == 2.5
    counts = {d["recipe"]: d for d in r1.recipes}
    assert counts["rft"]["kept"] == 4 and counts["rft"]["skipped"] == {"problem with no correct solution": 4}
    # toy_add has no gold solution and the base model never solves an odd one: nothing to correct with
    assert counts["correction"]["built"] == 0 and counts["correction"]["skipped"] == {"no correct solution to show": 4}
    assert not t.oracle_built and r1.adapter and len(r1.adapter) == 12
    st.close()


def test_a_token_budget_reaches_the_trainer_and_the_round_table_shows_the_tokens_read(tmp_path: Path) -> None:
    cfg = parse_loop_config(config(tmp_path, rounds=1, training={"steps": 3, "tokens": 4000, "grad_accum": 2}))
    trainer = Trainer()
    asyncio.run(run_loop(cfg, backend_factory=backend, train_fn=trainer))
    assert [c["tokens"] for c in trainer.calls] == [4000]
    st = RunStore(cfg.store)
    t = loop_table(st, cfg.loop_id())
    assert t.rounds[1].train_tokens == 3 * 2 * 50  # steps x rows a step x the mean row tokens
    st.close()
    res = CliRunner().invoke(app, ["show", cfg.loop_id(), "--store", cfg.store], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "train tok" in res.output and " 300 " in res.output, res.output


def test_restart_false_trains_on_from_the_last_adapter(tmp_path: Path) -> None:
    cfg = parse_loop_config(config(tmp_path, restart=False))
    trainer = Trainer()
    asyncio.run(run_loop(cfg, backend_factory=backend, train_fn=trainer))
    assert trainer.calls[0]["init"] is None and trainer.calls[1]["init"].endswith("round-1/train/adapter")
    assert trainer.calls[1]["dataset"].endswith("round-2/data/train.jsonl")


def test_overlapping_train_and_eval_problems_are_refused_before_any_call(tmp_path: Path) -> None:
    cfg = parse_loop_config(config(tmp_path, eval={"tasks": [{"name": "toy_add", "n": 8, "seed": 5}]}))
    calls = []
    with pytest.raises(SplitError, match=r"3 eval problems are also train problems \(same question\): toy_add/toy-5-0 = "
                                         r"train toy_add/toy-0-5"):
        asyncio.run(run_loop(cfg, backend_factory=lambda s: calls.append(s) or backend(s), train_fn=Trainer()))
    assert calls == []
    st = RunStore(cfg.store)
    assert st.get_run(cfg.loop_id()) is None and loop_stages(st, cfg.loop_id()) == []


def test_the_time_limit_stops_the_loop_resumably(tmp_path: Path) -> None:
    cfg = parse_loop_config(config(tmp_path, time_limit=1e-9))
    with pytest.raises(LoopStopped, match="time limit"):
        asyncio.run(run_loop(cfg, backend_factory=backend, train_fn=Trainer()))
    st = RunStore(cfg.store)
    assert st.get_run(cfg.loop_id()).status == "incomplete"
    st.close()


def test_show_and_report_print_the_round_table_and_plot(tmp_path: Path) -> None:
    cfg = parse_loop_config(config(tmp_path))
    asyncio.run(run_loop(cfg, backend_factory=backend, train_fn=Trainer()))
    res = CliRunner().invoke(app, ["show", cfg.loop_id(), "--store", cfg.store], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    out = res.output
    assert "cot on toy_add" in out and "50.0 [21.5, 78.5]" in out and "100.0 [67.6, 100.0]" in out
    assert "+50.0 [" in out and "baseline" in out and "training per round" in out
    assert "round 1 skipped: rft: problem with no correct solution 4; correction: no correct solution to show 4" in out
    assert "final adapter (round 2)" in out and f"--lora-modules {cfg.loop_id()}-r2=" in out
    html = tmp_path / "loop.html"
    res = CliRunner().invoke(app, ["report", cfg.loop_id(), "--store", cfg.store, "-o", str(html)])
    assert res.exit_code == 0, res.output
    page = html.read_text()
    assert "data:image/svg+xml;base64," in page and "accuracy by round" in page and "+ adapter r2" in page


def test_improve_cli_refuses_a_bad_config_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nbackend = "openai"\nmodel = "m"\n[train]\ntasks = ["toy_add"]\n[eval]\ntasks = ["toy_add"]\n')
    res = CliRunner().invoke(app, ["improve", str(bad)])
    assert res.exit_code == 2 and "bad.toml: invalid loop configuration" in res.output
    assert "the loop trains and evaluates on the embedded engine" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(app, ["improve", str(bad), "--recipe", "nope"])
    assert res.exit_code == 2 and "unknown recipe 'nope'" in res.output
    data = json.loads(json.dumps(config(tmp_path)))
    assert parse_loop_config(data).trainer == "sft"


def test_the_example_loop_config_parses_and_its_drawn_problems_are_disjoint() -> None:
    from mistakelab.learn.improve import check_disjoint, load_loop_config
    from mistakelab.tasks import create_task

    cfg = load_loop_config(Path(__file__).parents[2] / "examples" / "loops" / "improve.toml")
    assert cfg.rounds == 2 and [r.name for r in cfg.recipes] == ["rft", "correction"] and cfg.trainer == "sft"
    assert [s.label for s in cfg.eval.strategies] == ["cot", "self_consistency(k=4)"]

    def draw(side):  # type: ignore[no-untyped-def]
        return {t.label: create_task(t.name, t.options).load(t.n, t.seed) for t in side.tasks
                if not t.name.endswith("_file")}  # the GSM8K file is the user's

    train, eval_ = draw(cfg.train), draw(cfg.eval)
    assert len(train["gsm_symbolic"]) == 150 and len(eval_["gsm_symbolic"]) == 100
    check_disjoint(train, eval_)
    # every other example loop samples the same train side, so its train samples come from the cache
    for other in sorted((Path(__file__).parents[2] / "examples" / "loops").glob("*.toml")):
        o = load_loop_config(other)
        assert (o.train, o.seed, o.model) == (cfg.train, cfg.seed, cfg.model), other.name
    budget = load_loop_config(Path(__file__).parents[2] / "examples" / "loops" / "recipes_equal_tokens.toml",
                              {"recipes": ["preference"]})
    assert budget.training.tokens == 120_000 and budget.trainer == "dpo"


def test_rationalize_re_solves_the_failed_problems_with_a_hint_and_is_labeled_oracle_built(tmp_path: Path) -> None:
    cfg = parse_loop_config(config(tmp_path, rounds=1, recipes=["rationalize"]))
    trainer = Trainer()
    asyncio.run(run_loop(cfg, backend_factory=backend, train_fn=trainer))
    st = RunStore(cfg.store)
    stages = {(s.round, s.stage): s.result for s in loop_stages(st, cfg.loop_id())}
    assert stages[(1, "hint")]["problems"] == 4  # the odd train problems the base model missed
    hinted = st.units(stages[(1, "hint")]["run"])
    assert len(hinted) == 4 and all(u.result.used_gold and u.result.correct for u in hinted)
    t = loop_table(st, cfg.loop_id())
    assert t.oracle_built and t.rounds[1].recipes[0]["oracle_built"] and t.rounds[1].rows == 4
    rows = [json.loads(x) for x in Path(stages[(1, "data")]["dataset"]).read_text().splitlines()]
    assert all("Hint" not in r["prompt"][-1]["content"] for r in rows)
    res = CliRunner().invoke(app, ["show", cfg.loop_id(), "--store", cfg.store], env={"COLUMNS": "200"})
    assert "[training data oracle-built]" in res.output and "rationalize 4 (oracle-built)" in res.output
    st.close()


def test_a_loop_keeps_its_id_when_a_later_version_adds_a_field_it_does_not_set() -> None:
    """The id is what resumes a loop: a stored loop (started before ``training.tokens``
    existed, id computed then) must be found again by the same command."""
    from mistakelab.learn.improve import load_loop_config

    path = Path(__file__).parents[2] / "examples" / "loops" / "improve_cot.toml"
    cfg = load_loop_config(path)
    assert cfg.loop_id() == "improve-cot-89cd7818", "changed the loop id: update this only with a migration note"
    assert load_loop_config(path, {"training.tokens": 1000}).loop_id() != cfg.loop_id()
