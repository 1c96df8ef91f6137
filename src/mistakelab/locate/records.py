"""ProcessBench-format records: a problem, a solution's steps, and the earliest-error label.

Files are JSONL (one record a line) or a JSON list; fields ``problem``, ``steps`` (list of
strings), ``label`` (earliest wrong step index, -1 if none), ``final_answer_correct``, and
optionally ``id``, ``split``, plus mistakelab's own ``gold_answer``, ``source`` (natural /
injected / gold) and ``task``/``problem_data`` for records built from generated tasks.

Example:
    >>> r = LocateRecord(id="a", problem="1+1?", steps=["1+1=3"], label=0, final_answer_correct=False)
    >>> r.solution_text(), r.first_error
    ('1+1=3', 0)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mistakelab.steps.types import Step

STEP_SEPARATOR = "\n\n"


class RecordError(ValueError):
    """A malformed record file; the message names the file, line and field."""


class LocateRecord(BaseModel):
    """One record; ``first_error`` is ProcessBench's ``label`` (the name in files)."""

    model_config = ConfigDict(populate_by_name=True)
    id: str
    problem: str
    steps: list[str]
    #: earliest wrong step (-1: none); None only for records built to be located, not scored
    first_error: int | None = Field(default=None, ge=-1, alias="label")
    final_answer_correct: bool | None = None
    split: str = "default"
    gold_answer: str | None = None
    source: str | None = None
    task: str | None = None
    task_options: dict[str, Any] = Field(default_factory=dict)
    problem_data: dict[str, Any] | None = None

    def solution_text(self) -> str:
        return STEP_SEPARATOR.join(self.steps)

    def step_spans(self) -> list[Step]:
        """The steps with their spans in :meth:`solution_text`."""
        out, pos = [], 0
        for i, s in enumerate(self.steps):
            out.append(Step(index=i, text=s, start=pos, end=pos + len(s)))
            pos += len(s) + len(STEP_SEPARATOR)
        return out


def load_records(path: str | Path, split: str | None = None) -> list[LocateRecord]:
    """Read a ProcessBench-format JSONL/JSON file; ``split`` defaults to the record's or the
    file stem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise RecordError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); is it a JSONL file?") from None
    except OSError as exc:
        raise RecordError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if "\x00" in text:
        raise RecordError(f"{path}: holds NUL bytes: a binary file, not JSONL/JSON records")
    if path.suffix == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
        if not isinstance(rows, list):
            raise RecordError(f"{path}: expected a JSON list of records")
        numbered: Iterable[tuple[int, Any]] = ((i + 1, r) for i, r in enumerate(rows))
        where = "record"
    else:
        numbered = []
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                numbered.append((i, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise RecordError(f"{path}: line {i}: invalid JSON: {exc.msg}") from None
        where = "line"
    out = []
    for n, row in numbered:
        if not isinstance(row, dict):
            raise RecordError(f"{path}: {where} {n}: expected an object")
        row = dict(row)
        row.setdefault("id", f"{path.stem}-{n}")
        row["id"] = str(row["id"])
        row.setdefault("split", split or path.stem)
        try:
            rec = LocateRecord.model_validate(row)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise RecordError(f"{path}: {where} {n}: field {field}: {err['msg']}") from None
        for required, name in (("first_error", "label"), ("final_answer_correct", "final_answer_correct")):
            if getattr(rec, required) is None:
                raise RecordError(f"{path}: {where} {n}: field {name}: Field required")
        assert rec.first_error is not None
        if rec.first_error >= len(rec.steps):
            raise RecordError(f"{path}: {where} {n}: field label: {rec.first_error} is past the last step "
                              f"(there are {len(rec.steps)})")
        out.append(rec)
    if not out:
        raise RecordError(f"{path}: no records")
    return out


def write_records(path: str | Path, records: Iterable[LocateRecord]) -> int:
    """Write records as JSONL (ProcessBench fields first); return how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r.model_dump(mode="json", exclude_none=True, by_alias=True), ensure_ascii=False) + "\n")
            n += 1
    return n
