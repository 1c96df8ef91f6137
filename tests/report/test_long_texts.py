"""A run holding texts of 2,048+ characters (stored as chunk references, migration 003) reads
back whole: the trace of every unit, and the HTML report of the run (issue 25, item 1)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mistakelab.cli import app
from mistakelab.store import RunStore
from mistakelab.store.texts import INLINE_MAX

runner = CliRunner(env={"COLUMNS": "250"})


def test_report_of_a_run_with_a_long_model_output(tmp_path: Path) -> None:
    long = "Step 1: think. " * (INLINE_MAX // 10) + "\\boxed{1}"
    assert len(long) > INLINE_MAX
    outputs = tmp_path / "outputs.jsonl"
    outputs.write_text(json.dumps(long) + "\n" + json.dumps("\\boxed{2}") + "\n")
    cfg = tmp_path / "exp.toml"
    cfg.write_text(f"""
name = "long"
n_problems = 2
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
    assert runner.invoke(app, ["run", str(cfg)]).exit_code == 0
    st = RunStore(tmp_path / "runs.db")
    run = st.list_runs()[-1]
    texts = [t.calls[0].completion.text for _, t in st.units_with_traces(run.id) if t is not None]
    st.close()
    # the text itself (the scripted model cuts it at max_tokens), not its chunk reference
    assert any(isinstance(t, str) and len(t) >= INLINE_MAX and long.startswith(t) for t in texts)
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", "long", "--store", str(tmp_path / "runs.db"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "Step 1: think. Step 1: think." in out.read_text()
