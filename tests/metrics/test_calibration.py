"""Calibration metrics and ProcessBench scoring against values computed by hand."""

from __future__ import annotations

import pytest

from mistakelab.metrics.calibration import (
    auroc,
    expected_calibration_error,
    minmax_to_unit,
    selective_accuracy,
)
from mistakelab.metrics.processbench import confusion, f1_score, score_locator


def test_auroc_by_hand() -> None:
    # positives {0.8, 0.4}, negatives {0.6, 0.2}: pairs (0.8>0.6, 0.8>0.2, 0.4<0.6, 0.4>0.2) = 3/4
    assert auroc([0.8, 0.6, 0.4, 0.2], [True, False, True, False]) == 0.75
    # a tie between a positive and a negative counts one half: (1 + 0.5) / 2
    assert auroc([0.5, 0.5, 0.1], [True, False, False]) == 0.75
    assert auroc([1.0, 2.0], [True, True]) is None
    assert auroc([None, 0.3, float("nan"), 0.9], [True, False, False, True]) == 1.0


def test_ece_by_hand() -> None:
    # bin [0.8,0.9): confs 0.85, 0.85 acc 1/2 -> |0.5-0.85| * 2/4; bin [0.2,0.3): conf 0.25 x2, acc 0 -> 0.25 * 2/4
    r = expected_calibration_error([0.85, 0.85, 0.25, 0.25], [True, False, False, False], n_bins=10)
    assert r.ece == pytest.approx(0.5 * 0.35 + 0.5 * 0.25)
    assert [b.n for b in r.bins] == [2, 2] and r.n_bins == 10
    assert expected_calibration_error([1.0], [True]).ece == 0.0  # 1.0 falls in the last bin
    with pytest.raises(ValueError):
        expected_calibration_error([1.5], [True])


def test_minmax_and_selective() -> None:
    assert minmax_to_unit([2.0, 4.0, None, 3.0]) == [0.0, 1.0, None, 0.5]
    pts = selective_accuracy([0.9, 0.1, 0.5, 0.7], [True, False, False, True], coverages=(0.5, 1.0))
    assert [(p.n, p.accuracy) for p in pts] == [(2, 1.0), (4, 0.5)]


def test_processbench_f1_and_confusion_by_hand() -> None:
    labels = [2, 2, 2, 0, -1, -1, -1]
    preds = [2, 1, None, -1, -1, 3, -1]
    s = score_locator(labels, preds)
    assert (s.n_err, s.n_cor) == (4, 3)
    assert s.acc_err == 0.25 and s.acc_cor == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 * 0.25 * (2 / 3) / (0.25 + 2 / 3))
    assert s.confusion == {"early": 1, "exact": 1, "late": 0, "missed": 1, "no_prediction": 1,
                           "correct_kept": 2, "false_alarm": 1}
    assert s.f1_ci[0] <= s.f1 <= s.f1_ci[1]
    assert f1_score(0, 0) == 0
    assert confusion([3], [5]) ["late"] == 1
