"""File tasks (GSM8K and MATH shapes) and the shipped sample files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mistakelab.answers import check_answer
from mistakelab.tasks import create_task
from mistakelab.tasks.files import GSM8KFileTask, MathFileTask, TaskFileError


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


GOOD = {"question": "What is 2 + 3?", "answer": "2 + 3 = 5\n#### 5"}


def test_gsm8k_file_reads_solution_ids_and_order(tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "mini.jsonl", [
        GOOD,
        {"id": "custom", "question": "Q2?", "answer": "12", "source": "hand"},
        "",  # blank lines are skipped but still counted
        {"question": "Q4?", "answer": "Half of 9 is 4.5\n#### 4.5"},
    ])
    problems = GSM8KFileTask(f).load(None, seed=0)
    assert [p.id for p in problems] == ["mini-1", "custom", "mini-4"]
    assert [p.answer for p in problems] == ["5", "12", "4.5"]
    assert problems[0].metadata["solution"] == "2 + 3 = 5"
    assert "solution" not in problems[1].metadata
    assert problems[1].metadata["source"] == "hand"
    assert [p.id for p in GSM8KFileTask(f).load(2, seed=99)] == ["mini-1", "custom"]


def test_shuffle_is_deterministic_per_seed(tmp_path: Path) -> None:
    rows = [{"question": f"Q{i}?", "answer": str(i)} for i in range(20)]
    f = _jsonl(tmp_path / "many.jsonl", rows)
    task = GSM8KFileTask(f, shuffle=True)
    a, b, c = (task.load(10, seed=s) for s in (1, 1, 2))
    assert [p.id for p in a] == [p.id for p in b]
    assert [p.id for p in a] != [p.id for p in c]
    assert [p.id for p in a] != [f"many-{i}" for i in range(1, 11)]
    everything = sorted(p.id for p in task.load(None, seed=3))
    assert everything == sorted(f"many-{i}" for i in range(1, 21))


def test_json_array_file_reports_item_lines(tmp_path: Path) -> None:
    f = tmp_path / "arr.json"
    f.write_text('[\n  {"question": "A?", "answer": "#### 1"},\n'
                 '  {"question": "B?", "answer": "2"}\n]\n')
    assert [p.id for p in GSM8KFileTask(f).load(None, 0)] == ["arr-2", "arr-3"]
    f.write_text('{"problems": [\n {"question": "A?", "answer": "1"},\n'
                 ' {"question": "B?"}\n]}')
    with pytest.raises(TaskFileError) as e:
        GSM8KFileTask(f)
    assert (e.value.line, e.value.field) == (3, "answer")


@pytest.mark.parametrize(
    ("rows", "line", "field", "words"),
    [
        ([GOOD] * 6 + ['{"question": "x", "answer": '], 7, None, "invalid JSON"),
        ([GOOD, GOOD, {"question": "Q?"}], 3, "answer", "missing"),
        ([GOOD, {"answer": "5"}], 2, "question", "missing"),
        ([GOOD] * 4 + [{"question": "Q?", "answer": "five apples"}], 5, "answer", "not a number"),
        ([{"question": "Q?", "answer": "work\n#### many"}], 1, "answer", "not a number"),
        ([GOOD, {"question": "", "answer": "1"}], 2, "question", "empty"),
        ([GOOD, ["not", "an", "object"]], 2, None, "JSON object"),
        ([{"id": 1, **GOOD}, {"id": 1, **GOOD}], 2, "id", "duplicate"),
    ],
)
def test_gsm8k_errors_name_file_line_field(tmp_path: Path, rows, line, field, words) -> None:
    f = _jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(TaskFileError) as e:
        GSM8KFileTask(f)
    msg = str(e.value)
    assert str(f) in msg and f"line {line}" in msg and words in msg
    assert (e.value.line, e.value.field) == (line, field)
    if field:
        assert repr(field) in msg


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    with pytest.raises(TaskFileError, match=r"empty\.jsonl: empty file"):
        GSM8KFileTask(empty)
    with pytest.raises(TaskFileError, match="file not found"):
        MathFileTask(tmp_path / "nope.jsonl")


def test_math_file_answer_sources_and_errors(tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "m.jsonl", [
        {"problem": "P1", "solution": "so $\\boxed{1}$ then $\\boxed{\\frac{1}{2}}$",
         "level": "Level 3", "type": "Algebra", "subject": "Algebra"},
        {"problem": "P2", "answer": "(0, 1]", "solution": "no box here"},
    ])
    p1, p2 = MathFileTask(f).load(None, 0)
    assert p1.answer == "\\frac{1}{2}"  # last box wins
    meta = p1.metadata
    assert (meta["level"], meta["type"], meta["subject"]) == ("Level 3", "Algebra", "Algebra")
    assert p2.answer == "(0, 1]"
    bad = _jsonl(tmp_path / "mb.jsonl", [{"problem": "P", "solution": "x"}, {"problem": "Q"}])
    with pytest.raises(TaskFileError) as e:
        MathFileTask(bad)
    assert (e.value.line, e.value.field) == (1, "solution")
    bad = _jsonl(tmp_path / "mc.jsonl", [{"problem": "Q"}])
    with pytest.raises(TaskFileError, match="line 1, field 'answer'"):
        MathFileTask(bad)


@pytest.mark.parametrize("name", ["gsm8k_sample", "math_sample"])
def test_samples_load_and_their_solutions_check(name: str) -> None:
    task = create_task(name)
    problems = task.load(None, seed=0)
    assert len(problems) >= 10
    assert len({p.id for p in problems}) == len(problems)
    for p in problems:
        sol = task.gold_solution(p)
        assert sol, p.id
        v = check_answer(sol, p.answer)
        assert v.correct and v.method in ("hash", "boxed"), (p.id, v)
        assert task.verify(p, sol).correct
        # A wrong answer must not pass: the check is not vacuous.
        assert not task.verify(p, "The answer is \\boxed{123456}.").correct


def test_samples_have_expected_shapes() -> None:
    gsm = create_task("gsm8k_sample").load(None, 0)
    assert all(p.metadata["solution"] and "####" not in p.metadata["solution"] for p in gsm)
    math = create_task("math_sample").load(None, 0)
    assert all({"level", "type", "solution"} <= set(p.metadata) for p in math)
    answers = " ".join(p.answer for p in math)
    assert "\\frac" in answers and "\\sqrt" in answers and "\\infty" in answers


def test_file_tasks_through_registry(tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "reg.jsonl", [GOOD])
    task = create_task("gsm8k_file", {"path": str(f)})
    assert task.load(None, 0)[0].answer == "5"
    mf = _jsonl(tmp_path / "regm.jsonl", [{"problem": "P", "answer": "3"}])
    assert create_task("math_file", {"path": mf}).load(None, 0)[0].id == "regm-1"
