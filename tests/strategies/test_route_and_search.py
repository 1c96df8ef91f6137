"""magicore, step_beam and dvts on the scripted backend: routing, refinement, beams, subtrees."""

from __future__ import annotations

import asyncio
import itertools
import math

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.core import AnswerKind, Completion, Problem, StopEvent, TokenLogprob, VoteEvent
from mistakelab.core.events import RouteEvent, ScoreEvent, SearchEvent
from mistakelab.runner import solve

from conftest import ToyAdd

PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


def run(strategy, backend, roles=None):  # type: ignore[no-untyped-def]
    return asyncio.run(solve(strategy, backend, PROBLEM, ToyAdd(), roles=roles))


def judge(p_yes: float) -> Completion:
    top = [("Yes", math.log(p_yes)), ("No", math.log(1 - p_yes))]
    return Completion(text="Yes", logprobs=[TokenLogprob(token="Yes", logprob=top[0][1], top=top)])


def world(samples: list[str], p_yes: dict[str, float], refined: str = "2 + 3 = 5. \\boxed{5}"):  # type: ignore[no-untyped-def]
    """One scripted model for every role: samples in order; a judge whose P(Yes) depends on the
    boxed answer it is shown; a reviewer; a refiner."""
    queue = iter(samples)

    def fn(messages, params):  # type: ignore[no-untyped-def]
        last = messages[-1].content
        if "Is the final answer of this solution correct?" in last:
            return judge(next((v for k, v in p_yes.items() if f"\\boxed{{{k}}}" in last), 0.5))
        if "A checker doubts these steps" in last:
            return "The sum is wrong."
        if "A reviewer checked your solution" in last:
            return refined
        return next(queue)
    return ScriptedBackend(fn)


MAG = {"name": "magicore", "k": 3, "step": None}


def test_magicore_easy_problem_is_a_weighted_vote() -> None:
    fake = world(["\\boxed{5}", "\\boxed{5}", "\\boxed{4}"], {"5": 0.9, "4": 0.2})
    trace, r = run({**MAG}, fake)
    (route,) = trace.events_of(RouteEvent)
    assert not route.hard and route.share == pytest.approx(1.8 / 2.0)  # 0.9 >= 0.7: easy
    assert r.final_answer == "5" and len(fake.calls) == 6  # 3 samples + 3 verdicts, no refinement
    assert trace.events_of(StopEvent) == [StopEvent(reason="easy", rounds=0)]


def test_magicore_hard_problem_is_reviewed_refined_and_revoted() -> None:
    fake = world(["\\boxed{4}", "\\boxed{5}", "\\boxed{6}"], {"4": 0.5, "5": 0.4, "6": 0.3})
    trace, r = run({**MAG, "rounds": 1, "refine": 1}, fake)
    first, last = trace.events_of(RouteEvent)
    assert first.hard and first.share == pytest.approx(0.5 / 1.2)
    # 1 - H(5/12, 4/12, 3/12) / log 3, by hand
    shares = [5 / 12, 4 / 12, 3 / 12]
    assert first.confidence == pytest.approx(1 - (-sum(s * math.log(s) for s in shares)) / math.log(3))
    review = next(c for c in fake.calls if "A checker doubts" in c.messages[-1].content)
    assert "\\boxed{4}" in review.messages[-1].content  # the best-scored solution (0.5) is refined
    assert r.final_answer == "5" and r.correct  # 0.4 + 0.4 (the rewrite) beats 0.5
    (vote,) = trace.events_of(VoteEvent)
    assert vote.tally == {"4": 0.5, "5": 0.8, "6": 0.3} and vote.k == 4
    assert [a.label for a in trace.answers_of(AnswerKind.ATTEMPT)] == ["refine-1"]
    assert trace.events_of(StopEvent) == [StopEvent(reason="rounds used up", rounds=1)]


def test_magicore_refines_each_candidate_once_and_stops_when_none_is_left() -> None:
    # rewrites without an answer cannot be refined again (nor vote): round 2 has nothing to refine
    fake = world(["\\boxed{4}", "\\boxed{6}"], {"4": 0.5, "6": 0.5}, refined="I am not sure.")
    trace, r = run({**MAG, "k": 2, "rounds": 5, "refine": 3}, fake)
    refined = [c for c in fake.calls if "A checker doubts" in c.messages[-1].content]
    assert len(refined) == 2 and r.final_answer == "4"  # each sample once; the 0.5 tie: first seen
    assert trace.events_of(StopEvent) == [StopEvent(reason="nothing left to refine", rounds=1)]


def test_magicore_reviewer_sees_the_low_score_steps_and_roles_are_separate() -> None:
    solver = world(["2 + 3 = 6\n\nSo \\boxed{6}", "2 + 3 = 7\n\nSo \\boxed{7}"], {"6": 0.4, "7": 0.3, "5": 0.9})
    reviewer = ScriptedBackend(["Step 1 adds wrong."], model_id="rev")
    refiner = ScriptedBackend(["2 + 3 = 5\n\n\\boxed{5}"], model_id="ref")
    trace, r = run({"name": "magicore", "k": 2, "step": "arithmetic_step", "rounds": 1, "refine": 1,
                    "reviewer": "rev", "refiner": "ref"}, solver, roles={"reviewer": reviewer, "refiner": refiner})
    prompt = reviewer.calls[0].messages[0].content
    assert "Step 1: 2 + 3 = 6" in prompt and "So \\boxed{6}" in prompt
    assert "Step 1 adds wrong." in refiner.calls[0].messages[-1].content
    assert r.usage["reviewer"].calls == 1 and r.usage["refiner"].calls == 1
    # P(Yes) + the product of the step scores: 0 for both (each has a wrong sum), 1 for the rewrite
    first, second = trace.events_of(ScoreEvent)
    assert first.scores == pytest.approx([0.4, 0.3]) and second.scores == pytest.approx([0.4, 0.3, 1.9])
    assert r.final_answer == "5"


# -- step search ----------------------------------------------------------------------------
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
