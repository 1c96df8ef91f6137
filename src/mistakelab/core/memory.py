"""Principles memory (LEAP, METHODS §3.1): a versioned JSONL file with its provenance.

Written by ``mistakelab learn principles`` (:mod:`mistakelab.learn.principles`), read by the
``principles`` strategy; it lives in core so that both rooms can read it.

One record per line, each with a ``record`` field:

- ``memory`` (first line): format version, content id, creation time, the run the mistakes
  came from, the model that stated the principles, the prompts it was given, and
  ``oracle: true`` (building a memory reads the gold answers);
- ``source``: one per problem the memory was built from (id, task, sha256 of the question),
  so an evaluation on any of them can be refused (:meth:`Memory.overlap`);
- ``low``: a low-level principle stated for one mistake;
- ``principle``: the high-level principles, in order (what a prompt shows).

Example:
    >>> import tempfile, pathlib
    >>> m = Memory(run="r1", model="m", principles=["Check each sum."],
    ...            sources=[SourceProblem.of("p1", "igsm", "What is 2+2?")])
    >>> path = m.save(pathlib.Path(tempfile.mkdtemp()) / "mem.jsonl")
    >>> back = Memory.load(path)
    >>> back.principles, back.id == m.id
    (['Check each sum.'], True)
    >>> back.overlap([("p2", "What is 2+2?")])  # same text under another id still overlaps
    ['p2']
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, Field, ValidationError

FORMAT_VERSION = 1


class MemoryFileError(ValueError):
    """A memory file that cannot be read (the message names the file and line)."""


def question_hash(question: str) -> str:
    """sha256 of a question with its whitespace normalised."""
    return hashlib.sha256(" ".join(question.split()).encode("utf-8")).hexdigest()


class SourceProblem(BaseModel):
    id: str
    task: str
    sha256: str

    @classmethod
    def of(cls, pid: str, task: str, question: str) -> "SourceProblem":
        return cls(id=pid, task=task, sha256=question_hash(question))


class LowPrinciple(BaseModel):
    """The principle one model stated for one mistake."""

    problem_id: str
    text: str
    mistake: str = ""  # the model's description of the error, when it gave one


class Memory(BaseModel):
    """High-level principles plus everything needed to trust and reuse them."""

    run: str
    model: str
    principles: list[str]
    sources: list[SourceProblem] = Field(default_factory=list)
    low: list[LowPrinciple] = Field(default_factory=list)
    prompts: dict[str, str] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    created: float = Field(default_factory=time.time)
    oracle: bool = True
    format: int = FORMAT_VERSION

    @property
    def id(self) -> str:
        """Content id: the principles and the problems they came from (not the time)."""
        body = json.dumps({"principles": self.principles, "sources": sorted(s.id for s in self.sources)})
        return hashlib.sha256(body.encode("utf-8")).hexdigest()[:12]

    def text(self) -> str:
        """The principles as a numbered list, for a prompt."""
        return "\n".join(f"{i}. {p}" for i, p in enumerate(self.principles, 1))

    def overlap(self, problems: Iterable[tuple[str, str]]) -> list[str]:
        """Ids of ``(id, question)`` pairs that the memory was built from (same id or same text)."""
        ids = {s.id for s in self.sources}
        hashes = {s.sha256 for s in self.sources}
        return [pid for pid, q in problems if pid in ids or question_hash(q) in hashes]

    # -- the file ------------------------------------------------------------------------
    def records(self) -> list[dict[str, Any]]:
        head = {"record": "memory", "format": self.format, "id": self.id, "created": self.created,
                "run": self.run, "model": self.model, "oracle": self.oracle, "prompts": self.prompts,
                "params": self.params, "n_sources": len(self.sources), "n_low": len(self.low)}
        return [head,
                *({"record": "source", **s.model_dump()} for s in self.sources),
                *({"record": "low", **lp.model_dump()} for lp in self.low),
                *({"record": "principle", "index": i, "text": p} for i, p in enumerate(self.principles))]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.records()), encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a memory
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Memory":
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise MemoryFileError(f"{path}: cannot read the memory file ({exc.strerror or exc})") from None
        head: dict[str, Any] | None = None
        parts: dict[str, list[dict[str, Any]]] = {"source": [], "low": [], "principle": []}
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                kind = rec.pop("record")
            except (json.JSONDecodeError, KeyError, AttributeError, TypeError):
                raise MemoryFileError(f"{path}:{n}: not a memory record (JSON with a 'record' field)") from None
            if kind == "memory":
                head = rec
            elif kind in parts:
                parts[kind].append(rec)
            else:
                raise MemoryFileError(f"{path}:{n}: unknown record kind {kind!r}")
        if head is None:
            raise MemoryFileError(f"{path}: no 'memory' header record")
        if head.get("format") != FORMAT_VERSION:
            raise MemoryFileError(f"{path}: memory format {head.get('format')!r}; this mistakelab reads {FORMAT_VERSION}")
        try:
            mem = cls(run=head["run"], model=head["model"], prompts=head.get("prompts", {}),
                      params=head.get("params", {}), created=head.get("created", 0.0),
                      oracle=head.get("oracle", True),
                      sources=[SourceProblem.model_validate(r) for r in parts["source"]],
                      low=[LowPrinciple.model_validate(r) for r in parts["low"]],
                      principles=[str(r["text"]) for r in sorted(parts["principle"], key=lambda r: r["index"])])
        except (KeyError, ValidationError) as exc:
            raise MemoryFileError(f"{path}: bad memory record: {exc}") from None
        if not mem.principles:
            raise MemoryFileError(f"{path}: the memory holds no principles")
        return mem
