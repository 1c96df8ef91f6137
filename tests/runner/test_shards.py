"""Shards: ``--shard i/n`` runs a deterministic slice of the units into its own store, and
``merge`` joins the shard stores into the full run (identical units once, differing ones
refused)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mistakelab.backends import ScriptedBackend
from mistakelab.cli import app
from mistakelab.runner import parse_config, parse_shard, run_experiment
from mistakelab.store import RunStore
from mistakelab.store.merge import MergeConflict, merge_stores
from ray_fixtures import results, solve


def _cfg(store: Path):  # type: ignore[no-untyped-def]
    return parse_config({"name": "shards", "store": str(store), "n_problems": 10,
                         "models": [{"backend": "scripted", "model": "m", "options": {"outputs": []}}],
                         "tasks": [{"name": "toy_add"}],
                         "strategies": [{"name": "cot"}, {"name": "self_consistency", "k": 3,
                                                          "temperature": 0.7}]})


def _run(store: Path, shard=None):  # type: ignore[no-untyped-def]
    return asyncio.run(run_experiment(_cfg(store), backend_factory=lambda spec: ScriptedBackend(solve), shard=shard))


def test_three_shards_merged_equal_one_full_run(tmp_path: Path) -> None:
    full = _run(tmp_path / "full.db")
    shards = [_run(tmp_path / f"s{i}.db", (i, 3)) for i in (1, 2, 3)]
    assert [s.units_total for s in shards] == [8, 6, 6]  # problems 0,3,6,9 / 1,4,7 / 2,5,8; two strategies
    assert {s.run_id for s in shards} == {full.run_id}
    keys = [set(results(tmp_path / f"s{i}.db", full.run_id)) for i in (1, 2, 3)]
    assert not (keys[0] & keys[1]) and not (keys[1] & keys[2]) and not (keys[0] & keys[2])

    summary = merge_stores([tmp_path / f"s{i}.db" for i in (1, 2, 3)], tmp_path / "merged.db")
    assert summary.runs == 1 and summary.units == 20 and summary.duplicates == 0
    merged = results(tmp_path / "merged.db", full.run_id)
    assert merged == results(tmp_path / "full.db", full.run_id)
    assert len({r["correct"] for r in merged.values()}) == 2  # some right, some wrong: a real comparison
    st = RunStore(tmp_path / "merged.db")
    assert st.get_run(full.run_id).status == "complete"
    assert st.call_counts(full.run_id) == (full.calls_made, full.calls_cached)
    st.close()
    shown = CliRunner().invoke(app, ["show", full.run_id, "--store", str(tmp_path / "merged.db")])
    assert shown.exit_code == 0 and "(complete)" in shown.output


def test_identical_units_kept_once_differing_ones_refused(tmp_path: Path) -> None:
    first = _run(tmp_path / "s1.db", (1, 2))
    shutil.copy(tmp_path / "s1.db", tmp_path / "again.db")
    summary = merge_stores([tmp_path / "s1.db", tmp_path / "again.db"], tmp_path / "out.db")
    assert summary.units == 10 and summary.duplicates == 10
    with sqlite3.connect(tmp_path / "out.db") as db:
        (calls,) = db.execute("SELECT COUNT(*) FROM calls").fetchone()
    assert calls == first.calls_made + first.calls_cached  # the calls of one copy only

    with sqlite3.connect(tmp_path / "again.db") as db:  # the same unit, another answer
        key, doc = db.execute("SELECT unit_key, result_json FROM units WHERE strategy='cot' LIMIT 1").fetchone()
        db.execute("UPDATE units SET result_json=? WHERE unit_key=?",
                   (json.dumps({**json.loads(doc), "final_answer": "999"}), key))
    with pytest.raises(MergeConflict, match=f"unit {re.escape(key)} differs between .*s1.db .*again.db"):
        merge_stores([tmp_path / "s1.db", tmp_path / "again.db"], tmp_path / "new.db")
    st = RunStore(tmp_path / "new.db")
    assert st.list_runs() == []  # refused: nothing written
    st.close()
    out = CliRunner().invoke(app, ["merge", str(tmp_path / "s1.db"), str(tmp_path / "again.db"), "-o",
                                   str(tmp_path / "new.db")])
    assert out.exit_code == 2 and "merge refused" in out.output and "Traceback" not in out.output


def test_bad_shard_flag_is_one_line() -> None:
    with pytest.raises(ValueError, match="1 <= i <= n"):
        parse_shard("0/3")
    out = CliRunner().invoke(app, ["run", "--shard", "4/3", "--backend", "scripted", "--model", "m"])
    assert out.exit_code == 2 and "flag --shard" in out.output and "Traceback" not in out.output
