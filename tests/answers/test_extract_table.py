"""Extraction and checking against hand-labelled tables.

``tests/data/real_outputs_*.jsonl`` hold real outputs of small local models on gsm_symbolic
problems (made by ``tests/data/make_real_outputs.py``, never run here);
``answer_edge_cases.jsonl`` holds hand-written edge cases. Every row carries labels written
by reading the output: ``expected_extracted`` (None when there is no answer),
``expected_method`` and ``expected_correct``. The extractor and checker must reproduce
every label; extracted text is compared after normalization (so "18 " equals "18").
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mistakelab.answers import check_answer, extract_answer, normalize_answer

DATA = Path(__file__).resolve().parent.parent / "data"
TABLES = ["answer_edge_cases.jsonl", "real_outputs_qwen05.jsonl", "real_outputs_smollm135.jsonl"]
LABELS = ("expected_extracted", "expected_method", "expected_correct")


def _rows() -> list[tuple[str, dict]]:
    out = []
    for name in TABLES:
        if not (DATA / name).exists():  # reported by test_tables_are_complete
            continue
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.append((f"{name.split('.')[0]}:{row['id']}", row))
    return out


ROWS = _rows()


def test_tables_are_complete() -> None:
    counts = {name: sum(1 for rid, _ in ROWS if rid.startswith(name.split(".")[0] + ":"))
              for name in TABLES}
    assert counts["real_outputs_qwen05.jsonl"] >= 40
    assert counts["real_outputs_smollm135.jsonl"] >= 15
    assert counts["answer_edge_cases.jsonl"] >= 40
    for rid, row in ROWS:
        assert all(k in row for k in LABELS), f"{rid} is not labelled"
        assert row["output"] is not None and row["gold"] is not None


@pytest.mark.parametrize("row", [r for _, r in ROWS], ids=[i for i, _ in ROWS])
def test_row_labels_are_reproduced(row: dict) -> None:
    ex = extract_answer(row["output"])
    assert ex.method == row["expected_method"], ex
    if row["expected_extracted"] is None:
        assert ex.text is None
    else:
        assert ex.text is not None
        assert normalize_answer(ex.text) == normalize_answer(row["expected_extracted"]), ex
    v = check_answer(row["output"], row["gold"])
    assert v.correct is row["expected_correct"], v
    assert v.method == row["expected_method"]


def test_real_outputs_cover_the_hard_cases() -> None:
    real = [r for rid, r in ROWS if rid.startswith("real_outputs")]
    methods = {r["expected_method"] for r in real}
    assert "boxed" in methods and len(methods) >= 2
    assert any(r["expected_correct"] for r in real)
    assert any(not r["expected_correct"] for r in real)
    assert all(len(r["output"]) > 0 and r["question"] and r["model"] for r in real)


REPETITIVE = {
    "answer-is": "The answer is 5. " * 3000,
    "unclosed-boxes": "\\boxed{" * 7200,
    "nested-braces": "\\boxed{" + "{" * 25010 + "}" * 25000,
    "digits-and-commas": "1," * 25000,
    "spaces-after-answer": "answer" + " " * 50000 + "x",
    "stars": "answer **" * 5600,
    "hashes": "#### " * 10000,
    "dollar-math": "The answer is $" * 3400,
    "number-loop": "So 12 + 12 = 24. " * 3000,
}


@pytest.mark.parametrize("text", list(REPETITIVE.values()), ids=list(REPETITIVE))
def test_runaway_repetition_stays_fast(text: str) -> None:
    assert len(text) >= 50_000
    t0 = time.perf_counter()
    ex = extract_answer(text)
    check_answer(text, "24")
    assert time.perf_counter() - t0 < 1.0
    assert ex.method in {"boxed", "answer_is", "hash", "last_number", "none"}


def test_runaway_repetition_after_a_real_answer() -> None:
    text = "We get 4 + 5 = 9. The answer is \\boxed{9}.\n" + "I hope it is correct. " * 2500
    t0 = time.perf_counter()
    v = check_answer(text, "9")
    assert time.perf_counter() - t0 < 1.0
    assert (v.extracted, v.method, v.correct) == ("9", "boxed", True)
