"""Reading the answer from a program's output."""

from __future__ import annotations

import pytest

from mistakelab.sandbox import ProgramRun, RunStatus, answer_from_output, normalize_number, program_answer


@pytest.mark.parametrize("text, expected", [
    ("18", "18"), ("18.0", "18"), ("-5", "-5"), ("+7", "7"), ("1,234", "1234"),
    ("$1,234.50", "1234.5"), ("45%", "45"), ("0.30000000000000004", "0.3"), ("1e3", "1000"),
    ("2.5e-1", "0.25"), ("3/4", "3/4"), ("6 / 8", "6/8"), (".5", "0.5"), ("-0.0", "0"),
    ("12345678901234567890", "12345678901234567890"), ("nan", None), ("inf", None),
    ("eighteen", None), ("1/0", None), ("", None),
])
def test_normalize_number(text, expected) -> None:
    assert normalize_number(text) == expected


@pytest.mark.parametrize("stdout, expected", [
    ("18\n", "18"),
    ("Remaining eggs: 9\nEarnings: 18.0\n", "18"),
    ("Janet makes $18 every day at the farmers' market.\n", "18"),
    ("The total cost is $1,250.75.\n\n\n", "1250.75"),
    ("answer\n   \n", "answer"),
    ("True\n", "True"),
    ("(3, 4)\n", "4"),
    ("None\n", None),
    ("", None),
    ("\n \n", None),
])
def test_answer_from_output(stdout, expected) -> None:
    assert answer_from_output(stdout) == expected


def test_failed_runs_have_no_answer() -> None:
    failed = ProgramRun(status=RunStatus.timeout, stdout="18\n")
    assert program_answer(failed) is None
    assert program_answer(ProgramRun(status=RunStatus.ok, stdout="18\n")) == "18"
