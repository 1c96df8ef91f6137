"""``magicore`` on the scripted backend: routing, review and refinement, roles."""

from __future__ import annotations

import math

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.core import AnswerKind, Completion, StopEvent, TokenLogprob, VoteEvent
from mistakelab.core.events import RouteEvent, ScoreEvent

from search_helpers import run


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
