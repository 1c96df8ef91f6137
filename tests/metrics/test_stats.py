"""Interval statistics checked against values computed by hand."""

from __future__ import annotations

import math

import pytest

from mistakelab.core.types import Result
from mistakelab.metrics import paired_difference, summarize, wilson_interval


def test_wilson_matches_hand_computation() -> None:
    # 7/10: centre = (0.7 + z²/20)/(1 + z²/10); half-width from the closed form.
    z = 1.959963984540054
    p, n = 0.7, 10
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo, hi = wilson_interval(7, 10)
    assert lo == pytest.approx(centre - half) and hi == pytest.approx(centre + half)
    assert (round(lo, 4), round(hi, 4)) == (0.3968, 0.8922)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_newcombe_paired_difference_worked_example() -> None:
    # 2x2 table: both right 12, only B right 9, only A right 2, neither 21 (n=44).
    a = [True] * 14 + [False] * 30
    b = [True] * 12 + [False] * 2 + [True] * 9 + [False] * 21
    d = paired_difference(a, b)
    assert d.diff == pytest.approx(7 / 44)
    assert (d.b_only, d.a_only) == (9, 2)
    # Hand evaluation of Newcombe's method 10 for this table gives [0.0182, 0.2892].
    assert d.low == pytest.approx(0.0182, abs=5e-4) and d.high == pytest.approx(0.2892, abs=5e-4)


def test_paired_difference_identical_and_mismatched() -> None:
    d = paired_difference([True, False] * 5, [True, False] * 5)
    assert d.diff == 0 and d.low <= 0 <= d.high  # no discordant pairs: Newcombe collapses to 0
    with pytest.raises(ValueError):
        paired_difference([True], [True, False])


def _r(pid: str, strategy: str, correct: bool, first: bool | None = None, pk: bool | None = None) -> Result:
    return Result(problem_id=pid, strategy=strategy, model="m", task="t", final_answer="x",
                  correct=correct, first_correct=first, pass_at_k=pk, prompt_tokens=10,
                  completion_tokens=5, calls=1)


def test_summary_transitions_pass_at_k_and_pairing() -> None:
    rs = [_r("1", "cot", True, True), _r("2", "cot", False, False), _r("3", "cot", False, False),
          _r("1", "sr", False, True), _r("2", "sr", True, False), _r("3", "sr", True, False),
          _r("1", "sc", True, True, True), _r("2", "sc", False, False, True)]
    rows = {r.strategy: r for r in summarize(rs, ["cot", "sr", "sc"])}
    assert rows["cot"].vs_baseline is None
    sr = rows["sr"]
    assert (sr.wrong_to_right, sr.right_to_wrong, sr.correct, sr.n) == (2, 1, 2, 3)
    assert sr.vs_baseline and sr.vs_baseline.diff == pytest.approx(1 / 3)
    sc = rows["sc"]
    assert sc.pass_at_k == 1.0 and sc.vs_baseline and sc.vs_baseline.n == 2  # paired on shared problems
    assert sc.mean_tokens == 15
