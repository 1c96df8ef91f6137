"""Table of real model-output snippets and hand-made cases for the arithmetic checker.

Each row of ``data/arithmetic_cases.jsonl`` was labelled by reading: ``expected_wrong`` lists
the stated computations that are wrong (as substrings of ``text``), ``expected_first_error``
the index of the first step (by ``split_steps``) that holds one, or -1.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from mistakelab.steps import check_arithmetic, find_computations, split_steps

ROWS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "arithmetic_cases.jsonl").read_text().splitlines()
    if line.strip()
]


def test_table_size_and_sources() -> None:
    sources = Counter(r["source"] for r in ROWS)
    assert len(ROWS) >= 60
    assert sources["hand"] > 0
    assert sources["qwen2.5-coder-0.5b"] + sources["smollm2-135m"] > 0
    assert len({r["id"] for r in ROWS}) == len(ROWS)


def _label_spans(text: str, labels: list[str]) -> list[tuple[int, int]]:
    """Span of each label's left side (up to its first ``=``/``≈``) in ``text``.

    A flagged computation matches a label when it starts there, so in a chain
    ``a = b * c = d`` the label ``a = b`` does not also claim the link ``b * c = d``.
    A label listed twice means its next occurrence.
    """
    spans, after = [], {}
    for sub in labels:
        pos = text.find(sub, after.get(sub, 0))
        assert pos >= 0, f"label {sub!r} is not in the text"
        after[sub] = pos + 1
        eqs = [i for i in (sub.find("="), sub.find("≈")) if i > 0]
        spans.append((pos, pos + (min(eqs) if eqs else len(sub))))
    return spans


def _params() -> list:
    return [
        pytest.param(r, id=r["id"], marks=[pytest.mark.xfail(reason=r["xfail"], strict=True)]
                     if r.get("xfail") else [])
        for r in ROWS
    ]


@pytest.mark.parametrize("row", _params())
def test_row(row: dict) -> None:
    text = row["text"]
    wrong = [c for c in find_computations(text) if not c.ok]
    expected = _label_spans(text, row["expected_wrong"])
    # exactly one flagged computation starts inside each labelled slip, and no other is flagged
    for a, b in expected:
        hits = [c.describe() for c in wrong if a <= c.start < b]
        assert len(hits) == 1, (text[a:b], [c.describe() for c in wrong])
    extra = [c.describe() for c in wrong if not any(a <= c.start < b for a, b in expected)]
    assert extra == []

    verdict = check_arithmetic(text)
    assert verdict.first_error == row["expected_first_error"]
    statuses = {m.index: m for m in verdict.marks}
    assert sorted(statuses) == [s.index for s in verdict.steps]
    for m in verdict.marks:
        if m.status == "wrong":
            assert m.kind == "arithmetic" and " but " in m.reason


def test_steps_may_be_passed_in() -> None:
    text = "We add. 2 + 2 = 5. Then 5 × 2 = 10."
    steps = split_steps(text)
    assert len(steps) == 1
    assert check_arithmetic(text, steps=steps).first_error == 0
    # the same text judged with the caller's own three sentence steps
    from mistakelab.steps import Step

    own = [Step(index=0, text="We add.", start=0, end=7),
           Step(index=1, text="2 + 2 = 5.", start=8, end=18),
           Step(index=2, text="Then 5 × 2 = 10.", start=19, end=35)]
    v = check_arithmetic(text, steps=own)
    assert [m.status for m in v.marks] == ["unchecked", "wrong", "ok"]
    assert v.first_error == 1
    assert v.marks[1].reason == "2 + 2 = 5 but 2 + 2 = 4"


def test_reason_names_exact_value() -> None:
    v = check_arithmetic("1. 12 × 7 = 94\n2. 10 / 3 = 3.34")
    assert v.marks[0].reason == "12 × 7 = 94 but 12 × 7 = 84"
    assert v.marks[1].reason == "10 / 3 = 3.34 but 10 / 3 = 10/3 (≈ 3.3333)"
    assert v.first_error == 0
