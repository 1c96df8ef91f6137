"""``step_beam`` and ``dvts`` (strategies/step_search.py) on the scripted backend: beams, subtrees."""

from __future__ import annotations

import itertools

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.core import AnswerKind, StopEvent, VoteEvent
from mistakelab.core.events import SearchEvent

from search_helpers import run


def tree(first: list[str], then: dict[str, str], complete: str = "\\boxed{4}"):  # type: ignore[no-untyped-def]
    """Continuations by prefix: from nothing, the ``first`` steps in turn; from a prefix, ``then``."""
    turn = itertools.cycle(first)

    def fn(messages, params):  # type: ignore[no-untyped-def]
        if messages[-1].role == "user":
            return next(turn)
        if not params.stop:
            return complete
        return then[messages[-1].content]
    return ScriptedBackend(fn)


STEPS = {"2 + 3 = 5\n\n": "So \\boxed{5}.", "2 + 3 = 6\n\n": "So \\boxed{6}."}


SEARCH = "scorer=arithmetic_step,agg=min"


def test_step_beam_keeps_the_best_step_and_continues_from_it() -> None:
    fake = tree(["2 + 3 = 6", "2 + 3 = 5"], STEPS)
    trace, r = run(f"step_beam:width=1,expand=2,{SEARCH}", fake)
    assert r.final_answer == "5" and r.correct
    cont = [c for c in trace.calls if c.kind == "continue"]
    assert cont and all(c.prefix == "2 + 3 = 5\n\n" for c in cont) and all(c.params.stop == ("\n\n",) for c in cont)
    depths = trace.events_of(SearchEvent)
    assert [(e.depth, e.candidates, e.kept, e.finished) for e in depths] == [(0, 2, 1, 0), (1, 2, 1, 1)]
    assert trace.events_of(StopEvent)[0].reason == "all beams finished"


def test_step_beam_width_two_scores_whole_paths() -> None:
    fake = tree(["2 + 3 = 6", "2 + 3 = 5"], STEPS)
    trace, r = run(f"step_beam:width=2,expand=2,final=vote,{SEARCH}", fake)
    # depth 1: four candidates; the two from "= 5" (min 1.0) beat the two from "= 6" (min 0.0)
    finished = trace.answers_of(AnswerKind.SAMPLE)
    assert [a.extracted for a in finished] == ["5", "5"] and r.final_answer == "5"
    assert trace.events_of(VoteEvent)[0].method == "score-weighted"


def test_step_beam_completes_an_open_beam_at_max_depth() -> None:
    fake = tree(["2 + 2 = 4"], {"2 + 2 = 4\n\n": "4 + 0 = 4"}, complete=" 4 - 0 = 4 so \\boxed{4}")
    trace, r = run(f"step_beam:width=1,expand=1,max_depth=2,{SEARCH}", fake)
    last = trace.calls[-1]
    assert last.purpose == "complete" and last.params.stop == () and r.final_answer == "4"
    assert trace.events_of(StopEvent)[0].reason == "max depth"


def test_an_empty_continuation_finishes_a_partial() -> None:
    fake = tree(["The answer is 5."], {"The answer is 5.\n\n": ""})
    trace, r = run(f"step_beam:width=1,expand=1,{SEARCH}", fake)
    assert r.final_answer == "5" and len(trace.calls) == 2


def test_dvts_runs_independent_subtrees() -> None:
    fake = tree(["2 + 3 = 6", "2 + 3 = 5"], STEPS)
    trace, r = run(f"dvts:width=4,expand=2,{SEARCH}", fake)
    purposes = sorted({c.purpose for c in trace.calls})
    assert purposes == ["t0-d0", "t0-d1", "t1-d0", "t1-d1"]
    leaves = trace.answers_of(AnswerKind.SAMPLE)
    assert len(leaves) == 2 and r.final_answer == "5"
    # each subtree expanded its own prefix: no continuation from a step the subtree did not keep
    assert {c.prefix for c in trace.calls if c.kind == "continue"} == {"2 + 3 = 5\n\n"}


def test_step_search_needs_continuation() -> None:
    from mistakelab.context import CapabilityError

    fake = ScriptedBackend(["x"], capabilities=frozenset({"multi_sample"}))
    with pytest.raises(CapabilityError, match="continue"):
        run("dvts", fake)
