"""Tasks read from JSONL or JSON files in GSM8K or MATH shape, plus the shipped samples.

GSM8K shape: ``question`` and ``answer``; the answer is a worked solution ending in
``#### N`` (the text before ``####`` is kept as ``metadata["solution"]``) or a bare number.

MATH shape: ``problem`` and either ``answer`` or a ``solution`` holding ``\\boxed{...}``
(the last box is the gold answer); ``level``, ``type``, ``subject`` and any other fields
are kept in metadata.

A ``.jsonl`` file has one object per line (blank lines are skipped); a ``.json`` file is an
array of objects (or an object with a ``problems``/``data`` array). Problem ids come from an
``id`` field, else ``<file stem>-<line>``. Malformed input raises :class:`TaskFileError`
naming the file, the line and the field.

Example:
    >>> task = gsm8k_sample()
    >>> p = task.load(1, seed=0)[0]
    >>> task.verify(p, p.metadata["solution"] + "\\n#### " + p.answer).correct
    True
"""

from __future__ import annotations

import json
import os
import random
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from mistakelab.answers import normalize_answer
from mistakelab.answers.check import to_number
from mistakelab.answers.extract import boxed_answers
from mistakelab.core.types import Problem
from mistakelab.tasks.base import Task, tasks

PathLike = str | os.PathLike[str] | Traversable


class TaskFileError(ValueError):
    """A problem file that cannot be read; names the file, line and field.

    Example:
        >>> str(TaskFileError("q.jsonl", 3, "missing field", field="answer"))
        "q.jsonl, line 3, field 'answer': missing field"
    """

    def __init__(self, path: str, line: int | None, message: str, field: str | None = None):
        self.path, self.line, self.field = path, line, field
        where = path + (f", line {line}" if line else "") + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {message}")


def _records(text: str, source: str, json_array: bool) -> list[tuple[int, Any]]:
    """``(line number, decoded value)`` for each record in the file's text."""
    if not text.strip():
        raise TaskFileError(source, None, "empty file (no problems)")
    if not json_array:
        out = []
        for no, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    out.append((no, json.loads(line)))
                except json.JSONDecodeError as e:
                    msg = f"invalid JSON ({e.msg}, column {e.colno})"
                    raise TaskFileError(source, no, msg) from e
        return out
    # Decode array items one by one so each error and record knows its line.
    dec = json.JSONDecoder()
    try:
        top = dec.decode(text)
    except json.JSONDecodeError as e:
        raise TaskFileError(source, e.lineno, f"invalid JSON ({e.msg}, column {e.colno})") from e
    if isinstance(top, dict):
        key = next((k for k in ("problems", "data") if isinstance(top.get(k), list)), None)
        if key is None:
            raise TaskFileError(source, 1, "a JSON file must hold an array of problems "
                                "(or an object with a 'problems' or 'data' array)")
        start = text.index("[", text.index(f'"{key}"'))
    elif isinstance(top, list):
        start = text.index("[")
    else:
        raise TaskFileError(source, 1, "a JSON file must hold an array of problems")
    out, pos = [], start + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        value, end = dec.raw_decode(text, pos)
        out.append((text.count("\n", 0, pos) + 1, value))
        pos = end
    return out


def _source_name(path: PathLike) -> str:
    return os.fspath(path) if isinstance(path, (str, os.PathLike)) else str(path)


class FileTask(Task):
    """Problems read from a file; subclasses turn one record into a Problem.

    ``load(n, seed)`` returns the first ``n`` problems in file order; ``seed`` is unused
    unless ``shuffle=True``, which shuffles deterministically by seed first.
    """

    name = "file"

    def __init__(self, path: PathLike, shuffle: bool = False, name: str | None = None) -> None:
        self.path = path
        self.shuffle = shuffle
        if name:
            self.name = name
        source = _source_name(path)
        try:
            text = path.read_text(encoding="utf-8") if not isinstance(path, (str, os.PathLike)) \
                else Path(path).read_text(encoding="utf-8")
        except FileNotFoundError as e:
            raise TaskFileError(source, None, "file not found") from e
        except UnicodeDecodeError as e:
            raise TaskFileError(source, None, f"not UTF-8 text ({e.reason})") from e
        stem = Path(source).stem
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for line, rec in _records(text, source, json_array=source.endswith(".json")):
            if not isinstance(rec, dict):
                kind = type(rec).__name__
                raise TaskFileError(source, line, f"expected a JSON object, got {kind}")
            pid = str(rec["id"]) if rec.get("id") not in (None, "") else f"{stem}-{line}"
            if pid in seen:
                raise TaskFileError(source, line, f"duplicate id {pid!r} (first on line "
                                    f"{seen[pid]})", field="id")
            seen[pid] = line
            problems.append(self.parse_record(rec, pid, source, line))
        if not problems:
            raise TaskFileError(source, None, "empty file (no problems)")
        self.problems = problems

    def parse_record(self, rec: dict[str, Any], pid: str, source: str, line: int) -> Problem:
        """Turn one decoded record into a Problem (raise TaskFileError when malformed)."""
        raise NotImplementedError

    def load(self, n: int | None, seed: int) -> list[Problem]:
        """The first ``n`` problems (all when None), shuffled by ``seed`` if ``shuffle``."""
        problems = list(self.problems)
        if self.shuffle:
            random.Random(seed).shuffle(problems)
        return problems if n is None else problems[:n]

    def gold_solution(self, problem: Problem) -> str | None:
        return problem.metadata.get("solution")


