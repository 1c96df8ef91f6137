"""The trace viewer's content: per problem, each unit's calls, answers with verdicts, the
steps of each solution with the first wrong step marked, and the typed events.

A unit's summary line is plain HTML; its detail is compact JSON data that the page's script
turns into DOM nodes (text only, never markup) when the unit is opened, so a 10,000-unit
run stays light to open. Only plain data comes out of here.

A unit's detail is a keyed record, and so is everything in it but the text segments, the
bulk of the data, which are rows; :data:`SCHEMA` names every record's fields (a row's
columns, in order), once, for this module and for ``assets/viewer.js``, which reads them by
these names (the page carries the schema; a test holds both sides to it):

* ``detail``: ``calls``, ``answers``, ``events``, ``error`` (the unit's);
* ``call``: what was asked and answered; its ``messages`` (a message whose text was shown
  before has ``content`` null and says where in ``same_as``), its text as ``segments`` rows
  (``cls`` ``""``: not in a step), and its ``steps`` verdict, or null (not a solution);
* ``answer``: a recorded answer and its verdict; ``event``: a typed event's ``kind`` and
  ``fields`` (name -> value as text).

Example:
    >>> segments("a. b.", [(0, 2, "step ok", ""), (3, 5, "step first", "wrong")], prefix_len=0)
    [['a.', 'step ok', '', '0'], [' ', '', '', ''], ['b.', 'step first', 'wrong', '1']]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mistakelab.core.trace import AnswerKind, CallRecord, Trace
from mistakelab.report.html.data import RunData, Unit
from mistakelab.report.html.stepmarks import CheckedSolution, Job, StepChecker, priority

SOLUTION_KINDS = (AnswerKind.ATTEMPT, AnswerKind.SAMPLE, AnswerKind.FINAL)

#: every record of the viewer's data, by the names its fields have in Python and in viewer.js
#: (``segment``: the columns of a row)
SCHEMA: dict[str, tuple[str, ...]] = {
    "detail": ("calls", "answers", "events", "error"),
    "call": ("index", "role", "kind", "purpose", "model", "params", "prompt_tokens", "completion_tokens", "finish",
             "cached", "oracle", "error", "messages", "prefix", "segments", "steps"),
    "message": ("role", "content", "same_as"),
    "segment": ("text", "cls", "title", "step"),
    "steps": ("checker", "first_error", "n_steps", "reason", "note"),
    "answer": ("kind", "index", "label", "call", "extracted", "method", "correct", "reason"),
    "event": ("kind", "fields"),
}


def record(kind: str, *values: Any) -> dict[str, Any]:
    """A record of ``kind`` with its fields in :data:`SCHEMA` order.

    Example:
        >>> record("message", "user", None, "same as call 0, message 1")["same_as"]
        'same as call 0, message 1'
    """
    names = SCHEMA[kind]
    if len(values) != len(names):
        raise ValueError(f"a {kind} record has {len(names)} fields ({', '.join(names)}), got {len(values)}")
    return dict(zip(names, values))
NOT_CHECKED = "steps not checked: the report's step-check budget is spent (raise --step-budget)"


@dataclass
class UnitView:
    uid: int
    strategy: str
    model: str
    task: str
    status: str
    ok: str  # "1" right, "0" wrong, "" failed / unknown
    change: str  # w2r / r2w / same / ""
    final: str | None
    tokens: int
    n_calls: int
    seconds: float
    oracle: bool
    first_error: int | None  # the final solution's first wrong step, when checked
    detail: dict[str, Any]


@dataclass
class ProblemView:
    task: str
    problem_id: str
    question: str
    gold: str | None
    units: list[UnitView]


def segments(text: str, spans: list[tuple[int, int, str, str]], prefix_len: int) -> list[list[str]]:
    """``text`` cut into plain pieces and step pieces (``spans``: start, end, class, title,
    sorted and disjoint), as segment rows (columns: ``SCHEMA["segment"]``); pieces before
    ``prefix_len`` (text the model continued) get class ``pre``."""
    out: list[list[str]] = []
    pos = 0
    for i, (a, b, cls, title) in enumerate(spans):
        if pos < a:
            out.append([text[pos:a], "", "", ""])
        out.append([text[a:b], cls, title, str(i)])
        pos = b
    if pos < len(text) or not out:
        out.append([text[pos:], "", "", ""])
    if prefix_len <= 0:
        return out
    cut: list[list[str]] = []
    start = 0
    for s in out:
        end = start + len(s[0])
        pre = (s[1] + " pre").strip()
        if end <= prefix_len:
            cut.append([s[0], pre, s[2], s[3]])
        elif start < prefix_len:
            k = prefix_len - start
            cut += [[s[0][:k], pre, s[2], s[3]], [s[0][k:], s[1], s[2], ""]]
        else:
            cut.append(s)
        start = end
    return cut


def marked(text: str, checked: CheckedSolution, prefix_len: int = 0) -> tuple[list[list[str]], dict[str, Any]]:
    """Segments of ``text`` with each step's verdict, and the ``steps`` record."""
    v = checked.verdict
    marks = {m.index: m for m in v.marks}
    spans, pos = [], 0
    for s in v.steps:
        if s.start < pos or s.end > len(text) or text[s.start:s.end] != s.text:
            note = "the checker's steps do not line up with the text; shown unmarked"
            return segments(text, [], prefix_len), record("steps", checked.checker, v.first_error, len(v.steps), "",
                                                          note)
        m = marks.get(s.index)
        status = m.status if m else "unchecked"
        # reasons only where a step is not fine: the others would double the page's size
        title = "" if status == "ok" else (f"step {s.index}: {status}" + (f" ({m.kind})" if m and m.kind else "")
                                           + (f": {m.reason}" if m and m.reason else ""))
        spans.append((s.start, s.end, "step first" if s.index == v.first_error else f"step {status}", title))
        pos = s.end
    first = marks.get(v.first_error)
    return segments(text, spans, prefix_len), record("steps", checked.checker, v.first_error, len(v.steps),
                                                     first.reason if first else "", "")


