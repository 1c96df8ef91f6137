"""Confidence signals: exact where the data allows, explicitly unavailable otherwise."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.confidence import agreement, mean_entropy, mean_logprob, self_certainty
from mistakelab.confidence.calibrate import calibration_report, collect_signals
from mistakelab.core.types import Completion, GenParams, TokenLogprob
from mistakelab.runner.caller import CallStats, ModelCaller
from mistakelab.store import RunStore

from conftest import ToyAdd


def tok(lp: float, h: float | None, v: int = 100) -> TokenLogprob:
    return TokenLogprob(token="x", logprob=lp, entropy=h, kl_from_uniform=None if h is None else math.log(v) - h)


def test_full_distribution_signals_are_means() -> None:
    c = Completion(text="", logprobs=[tok(-0.5, 1.0), tok(-1.5, 2.0)])
    assert mean_logprob(c).value == pytest.approx(-1.0)
    assert mean_entropy(c).value == pytest.approx(1.5)
    assert self_certainty(c).value == pytest.approx(math.log(100) - 1.5)


def test_top_k_only_is_unavailable_not_approximated() -> None:
    c = Completion(text="", logprobs=[tok(-0.5, None)])
    sc = self_certainty(c)
    assert sc.value is None and "top-k" in sc.reason
    assert mean_logprob(c).value == -0.5  # exact from the sampled token alone
    assert self_certainty(Completion(text="")).reason.startswith("no per-token data")


def test_agreement_pools_equivalent_answers() -> None:
    vals = [s.value for s in agreement(["1,000", "1000", "7", None], key=ToyAdd().answer_key)]
    assert vals == [0.5, 0.5, 0.25, 0.0]


def test_collect_and_report_on_scripted_model(tmp_path: Path) -> None:
    # Confident (low-entropy) samples answer right, unsure ones wrong: AUROC must be 1.
    def reply(messages, params):  # type: ignore[no-untyped-def]
        assert params.logprobs
        q = messages[-1].content
        right = str(int(q.split()[2]) + 1)
        good = params.seed % 2 == 0
        h = 0.2 if good else 2.0
        return Completion(text=f"\\boxed{{{right if good else 0}}}", logprobs=[tok(-0.1, h), tok(-0.3, h)])

    store = RunStore(tmp_path / "r.db")
    store.create_run("c", "c", {})
    caller = ModelCaller(lambda: ScriptedBackend(reply), "scripted:x", store, "c", CallStats())
    task = ToyAdd()
    rows = asyncio.run(collect_signals(task, task.load(6, 0), caller, 4, GenParams(temperature=0.7)))
    assert len(rows) == 24 and 0 < sum(r.correct for r in rows) < 24
    rep = calibration_report(rows)
    assert rep["self_certainty"].auroc == 1.0 and rep["neg_entropy"].auroc == 1.0
    assert rep["mean_logprob"].auroc == 0.5  # identical logprobs carry no information
    assert rep["agreement"].ece is not None and rep["agreement"].ece_scaling.startswith("raw")
    assert rep["self_certainty"].auroc_ci == (1.0, 1.0)  # every resample ranks perfectly too


def test_auroc_interval_resamples_problems() -> None:
    from mistakelab.confidence.calibrate import auroc_interval

    # 20 problems, 2 samples each; the signal is informative but noisy
    scores = [0.9, 0.1, 0.8, 0.3, 0.2, 0.7, 0.6, 0.4] * 5
    labels = [True, False, True, False, False, True, False, True] * 5
    clusters = [f"p{i // 2}" for i in range(40)]
    lo, hi = auroc_interval(scores, labels, clusters, n_boot=400, seed=1)
    from mistakelab.metrics.calibration import auroc

    point = auroc(scores, labels)
    assert lo < point < hi and 0.5 < point < 1.0
    assert auroc_interval(scores, labels, clusters, n_boot=400, seed=1) == (lo, hi)  # seeded
    assert auroc_interval([0.5, 0.4], [True, True], ["a", "b"], n_boot=50) is None  # one class only


def test_critic_verdict_from_first_token() -> None:
    from mistakelab.confidence.verdict import verdict_from_logprobs

    def c(top: list[tuple[str, float]]) -> Completion:
        return Completion(text=top[0][0], logprobs=[TokenLogprob(token=top[0][0], logprob=top[0][1], top=top)])

    p = verdict_from_logprobs(c([(" No", math.log(0.6)), ("Yes", math.log(0.2)), ("yes", math.log(0.1)),
                                 ("Maybe", math.log(0.1))]))
    assert p.value == pytest.approx(0.3 / 0.9)  # "Yes" and "yes" pooled; "Maybe" ignored
    assert verdict_from_logprobs(c([("Maybe", -0.1)])).value is None
    assert "failed" in verdict_from_logprobs(Completion.from_error(RuntimeError("x"))).reason


def test_collect_with_a_critic_verdict(tmp_path: Path) -> None:
    # The critic says Yes (p=0.9) exactly to right answers: its verdict separates them fully.
    def policy(messages, params):  # type: ignore[no-untyped-def]
        q = messages[-1].content
        good = params.seed % 3 == 0
        ans = int(q.split()[2]) + 1 if good else -5
        return Completion(text=f"\\boxed{{{ans}}}", logprobs=[tok(-0.1, 1.0)])

    def judge(messages, params):  # type: ignore[no-untyped-def]
        assert params.max_tokens == 1 and params.logprobs
        wrong = "\\boxed{-5}" in messages[-1].content
        yes = 0.1 if wrong else 0.9
        return Completion(text="Yes", logprobs=[TokenLogprob(token="Yes", logprob=math.log(yes),
                                                             top=[("Yes", math.log(yes)), ("No", math.log(1 - yes))])])

    store = RunStore(tmp_path / "r.db")
    store.create_run("c", "c", {})
    caller = ModelCaller(lambda: ScriptedBackend(policy), "scripted:p", store, "c", CallStats())
    critic = ModelCaller(lambda: ScriptedBackend(judge), "scripted:j", store, "c", CallStats())
    task = ToyAdd()
    rows = asyncio.run(collect_signals(task, task.load(5, 0), caller, 3, GenParams(temperature=0.7), critic=critic))
    assert [r.signals["critic_verdict"] for r in rows] == [pytest.approx(0.9 if r.correct else 0.1) for r in rows]
    rep = calibration_report(rows)
    assert rep["critic_verdict"].auroc == 1.0 and rep["critic_verdict"].ece_scaling.startswith("raw")
