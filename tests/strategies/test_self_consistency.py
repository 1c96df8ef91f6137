"""``self_consistency`` on the scripted backend: the majority, pass@k, seeds; the vote rules."""

from __future__ import annotations

import pytest

from mistakelab.core import AnswerKind, VoteEvent
from mistakelab.strategies import majority

from conftest import ToyAdd
from strategy_helpers import run


def test_self_consistency_majority_pass_at_k_and_seeds() -> None:
    outs = ["\\boxed{4}", "\\boxed{5}", "\\boxed{4}", "no idea"]
    trace, fake, r = run({"name": "self_consistency", "k": 4}, outs)
    assert r.final_answer == "4" and not r.correct
    assert r.pass_at_k is True  # one sample had 5
    seeds = [c.params.seed for c in fake.calls]
    assert len(set(seeds)) == 4 and all(s is not None for s in seeds)
    assert all(c.params.temperature == 0.7 for c in fake.calls)
    assert [a.kind for a in trace.answers] == [AnswerKind.SAMPLE] * 4 + [AnswerKind.FINAL]
    (vote,) = trace.events_of(VoteEvent)
    assert (vote.winner, vote.votes, vote.tally) == ("4", 2.0, {"4": 2.0, "5": 1.0})


def test_self_consistency_seeds_are_reproducible() -> None:
    a = run({"name": "self_consistency", "k": 3}, ["\\boxed{1}"] * 3)[1]
    b = run({"name": "self_consistency", "k": 3}, ["\\boxed{1}"] * 3)[1]
    assert [c.params.seed for c in a.calls] == [c.params.seed for c in b.calls]


def test_samples_of_k4_are_the_first_samples_of_k8() -> None:
    # seeds come from (purpose, index), not from the parameters: maj@4 is nested in maj@8
    four = run({"name": "self_consistency", "k": 4}, ["\\boxed{1}"] * 4)[1]
    eight = run({"name": "self_consistency", "k": 8}, ["\\boxed{1}"] * 8)[1]
    assert [c.params.seed for c in eight.calls][:4] == [c.params.seed for c in four.calls]


@pytest.mark.parametrize(
    "answers, expected",
    [(["3", "4", "4", None, "3"], "3"),  # tie 2-2: first seen wins
     (["4", "3", "3"], "3"),
     ([None, None], None),
     (["1,000", "1000", "7"], "1,000")],  # equivalent answers pool their votes
)
def test_majority_tie_rule(answers, expected) -> None:  # type: ignore[no-untyped-def]
    assert majority(answers, key=ToyAdd().answer_key) == expected


def test_weighted_majority() -> None:
    assert majority(["3", "4", "4"], weights=[3.0, 1.0, 1.0]) == "3"