def _value(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is None or isinstance(v, (bool, int, float)):
        return json.dumps(v)
    return json.dumps(v, ensure_ascii=False, default=str)


def _params(c: CallRecord) -> str:
    p = c.params
    bits = [f"T={p.temperature:g}", f"max={p.max_tokens}"]
    if p.seed is not None:
        bits.append(f"seed={p.seed}")
    if p.top_p < 1:
        bits.append(f"top_p={p.top_p:g}")
    if p.stop:
        bits.append(f"stop={list(p.stop)!r}")
    if p.logprobs:
        bits.append("logprobs")
    return " ".join(bits)


def solution_calls(trace: Trace) -> list[CallRecord]:
    """Calls whose text holds a solution's answer (attempts, samples, a final one)."""
    idx = sorted({a.call for a in trace.answers if a.kind in SOLUTION_KINDS and a.call is not None})
    return [trace.calls[i] for i in idx if 0 <= i < len(trace.calls) and trace.calls[i].kind != "score"]


def solution_text(c: CallRecord) -> str:
    return (c.prefix or "") + c.completion.text if c.kind == "continue" else c.completion.text


class ViewBuilder:
    """Builds the viewer's problems from a run, reading step verdicts from ``checker``."""

    def __init__(self, data: RunData, checker: StepChecker) -> None:
        self.data, self.checker = data, checker
        self._prompts: dict[tuple[str, str], tuple[str, str] | None] = {}

    def solution_jobs(self) -> list[Job]:
        """Every solution the viewer shows, the most telling first (what a budget keeps)."""
        jobs = []
        for i, u in enumerate(self.data.units):
            if u.trace is None:
                continue
            sols = solution_calls(u.trace)
            wrong = u.done and not u.row.result.correct  # type: ignore[union-attr]
            for c in sols:
                jobs.append((priority(wrong, u.change in ("w2r", "r2w"), c is sols[-1]), i, c.index,
                             (u.row.task, u.problem, solution_text(c))))
        jobs.sort(key=lambda j: j[:3])
        return [j[3] for j in jobs]

    def problems(self) -> list[ProblemView]:
        d = self.data
        order = {s: i for i, s in enumerate(d.strategy_order)}
        by: dict[tuple[str, str], list[tuple[int, Unit]]] = {}
        for i, u in enumerate(d.units):
            by.setdefault((u.row.task, u.row.problem_id), []).append((i, u))
        tasks = list(d.problems)
        position = {(t, pid): k for t in tasks for k, pid in enumerate(d.problems[t])}
        keys = sorted(by, key=lambda k: (tasks.index(k[0]) if k[0] in tasks else len(tasks),
                                         position.get(k, len(position)), k[1]))
        out = []
        for key in keys:
            units = sorted(by[key], key=lambda iu: (iu[1].row.model, order.get(iu[1].row.strategy, len(order)), iu[0]))
            p = units[0][1].problem
            out.append(ProblemView(key[0], key[1], p.question if p else "(problem not stored)",
                                   p.answer if p else None, [self._unit(i, u) for i, u in units]))
        return out

    def _unit(self, uid: int, u: Unit) -> UnitView:
        r, t = u.row.result, u.trace
        detail = record("detail", [], [], [], r.error if r else None)
        first_error = None
        if t is not None:
            detail["answers"] = [record("answer", a.kind.value, a.index, a.label, a.call, a.extracted, a.method,
                                        None if a.verdict is None else a.verdict.correct,
                                        "" if a.verdict is None else a.verdict.reason) for a in t.answers]
            detail["events"] = [record("event", e.kind, {k: _value(v) for k, v in e.model_dump(exclude={"kind"}).items()})
                                for e in t.events]
            sols = {c.index for c in solution_calls(t)}
            seen: dict[tuple[str, str], tuple[int, int]] = {}
            prompt = self._prompt(u)
            for c in t.calls:
                call = self._call(u, c, c.index in sols, seen, prompt)
                detail["calls"].append(call)
                if call["steps"] and call["steps"]["checker"]:
                    first_error = call["steps"]["first_error"]
        ok = "" if r is None or r.status != "done" else ("1" if r.correct else "0")
        return UnitView(uid, u.row.strategy, u.row.model, u.row.task, u.row.status, ok, u.change,
                        r.final_answer if r else None, r.tokens if r else 0, r.calls if r else 0,
                        r.seconds if r else 0.0, bool(r and r.used_gold) or bool(t and t.used_gold),
                        first_error, detail)

    def _call(self, u: Unit, c: CallRecord, is_solution: bool, seen: dict[tuple[str, str], tuple[int, int]],
              prompt: tuple[str, str] | None) -> dict[str, Any]:
        msgs: list[dict[str, Any]] = []
        for j, m in enumerate(c.messages):
            key = (m.role, m.content)
            if key == prompt:
                msgs.append(record("message", m.role, None, "the task's prompt for this problem (its question is above)"))
            elif key in seen:
                msgs.append(record("message", m.role, None, "same as call {}, message {}".format(*seen[key])))
            else:
                seen[key] = (c.index, j)
                msgs.append(record("message", m.role, m.content, ""))
        text = solution_text(c)
        prefix_len = len(c.prefix) if c.kind == "continue" and c.prefix else 0
        steps = None
        checked = self.checker.get(u.row.task, u.problem, text) if is_solution else None
        if checked is not None:
            segs, steps = marked(text, checked, prefix_len)
        else:
            segs = segments(text, [], prefix_len)
            if is_solution:
                steps = record("steps", "", -1, 0, "", NOT_CHECKED)
        comp = c.completion
        return record("call", c.index, c.role, c.kind, c.purpose, c.model, _params(c), comp.prompt_tokens,
                      comp.completion_tokens, comp.finish_reason, int(comp.cached), int(c.oracle), comp.error, msgs,
                      None if prefix_len else c.prefix, segs, steps)

    def _prompt(self, u: Unit) -> tuple[str, str] | None:
        """The task's prompt message for the unit's problem (shown once, above, as the question)."""
        task = self.data.tasks.get(u.row.task)
        if task is None or u.problem is None:
            return None
        key = (u.row.task, u.problem.id)
        if key not in self._prompts:
            msgs = task.prompt(u.problem)
            self._prompts[key] = (msgs[0].role, msgs[0].content) if len(msgs) == 1 else None
        return self._prompts[key]
