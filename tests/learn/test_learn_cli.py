"""``learn principles``, ``export`` and ``train`` on the command line (scripted model), and the
local backend's ``lora`` option as a config sees it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from learn_fixtures import HIGH_REPLY, LOW_REPLY, scripted_run
from mistakelab.backends import ModelSpec, check_spec
from mistakelab.cli import app
from mistakelab.core.memory import Memory
from mistakelab.learn import RunSource
from mistakelab.learn.correction import wrong_solutions
from mistakelab.runner.caller import cache_identity

runner = CliRunner(env={"COLUMNS": "250"})


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    store, run_id = scripted_run(root)
    return root, store, run_id


def test_learn_principles_writes_a_memory_and_prints_it(run) -> None:
    root, store, run_id = run
    n = len(list(wrong_solutions(RunSource.open(store, run_id), 2)))
    replies = root / "replies.jsonl"
    replies.write_text("\n".join(json.dumps(r) for r in [LOW_REPLY] * n + [HIGH_REPLY]))
    out = root / "mem.jsonl"
    res = runner.invoke(app, ["learn", "principles", run_id, "--store", store, "--backend", "scripted",
                              "--model", "fake", "--option", f"outputs_file={replies}", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert f"{n} mistakes" in res.output and "(oracle-built)" in res.output
    assert "2. Check each step before the next." in res.output  # markdown emphasis dropped
    assert Memory.load(out).principles[0] == "Recompute every value from the problem text."


def test_export_writes_each_format_to_its_folder(run) -> None:
    root, store, run_id = run
    res = runner.invoke(app, ["export", run_id, "--store", store, "-f", "correction", "-f", "sft:form=prompt_completion",
                              "--out", str(root / "ex"), "--no-parquet"])
    assert res.exit_code == 0, res.output
    assert (root / "ex" / "correction" / "train.jsonl").read_text().strip()
    assert (root / "ex" / "sft-form=prompt_completion" / "README.md").is_file()
    assert "prompt-completion (conversational)" in res.output


def test_bad_export_and_train_requests_fail_with_one_line(run) -> None:
    root, store, run_id = run
    res = runner.invoke(app, ["export", run_id, "--store", store, "-f", "nope"])
    assert res.exit_code == 2 and "unknown format; known: correction" in res.output
    res = runner.invoke(app, ["export", run_id, "--store", store, "-f", "retry:p=3", "--no-parquet",
                              "--out", str(root / "bad")])
    assert res.exit_code == 2 and "export format 'retry': bad options: p:" in res.output
    res = runner.invoke(app, ["train", "ppo", str(root), "--base", "smollm2-135m"])
    assert res.exit_code == 2 and "unknown training kind 'ppo'" in res.output
    res = runner.invoke(app, ["train", "gkd", str(root), "--base", "smollm2-135m"])
    assert res.exit_code == 2 and "--teacher goes with gkd, and gkd needs it" in res.output
    pytest.importorskip("datasets")
    res = runner.invoke(app, ["train", "sft", str(root / "missing.jsonl"), "--base", "smollm2-135m"])
    assert res.exit_code == 2 and "missing.jsonl: no such dataset" in res.output
    assert "Traceback" not in res.output


def test_a_lora_option_is_checked_and_is_part_of_the_cache_identity(tmp_path) -> None:
    with pytest.raises(ValueError, match="option lora: no adapter file"):
        check_spec(ModelSpec(backend="local", model="smollm2-135m", options={"lora": str(tmp_path / "none.gguf")}))
    adapter = tmp_path / "a.gguf"
    adapter.write_bytes(b"one")
    spec = ModelSpec(backend="local", model="smollm2-135m", options={"lora": str(adapter)})
    first = cache_identity(spec)
    adapter.write_bytes(b"two")  # retrained at the same path: cached completions must not carry over
    second = cache_identity(spec)
    plain = cache_identity(ModelSpec(backend="local", model="smollm2-135m"))
    assert len({first, second, plain}) == 3 and first.startswith(plain + "+lora:")
