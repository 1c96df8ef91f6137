"""Comparison at equal tokens: the maj@m curve by hand, interpolation flags, the bootstrap, a run
end to end through ``mistakelab compare``."""

from __future__ import annotations

import asyncio
import random
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from mistakelab.backends import ScriptedBackend
from mistakelab.cli import app
from mistakelab.experiments.compare_run import compare_run
from mistakelab.experiments.equal_tokens import at_equal_tokens, interpolate, sc_curve
from mistakelab.runner import parse_config, run_experiment
from mistakelab.store import RunStore
from mistakelab.strategies import majority


def test_maj_at_m_averages_every_subset_by_hand() -> None:
    # answers a, b, a, c (only a is right); ties go to the answer seen first, as in SC
    samples = [[("a", True, 5), ("b", False, 7), ("a", True, 5), ("c", False, 3)]]
    curve = sc_curve(samples)
    # m=1: 2/4; m=2: {01:a, 02:a, 03:a, 12:b, 13:b, 23:a} -> 4/6; m=3: {012:a, 013:a, 023:a, 123:b} -> 3/4
    assert curve.accuracy().tolist() == pytest.approx([0.5, 4 / 6, 0.75, 1.0])
    assert curve.tokens().tolist() == pytest.approx([5, 10, 15, 20])


def test_maj_at_k_is_self_consistency_s_own_vote() -> None:
    rng = random.Random(3)
    for _ in range(50):
        answers = [rng.choice(["1", "2", "3", None]) for _ in range(6)]
        samples = [[(a, a == "2", 10) for a in answers]]
        assert sc_curve(samples).accuracy()[-1] == float(majority(answers) == "2")


def test_many_samples_use_random_subsets_reproducibly() -> None:
    samples = [[(str(i % 3), i % 3 == 0, 1) for i in range(20)]]
    a = sc_curve(samples, max_subsets=50, seed=1).accuracy()
    assert np.array_equal(a, sc_curve(samples, max_subsets=50, seed=1).accuracy())
    assert a[-1] == 1.0 and a[0] == pytest.approx(7 / 20)  # all 20: 7-7-6, the tie goes to '0'


def test_interpolation_and_its_flags() -> None:
    tokens, acc = np.array([10.0, 20.0, 30.0]), np.array([0.2, 0.4, 0.5])
    assert interpolate(tokens, acc, 15.0) == (pytest.approx(0.3), 1.5, "")
    assert interpolate(tokens, acc, 5.0) == (0.2, 1.0, "<1")
    assert interpolate(tokens, acc, 45.0) == (0.5, 3.0, ">k")
    assert interpolate(tokens, acc, 30.0) == (0.5, 3.0, "")


def test_bootstrap_interval_holds_the_difference_and_is_zero_when_identical() -> None:
    rng = random.Random(0)
    samples = [[(str(rng.randint(0, 2)), False, 10) for _ in range(4)] for _ in range(30)]
    samples = [[(a, a == "0", t) for a, _, t in s] for s in samples]
    curve = sc_curve(samples)
    full = [bool(curve.acc[p, -1]) for p in range(30)]  # a strategy that *is* maj@4
    same = at_equal_tokens(curve, full, [40] * 30, n_boot=300)
    assert same.diff == 0 and same.low == 0 and same.high == 0 and same.m == 4.0
    better = at_equal_tokens(curve, [True] * 30, [25] * 30, n_boot=300)
    assert better.low <= better.diff <= better.high and better.diff > 0 and better.m == 2.5
    with pytest.raises(ValueError, match="same number"):
        sc_curve([[("a", True, 1)], []])


# -- a run end to end ------------------------------------------------------------------------
def fake_model(messages, params):  # type: ignore[no-untyped-def]
    """toy_add: greedy solves even problems; a sample is right unless its seed is 0 mod 3."""
    a, b = map(int, re.findall(r"\d+", messages[0].content)[:2])
    if params.seed is None:
        return f"\\boxed{{{a + b if a % 2 == 0 else 0}}}"
    return f"\\boxed{{{a + b if params.seed % 3 else params.seed % 7}}}"


def run_store(tmp_path):  # type: ignore[no-untyped-def]
    cfg = parse_config({"store": str(tmp_path / "r.db"), "n_problems": 8, "concurrency": 1,
                        "models": [{"backend": "scripted", "model": "fake", "options": {"outputs": ["x"]}}],
                        "tasks": [{"name": "toy_add"}],
                        "strategies": [{"name": "cot"}, {"name": "self_consistency", "k": 4},
                                       {"name": "best_of_n", "n": 2, "scorer": "exact"}]})
    summary = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: ScriptedBackend(fake_model)))
    return cfg, summary.run_id


def test_compare_run_groups_rows_and_curve(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg, run_id = run_store(tmp_path)
    st = RunStore(cfg.store)
    (g,) = compare_run(st, run_id, n_boot=200)
    assert g.sc_label == "self_consistency(k=4)" and g.baseline == "cot" and [m for m, _, _ in g.curve] == [1, 2, 3, 4]
    rows = {r.strategy: r for r in g.rows}
    sc = rows["self_consistency(k=4)"]
    assert sc.equal is None and g.curve[-1][2] == pytest.approx(sc.accuracy)  # maj@4 is SC's accuracy
    assert g.curve[-1][1] == pytest.approx(sc.tokens)
    bon = rows["best_of_n(n=2,scorer=exact)"]
    assert bon.oracle and bon.equal is not None and bon.equal.n == 8
    assert rows["cot"].vs_baseline is None and bon.vs_baseline is not None


def test_compare_command_prints_the_curve_and_the_points(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg, run_id = run_store(tmp_path)
    out = CliRunner(env={"COLUMNS": "250"}).invoke(app, ["compare", run_id, "--store", cfg.store, "--boot", "200"])
    assert out.exit_code == 0, out.output
    assert "maj@m from its own samples" in out.output and "Δ pts vs SC at equal tok" in out.output
    assert re.search(r"best_of_n\(n=2,scorer=exact\)\s+│\s+8", out.output)
    bad = CliRunner().invoke(app, ["compare", "nope", "--store", cfg.store])
    assert bad.exit_code == 2 and "no run 'nope'" in bad.output
