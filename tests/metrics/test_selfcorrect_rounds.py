"""CL / CS / RSS, per-round metrics, and how they reach the summary rows and the table."""

from __future__ import annotations

import asyncio

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.core import Problem, Result
from mistakelab.metrics import StrategySummary, revision_metrics, self_correction, summarize
from mistakelab.metrics.rounds import (change_rate, cumulative_accuracy, redactions, repeat_share,
                                       turns_to_success, unique_answer_ratio, verify_pass_rates)
from mistakelab.metrics.selfcorrect import rss
from mistakelab.report.table import rounds_lines, summary_table
from mistakelab.runner import solve

from conftest import ToyAdd


def result(pid: str, strategy: str, attempts: list[bool], correct: bool | None = None) -> Result:
    return Result(problem_id=pid, strategy=strategy, model="m", task="t", final_answer=None,
                  correct=attempts[-1] if correct is None else correct, first_correct=attempts[0], attempts=attempts)


def test_cl_cs_rss_from_one_sample_per_question() -> None:
    # 3 first-right (one broken), 5 first-wrong (two fixed)
    c1 = [True, True, True, False, False, False, False, False]
    c2 = [True, True, False, True, True, False, False, False]
    sc = self_correction(c1, c2)
    assert sc.cl == pytest.approx(2 / 3) and sc.cs == pytest.approx(2 / 5)
    a1, a2 = 3 / 8, 4 / 8
    assert sc.rss == pytest.approx((a2 - a1 ** 2) / (2 * a1 * (1 - a1)))
    assert sc.cl_ci[0] < sc.cl < sc.cl_ci[1] and sc.rss_ci is not None
    assert sc.rss_ci[0] <= sc.rss <= sc.rss_ci[1]


def test_rss_is_half_when_every_answer_is_kept_and_undefined_at_the_ends() -> None:
    assert rss([True, False, False], [True, False, False]) == pytest.approx(0.5)
    assert rss([True, True], [True, False]) is None and rss([], []) is None
    sc = self_correction([False, False], [False, True])
    assert sc.cl is None and sc.cs == 0.5 and sc.rss is None


def test_cumulative_accuracy_succ_at_t_and_turns_to_success() -> None:
    rs = [result("a", "s", [True]), result("b", "s", [False, False, True]), result("c", "s", [False] * 3),
          result("d", "s", [False, True])]
    assert cumulative_accuracy(rs) == [0.25, 0.5, 0.75]
    assert turns_to_success(rs) == pytest.approx((1 + 3 + 2) / 3)
    assert turns_to_success([result("c", "s", [False])]) is None


def test_summary_rows_carry_self_correction_only_for_multi_answer_strategies() -> None:
    rs = [result(str(i), "cot", [ok]) for i, ok in enumerate([True, False, False, True])]
    rs += [result(str(i), "fb", a) for i, a in enumerate([[True], [False, True], [False, False], [True]])]
    cot, fb = summarize(rs, ["cot", "fb"])
    assert cot.cl is None and cot.rss is None and cot.cumulative is None
    assert fb.cs == 0.5 and fb.cl == 1.0 and fb.cl_ci is not None and fb.rss is not None
    assert fb.cumulative == [0.5, 0.75] and fb.turns_to_success == pytest.approx(4 / 3)
    assert any("fb: solved within round 1..2 (%): 50.0 → 75.0" in line for line in rounds_lines([cot, fb]))
    headers = [c.header for c in summary_table([cot, fb]).columns]
    assert "CL / CS / RSS" in headers
    cells = list(summary_table([cot, fb]).columns[headers.index("CL / CS / RSS")].cells)
    assert cells[0] == "–" and cells[1].startswith("100.0 / 50.0 / ")


def _trace(strategy: str, outputs: list[str], problem: Problem, feedback=None):  # type: ignore[no-untyped-def]
    roles = {"feedback": ScriptedBackend(feedback)} if feedback else None
    return asyncio.run(solve(strategy, ScriptedBackend(outputs), problem, ToyAdd(), roles=roles))[0]


def test_trace_metrics_from_real_strategy_traces() -> None:
    p = Problem(id="p", question="What is 2 + 3?", answer="5")
    ta = _trace("try_again:turns=3", ["\\boxed{6}", "\\boxed{6}", "\\boxed{7}"], p)
    same = _trace("try_again:turns=2", ["\\boxed{6}", "\\boxed{6.0}"], p)
    assert unique_answer_ratio([ta]) == pytest.approx(2 / 3) and unique_answer_ratio([same]) == 0.5
    once = _trace("cot", ["\\boxed{6}"], p)  # one answer: E/T would be 1 by construction
    assert unique_answer_ratio([once]) is None
    assert unique_answer_ratio([ta, once]) == pytest.approx((2 / 3 + 1) / 2)
    assert repeat_share([ta, same]) == (1, 2)
    # PRP: the wrong 6 passes its check (a false pass), then nothing else is checked
    wrong_pass = _trace("prp:mask=first", ["\\boxed{6}", "\\boxed{2}"], p)
    right_fail = _trace("prp:mask=first,rounds=1", ["\\boxed{5}", "\\boxed{9}"], p)
    assert verify_pass_rates([wrong_pass, right_fail]) == {"wrong": (1, 1), "right": (0, 1)}
    w = _trace("wait", ["\\boxed{6}", " no, \\boxed{5}"], p)
    assert change_rate([w, _trace("wait", ["\\boxed{6}", " yes."], p)]) == (1, 2)
    fb = _trace("feedback:rounds=1", ["\\boxed{6}", "\\boxed{5}"], p, feedback=["It is 5; 5 is right."])
    assert redactions([fb, w]) == (1, 2)
    data = revision_metrics([wrong_pass, w])
    assert data["verify_pass"]["wrong"] == (1, 1) and data["answer_changed"] == (1, 1)


def test_strategy_summary_fields_default_for_old_callers() -> None:
    fields = StrategySummary.__dataclass_fields__
    assert all(fields[f].default is None for f in ("cl", "cs", "rss", "rss_ci", "cumulative", "turns_to_success"))
