"""``mcts`` on the scripted backend: selection, expansion, rollouts, rewards, depth (issue 22)."""

from __future__ import annotations

import asyncio

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.context import CapabilityError
from mistakelab.core import Problem
from mistakelab.core.events import NoteEvent, ScoreEvent, StopEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.runner import solve
from mistakelab.strategies import StrategySpec

from conftest import ToyAdd

PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


class Tree:
    """First steps alternate between the ``firsts``; rollouts answer after the path's first step."""

    def __init__(self, firsts: list[str], rollouts: dict[str, str]) -> None:
        self.firsts, self.rollouts, self.n = firsts, rollouts, 0

    def __call__(self, messages, params):  # type: ignore[no-untyped-def]
        turn = messages[-1].content if messages[-1].role == "assistant" else ""
        if not turn:
            self.n += 1
            return self.firsts[(self.n - 1) % len(self.firsts)]
        if params.stop:  # an expansion: one more step, no answer
            return "Next step."
        return self.rollouts[turn.split()[0]]


def run(spec, model):  # type: ignore[no-untyped-def]
    return asyncio.run(solve(spec, ScriptedBackend(model), PROBLEM, ToyAdd()))


def test_mcts_rollouts_backups_and_majority() -> None:
    tree = Tree(["Add", "Guess"], {"Add": " 2 + 3 = 5, \\boxed{5}", "Guess": " \\boxed{6}"})
    trace, r = run("mcts:simulations=5", tree)
    purposes = [c.purpose for c in trace.calls]
    assert purposes[:4] == ["s0-expand", "s0-rollout", "s1-expand", "s1-rollout"]  # the root gets its 2 children
    assert tree.n == 2  # later simulations descend by UCT instead of adding first steps
    (note,) = [e for e in trace.events_of(NoteEvent) if e.label == "mcts"]
    assert sum(note.data["visits"]) == 5 and len(note.data["visits"]) == 2
    samples = [a.extracted for a in trace.answers_of(AnswerKind.SAMPLE)]
    assert len(samples) == 5 and r.final_answer == max(set(samples), key=samples.count)
    shares = trace.events_of(ScoreEvent)[0].scores
    assert shares == [samples.count(a) / 5 for a in samples]
    assert trace.events_of(StopEvent) == [StopEvent(reason="simulations", rounds=5)] and not r.used_gold


def test_mcts_score_reward_prefers_the_path_whose_arithmetic_holds() -> None:
    tree = Tree(["Add", "Guess"], {"Add": "\n\n2 + 3 = 6, \\boxed{6}", "Guess": "\n\n2 + 3 = 5, \\boxed{5}"})
    trace, r = run("mcts:simulations=3,reward=score,expand=3", Tree(["Add", "Add", "Guess"], tree.rollouts))
    samples = [a.extracted for a in trace.answers_of(AnswerKind.SAMPLE)]
    assert samples == ["6", "6", "5"] and r.final_answer == "5" and r.correct  # the minority, correctly computed
    assert trace.events_of(ScoreEvent)[0].scores == [0.0, 0.0, 1.0]


def test_mcts_max_depth_stops_expansion_and_a_finished_step_needs_no_rollout() -> None:
    tree = Tree(["Add"], {"Add": " \\boxed{5}"})
    trace, _ = run("mcts:simulations=3,expand=1,max_depth=1", tree)
    assert [c.purpose for c in trace.calls] == ["s0-expand", "s0-rollout", "s1-rollout", "s2-rollout"]
    trace, r = run("mcts:simulations=2,expand=2", Tree(["So \\boxed{5}."], {}))
    assert [c.purpose for c in trace.calls] == ["s0-expand", "s1-expand"] and r.correct


def test_mcts_oracle_flag_and_needs() -> None:
    sdef, p = StrategySpec.model_validate({"name": "mcts", "scorer": "exact_step"}).resolve()
    assert sdef.is_oracle(p)
    sdef, p = StrategySpec.model_validate({"name": "mcts"}).resolve()
    assert not sdef.is_oracle(p) and "continue" in sdef.capabilities_needed(p)["solver"]
    with pytest.raises(CapabilityError):
        asyncio.run(solve("mcts", ScriptedBackend([], capabilities=frozenset()), PROBLEM, ToyAdd()))


def test_mcts_mutual_verification_keeps_the_rollouts_the_discriminator_confirms() -> None:
    tree = Tree(["Add", "Guess"], {"Add": "2 + 3 = 5.\n\nThen check.\n\nSo \\boxed{5}",
                                   "Guess": "Maybe 6.\n\nSo \\boxed{6}"})
    small = ScriptedBackend(Tree(["Add", "Guess", "Guess"], tree.rollouts))

    def discriminator(messages, params):  # type: ignore[no-untyped-def]
        assert params.temperature == 0.0
        return "\n\nSo \\boxed{5}"  # agrees with the 'Add' rollouts only

    judge = ScriptedBackend(discriminator, model_id="judge")
    trace, r = asyncio.run(solve("mcts:simulations=3,expand=3,verify=mutual", small, PROBLEM, ToyAdd(),
                                 roles={"discriminator": judge}))
    (note,) = [e for e in trace.events_of(NoteEvent) if e.label == "mutual"]
    assert note.data["confirmed"] == [True, False, False] and r.final_answer == "5"  # 1 against 2 unconfirmed
    assert [a.extracted for a in trace.answers_of(AnswerKind.SAMPLE)] == ["5"]
    prefixes = [c.messages[-1].content for c in judge.calls]
    assert prefixes[0] == "Add\n\n2 + 3 = 5.\n\n" and prefixes[1] == "Guess\n\n"  # each tail masked
    sdef, p = StrategySpec.model_validate({"name": "mcts", "verify": "mutual"}).resolve()
    assert sdef.capabilities_needed(p)["discriminator"] == {"continue"}