def _text_field(rec: dict[str, Any], key: str, source: str, line: int) -> str:
    if key not in rec:
        raise TaskFileError(source, line, "missing field", field=key)
    value = rec[key]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TaskFileError(source, line, f"expected text, got {type(value).__name__}", field=key)
    value = str(value).strip()
    if not value:
        raise TaskFileError(source, line, "empty", field=key)
    return value


def _extras(rec: dict[str, Any], used: set[str]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k not in used}


@tasks.register("gsm8k_file")
class GSM8KFileTask(FileTask):
    """GSM8K-shaped problems (``question``, ``answer`` ending in ``#### N`` or a number).

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> row = '{"question": "2+2?", "answer": "2+2=4\\\\n#### 4"}\\n'
        >>> _ = (d / "mini.jsonl").write_text(row)
        >>> p = GSM8KFileTask(d / "mini.jsonl").load(None, 0)[0]
        >>> p.id, p.answer, p.metadata["solution"]
        ('mini-1', '4', '2+2=4')
    """

    name = "gsm8k_file"

    def parse_record(self, rec: dict[str, Any], pid: str, source: str, line: int) -> Problem:
        question = _text_field(rec, "question", source, line)
        raw = _text_field(rec, "answer", source, line)
        solution, sep, final = raw.rpartition("####")
        final = final.strip() if sep else raw
        if to_number(normalize_answer(final)) is None:
            what = "final answer after '####' is not a number" if sep else \
                "has no '#### <answer>' tail and is not a number"
            raise TaskFileError(source, line, f"{what}: {final[:60]!r}", field="answer")
        meta = _extras(rec, {"id", "question", "answer"})
        if sep:
            meta["solution"] = solution.strip()
        return Problem(id=pid, question=question, answer=final, metadata=meta)

    def gold_solution(self, problem: Problem) -> str | None:
        sol = problem.metadata.get("solution")
        return None if sol is None else f"{sol}\n#### {problem.answer}"


@tasks.register("math_file")
class MathFileTask(FileTask):
    """MATH-shaped problems (``problem``; ``answer`` or a ``solution`` with ``\\boxed{}``).

    Example:
        >>> t = math_sample()
        >>> p = t.load(1, seed=0)[0]
        >>> t.verify(p, p.metadata["solution"]).correct
        True
    """

    name = "math_file"

    def parse_record(self, rec: dict[str, Any], pid: str, source: str, line: int) -> Problem:
        question = _text_field(rec, "problem", source, line)
        meta = _extras(rec, {"id", "problem", "answer"})
        if "answer" in rec:
            answer = _text_field(rec, "answer", source, line)
        elif "solution" in rec:
            solution = _text_field(rec, "solution", source, line)
            boxes = boxed_answers(solution)
            if not boxes:
                raise TaskFileError(source, line, "no \\boxed{} answer (and no 'answer' field)",
                                    field="solution")
            answer = boxes[-1]
        else:
            raise TaskFileError(source, line, "missing field (need 'answer' or a 'solution' "
                                "with \\boxed{})", field="answer")
        return Problem(id=pid, question=question, answer=answer, metadata=meta)


def _sample(name: str) -> Traversable:
    return resources.files("mistakelab").joinpath("data", name)


@tasks.register("gsm8k_sample")
def gsm8k_sample(**options: Any) -> GSM8KFileTask:
    """The shipped GSM8K-style sample (12 word problems written for this project).

    Example:
        >>> len(gsm8k_sample().load(None, 0))
        12
    """
    options.setdefault("name", "gsm8k_sample")
    return GSM8KFileTask(_sample("gsm8k_sample.jsonl"), **options)


@tasks.register("math_sample")
def math_sample(**options: Any) -> MathFileTask:
    """The shipped MATH-style sample (10 problems: fractions, radicals, intervals...).

    Example:
        >>> p = math_sample().load(None, 0)[1]
        >>> p.answer, p.metadata["level"], p.metadata["type"]
        ('5\\\\sqrt{2}', 'Level 2', 'Prealgebra')
    """
    options.setdefault("name", "math_sample")
    return MathFileTask(_sample("math_sample.jsonl"), **options)
