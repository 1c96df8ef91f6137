"""The CLI end to end on the scripted backend: run, resume, show, runs, bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mistakelab.cli import app
from mistakelab.cli.options import parse_named

runner = CliRunner(env={"COLUMNS": "250"})


def _config(tmp_path: Path) -> Path:
    outputs = tmp_path / "outputs.jsonl"
    # toy_add problem i asks "i + 1": answer right for even i, wrong for odd.
    outputs.write_text("\n".join(json.dumps(f"\\boxed{{{i + 1 if i % 2 == 0 else 0}}}") for i in range(4)))
    cfg = tmp_path / "exp.toml"
    cfg.write_text(f"""
name = "cli"
n_problems = 4
concurrency = 1
store = "{tmp_path / 'runs.db'}"
[[models]]
backend = "scripted"
model = "fake"
options = {{ outputs_file = "{outputs}" }}
[[tasks]]
name = "toy_add"
[[strategies]]
name = "cot"
""")
    return cfg


def test_run_then_rerun_then_show(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    first = runner.invoke(app, ["run", str(cfg)])
    assert first.exit_code == 0, first.output
    assert "4 done now, 0 already done" in first.output
    assert "50.0 [15.0, 85.0]" in first.output  # 2/4 with its Wilson interval
    # The same command resumes: nothing left to do, and the scripted outputs are not reused.
    again = runner.invoke(app, ["run", str(cfg)])
    assert again.exit_code == 0, again.output
    assert "0 done now, 4 already done" in again.output and "0 made" in again.output
    run_id = next(line.split()[1] for line in first.output.splitlines() if line.startswith("run "))
    shown = runner.invoke(app, ["show", "cli", "--store", str(tmp_path / "runs.db")])
    assert shown.exit_code == 0 and run_id in shown.output and "50.0 [15.0, 85.0]" in shown.output
    listed = runner.invoke(app, ["runs", "--store", str(tmp_path / "runs.db")])
    assert run_id in listed.output and "complete" in listed.output


def test_bad_config_exits_with_named_field(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    cfg.write_text(cfg.read_text().replace("n_problems = 4", "n_problems = 0"))
    res = runner.invoke(app, ["run", str(cfg)])
    assert res.exit_code == 2
    assert "n_problems" in res.output


def test_show_unknown_run(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    runner.invoke(app, ["run", str(cfg)])
    res = runner.invoke(app, ["show", "nope", "--store", str(tmp_path / "runs.db")])
    assert res.exit_code == 2 and "no run 'nope'" in res.output


def test_parse_named() -> None:
    assert parse_named("self_consistency:k=4,temperature=0.7") == {
        "name": "self_consistency", "k": 4, "temperature": 0.7}
    assert parse_named("gsm8k_file:path=data/x.jsonl") == {"name": "gsm8k_file", "path": "data/x.jsonl"}


def test_list_reads_every_registry_so_a_new_one_appears_by_itself() -> None:
    from mistakelab.core.registry import Registry
    from mistakelab.learn import export_formats
    from mistakelab.locate import locators
    from mistakelab.scorers import scorers

    kinds = runner.invoke(app, ["list"])
    assert kinds.exit_code == 0, kinds.output
    for kind in ("strategies", "tasks", "scorers", "locators", "backends", "formats"):
        assert kind in kinds.output
    for kind, reg in [("scorers", scorers), ("locators", locators), ("formats", export_formats)]:
        listed = runner.invoke(app, ["list", kind])
        assert listed.exit_code == 0 and all(name in listed.output for name in reg.names())
    assert "rollout" in runner.invoke(app, ["list", "locators"]).output
    assert {"local", "openai", "scripted"} <= set(runner.invoke(app, ["list", "backends"]).output.split())
    gizmos = Registry("test gizmo")
    gizmos.register("sprocket", type("Sprocket", (), {"__doc__": "Turns things."}))
    listed = runner.invoke(app, ["list", "test_gizmos"])
    assert listed.exit_code == 0 and "sprocket" in listed.output and "Turns things." in listed.output
    bad = runner.invoke(app, ["list", "nope"])
    assert bad.exit_code == 2 and "unknown kind 'nope'" in bad.output and "scorers" in bad.output


def test_tasks_and_sample_commands() -> None:
    listed = runner.invoke(app, ["tasks"])
    assert listed.exit_code == 0
    for name in ("gsm_symbolic", "igsm", "knights_knaves", "gsm8k_file", "math_sample"):
        assert name in listed.output
    sampled = runner.invoke(app, ["sample", "igsm:min_ops=3,max_ops=4", "-n", "2", "--seed", "1"])
    assert sampled.exit_code == 0, sampled.output
    assert "igsm-1-0" in sampled.output and "step 0:" in sampled.output and "gold answer" in sampled.output
    bad = runner.invoke(app, ["sample", "igsm:min_ops=9,max_ops=2"])
    assert bad.exit_code == 2


def test_locate_on_a_processbench_file(tmp_path: Path) -> None:
    data = tmp_path / "pb.jsonl"
    rows = [
        {"problem": "p", "steps": ["2 + 2 = 5", "so 5"], "label": 0, "final_answer_correct": False},
        {"problem": "p", "steps": ["2 + 2 = 4", "so 4"], "label": -1, "final_answer_correct": True},
        {"problem": "p", "steps": ["2 + 2 = 4", "then we double it to get 9"], "label": 1,
         "final_answer_correct": False},
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows))
    preds = tmp_path / "preds.jsonl"
    res = runner.invoke(app, ["locate", "--data", str(data), "--locator", "arithmetic",
                              "--store", str(tmp_path / "r.db"), "--predictions", str(preds)])
    assert res.exit_code == 0, res.output
    got = [json.loads(line) for line in preds.read_text().splitlines()]
    assert [g["pred"] for g in got] == [0, -1, -1]
    assert "50.0" in res.output  # acc_err: 1 of 2 records with an error


def test_locate_by_source(tmp_path: Path) -> None:
    data = tmp_path / "pb.jsonl"
    rows = [
        {"problem": "p", "steps": ["2 + 2 = 5", "so 5"], "label": 0, "final_answer_correct": False,
         "source": "injected"},
        {"problem": "p", "steps": ["2 + 2 = 4", "so 4"], "label": -1, "final_answer_correct": True, "source": "gold"},
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows))
    res = runner.invoke(app, ["locate", "--data", str(data), "-l", "arithmetic", "-l", "arithmetic:label=again",
                              "--store", str(tmp_path / "r.db"), "--by-source"])
    assert res.exit_code == 0, res.output
    assert "by source" in res.output and "injected" in res.output and "gold" in res.output
    assert "baseline" in res.output and "+0.0" in res.output  # the same locator twice: no difference
    assert "again" in res.output and "label=" not in res.output


def test_show_prints_revision_figures_from_the_traces(tmp_path: Path) -> None:
    """try_again that repeats one wrong answer: the unique-answer ratio is 1/3 and both
    unsolved problems kept the same answer every turn."""
    cfg = tmp_path / "ta.toml"
    cfg.write_text(f'name = "ta"\nn_problems = 2\nstore = "{tmp_path / "r.db"}"\n'
                   '[[models]]\nbackend = "scripted"\nmodel = "fake"\n'
                   'options = { outputs = ["\\\\boxed{-1}", "\\\\boxed{-1}", "\\\\boxed{-1}", '
                   '"\\\\boxed{-1}", "\\\\boxed{-1}", "\\\\boxed{-1}"] }\n'
                   '[[tasks]]\nname = "gsm8k_sample"\n[[strategies]]\nname = "try_again"\nturns = 3\n')
    res = runner.invoke(app, ["run", str(cfg)])
    assert res.exit_code == 0, res.output
    shown = runner.invoke(app, ["show", "ta", "--store", str(tmp_path / "r.db")])
    assert shown.exit_code == 0, shown.output
    line = next(x for x in shown.output.splitlines() if "try_again(turns=3):" in x and "unique" in x)
    assert "unique-answer ratio 0.33" in line and "same answer every turn: 2/2" in line


def test_report_of_a_run_holding_a_long_text(tmp_path: Path) -> None:
    """Texts of 2,048+ characters are stored as chunk references (migration 003): traces read
    them back whole, and ``report`` renders the run (issue 25, item 1)."""
    from mistakelab.store import RunStore
    from mistakelab.store.texts import INLINE_MAX

    cfg = _config(tmp_path)
    long = "Step 1: think. " * (INLINE_MAX // 10) + "\\boxed{1}"
    (tmp_path / "outputs.jsonl").write_text("\n".join(json.dumps(t) for t in [long, "\\boxed{2}", "x", "y"]))
    assert runner.invoke(app, ["run", str(cfg)]).exit_code == 0
    st = RunStore(tmp_path / "runs.db")
    texts = [t.calls[0].completion.text for _, t in st.units_with_traces(st.list_runs()[-1].id) if t is not None]
    st.close()
    # the text itself (the scripted model cuts it at max_tokens), not its chunk reference
    assert any(isinstance(t, str) and len(t) >= INLINE_MAX and long.startswith(t) for t in texts)
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", "cli", "--store", str(tmp_path / "runs.db"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "Step 1: think. Step 1: think." in out.read_text()
