"""``moa`` and ``mentor`` on the scripted backend: layers, roles, the aggregator's prompt; the
mentor's hand-offs, their limit, the token budget and the mentor's share (issue 22)."""

from __future__ import annotations

import asyncio

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.context import CapabilityError
from mistakelab.core import Completion, GenParams, Problem, TokenLogprob
from mistakelab.core.events import NoteEvent, StopEvent, VoteEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.runner import solve

from conftest import ToyAdd

PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


def run(strategy, backend, **kw):  # type: ignore[no-untyped-def]
    return asyncio.run(solve(strategy, backend, PROBLEM, ToyAdd(), **kw))


# -- moa ----------------------------------------------------------------------------------------
def test_moa_aggregator_reads_every_proposal_and_gives_the_final_answer() -> None:
    fake = ScriptedBackend(["A \\boxed{6}", "B \\boxed{6}", "C \\boxed{5}", "Synthesis: \\boxed{5}"])
    trace, r = run("moa", fake)
    agg = fake.calls[3].messages[-1].content
    assert "1. A \\boxed{6}\n\n2. B \\boxed{6}\n\n3. C \\boxed{5}" in agg and "synthesize" in agg
    assert agg.rstrip().endswith(ToyAdd.answer_format) and "What is 2 + 3?" in agg
    assert r.final_answer == "5" and r.correct and r.pass_at_k and not r.used_gold
    assert [a.extracted for a in trace.answers_of(AnswerKind.SAMPLE)] == ["6", "6", "5"]
    seeds = [c.params.seed for c in trace.calls[:3]]
    assert len(set(seeds)) == 3 and all(c.params.temperature == 0.7 for c in trace.calls[:3])


def test_moa_layers_read_the_layer_before() -> None:
    fake = ScriptedBackend(["L1a", "L1b", "L2a \\boxed{5}", "L2b \\boxed{5}", "final \\boxed{5}"])
    trace, r = run("moa:k=2,layers=2", fake)
    assert "1. L1a\n\n2. L1b" in fake.calls[2].messages[-1].content
    assert "1. L2a \\boxed{5}\n\n2. L2b \\boxed{5}" in fake.calls[4].messages[-1].content
    assert "L1a" not in fake.calls[4].messages[-1].content and r.correct
    assert [c.purpose for c in trace.calls] == ["propose-0"] * 2 + ["propose-1"] * 2 + ["aggregate"]


def test_moa_roles_proposers_and_aggregator() -> None:
    solver = ScriptedBackend(["s \\boxed{6}", "s \\boxed{6}"], model_id="small")
    second = ScriptedBackend(["p2 \\boxed{5}"], model_id="other")
    agg = ScriptedBackend(["big \\boxed{5}"], model_id="big")
    trace, r = run("moa", solver, roles={"proposer2": second, "aggregator": agg})
    assert [c.role for c in trace.calls] == ["solver", "proposer2", "solver", "aggregator"]
    assert len(agg.calls) == 1 and "2. p2 \\boxed{5}" in agg.calls[0].messages[-1].content
    assert r.final_answer == "5" and set(r.usage) == {"solver", "proposer2", "aggregator"}


# -- mentor -------------------------------------------------------------------------------------
def segment(text: str, finish: str = "length") -> Completion:
    return Completion(text=text, completion_tokens=len(text.split()), finish_reason=finish)


def mentor_note(trace):  # type: ignore[no-untyped-def]
    (note,) = [e for e in trace.events_of(NoteEvent) if e.label == "mentor"]
    return note.data


def test_mentor_takes_over_at_a_cue_and_the_solver_resumes() -> None:
    small = ScriptedBackend(["2 + 3 = 6.\n\nHmm, that looks off", "So the sum is \\boxed{5}."])
    big = ScriptedBackend([segment("\n\nRecheck: 2 + 3 = 5.")], model_id="big")
    trace, r = run("mentor", small, roles={"mentor": big})
    assert small.calls[0].params.stop == ("\n\nWait", "\n\nAlternatively", "\n\nHmm")
    assert big.calls[0].messages[-1].content == "2 + 3 = 6." and big.calls[0].params.max_tokens == 64
    assert small.calls[1].messages[-1].content == "2 + 3 = 6.\n\nRecheck: 2 + 3 = 5."
    assert [c.kind for c in trace.calls] == ["generate", "continue", "continue"] and r.correct
    data = mentor_note(trace)
    assert data["handoffs"] == 1 and data["mentor_tokens"] == 6 and data["solver_tokens"] == 10
    assert data["mentor_share"] == 6 / 16 and r.usage["mentor"].completion_tokens == 6


def test_mentor_is_not_called_when_the_solver_states_its_answer() -> None:
    small = ScriptedBackend(["2 + 3 = 5, so \\boxed{5}."])
    big = ScriptedBackend([], model_id="big")
    trace, r = run("mentor", small, roles={"mentor": big})
    assert not big.calls and r.correct and mentor_note(trace)["mentor_share"] == 0.0


def test_mentor_handoff_limit_then_the_solver_finishes_without_cues() -> None:
    small = ScriptedBackend(["a\n\nWait b", "c\n\nWait d", "\\boxed{5}"])
    big = ScriptedBackend([segment(" M1"), segment(" M2")], model_id="big")
    trace, r = run("mentor:handoffs=2", small, roles={"mentor": big})
    assert len(big.calls) == 2 and small.calls[2].params.stop == ()
    assert small.calls[2].messages[-1].content == "a M1c M2" and r.correct
    trace, r = run("mentor:handoffs=0", ScriptedBackend(["a\n\nWait, \\boxed{5}"]), roles={"mentor": big})
    assert len(trace.calls) == 1 and r.correct  # no cue stops at all


def test_mentor_segment_that_ends_the_turn_ends_it_and_the_budget_bounds_it() -> None:
    small = ScriptedBackend(["one two three four\n\nWait"])
    big = ScriptedBackend([segment(" so \\boxed{5}", finish="stop")], model_id="big")
    trace, r = run("mentor:mentor_tokens=50", small, roles={"mentor": big}, params=GenParams(max_tokens=10))
    assert big.calls[0].params.max_tokens == 6 and len(trace.calls) == 2 and r.correct


def test_mentor_needs_continuation_from_both_roles() -> None:
    with pytest.raises(CapabilityError, match="mentor"):
        run("mentor", ScriptedBackend([]), roles={"mentor": ScriptedBackend([], capabilities=frozenset())})


# -- pipeline (optillm's a&b) ----------------------------------------------------------------------
def test_pipeline_hands_each_answer_to_the_next_stage_as_a_draft() -> None:
    fake = ScriptedBackend(["first \\boxed{6}", "second \\boxed{7}", "third \\boxed{5}"])
    trace, r = run({"name": "pipeline", "stages": ["cot", "re2", {"name": "cot", "temperature": 0.2}]}, fake)
    assert "first \\boxed{6}" in fake.calls[1].messages[-1].content and "Read the question again" in fake.calls[1].messages[-1].content
    last = fake.calls[2].messages[-1].content
    assert "second \\boxed{7}" in last and "first" not in last and fake.calls[2].params.temperature == 0.2
    assert r.final_answer == "5" and [a.extracted for a in trace.answers_of(AnswerKind.FINAL)] == ["6", "7", "5"]


def test_pipeline_oracle_needs_and_bad_stages() -> None:
    from mistakelab.strategies import StrategySpec

    sdef, p = StrategySpec.model_validate({"name": "pipeline", "stages": ["cot", "try_again"]}).resolve()
    assert sdef.is_oracle(p)
    sdef, p = StrategySpec.model_validate({"name": "pipeline", "stages": ["re2", "cot_decoding"]}).resolve()
    assert not sdef.is_oracle(p) and sdef.capabilities_needed(p) == {"solver": frozenset({"top_logprobs", "continue"})}
    with pytest.raises(ValueError, match="nosuch"):
        StrategySpec.model_validate({"name": "pipeline", "stages": ["cot", "nosuch"]}).resolve()
    with pytest.raises(ValueError, match="k"):
        StrategySpec.model_validate({"name": "pipeline", "stages": [{"name": "moa", "k": 0}]}).resolve()


# -- peers (LeaP) ------------------------------------------------------------------------------------
class Paths:
    """Path i writes "Pi thinks" (cut at the exchange), summarizes as "S-Pi", then answers."""

    def __init__(self, answers: list[str], early: frozenset[int] = frozenset()) -> None:
        self.answers, self.early, self.seeds = answers, early, []  # type: ignore[var-annotated]

    def __call__(self, messages, params):  # type: ignore[no-untyped-def]
        turn = messages[-1].content if messages[-1].role == "assistant" else None
        if turn is None:
            self.seeds.append(params.seed)
            i = len(self.seeds) - 1
            if i in self.early:
                return Completion(text=f"P{i} says \\boxed{{{self.answers[i]}}}", completion_tokens=3)
            return Completion(text=f"P{i} thinks", completion_tokens=2, finish_reason="length")
        i = int(turn.split()[0][1:])
        if turn.endswith("so far:"):
            return Completion(text=f" S-P{i}", completion_tokens=1, finish_reason="length")
        return Completion(text=f" \\boxed{{{self.answers[i]}}}", completion_tokens=1)


def test_peers_exchange_summaries_and_vote() -> None:
    fake = ScriptedBackend(Paths(["5", "6", "5"]))
    trace, r = run("peers:k=3,every=2,summary_tokens=7", fake)
    finals = {c.messages[-1].content.split()[0]: c.messages[-1].content for c in fake.calls
              if c.messages[-1].role == "assistant" and "other solvers" in c.messages[-1].content}
    assert set(finals) == {"P0", "P1", "P2"}
    assert "- S-P1\n- S-P2" in finals["P0"] and "S-P0" not in finals["P0"].split("other solvers")[1]
    assert all(c.params.max_tokens == 7 for c in fake.calls if c.messages[-1].content.endswith("so far:"))
    assert r.final_answer == "5" and r.correct and trace.events_of(VoteEvent)[0].tally == {"5": 2.0, "6": 1.0}
    assert [a.extracted for a in trace.answers_of(AnswerKind.SAMPLE)] == ["5", "6", "5"]
    assert trace.events_of(StopEvent) == [StopEvent(reason="paths ended", rounds=1)]


def test_peers_a_path_that_ended_does_not_summarize_and_rounds_zero_is_plain_sampling() -> None:
    fake = ScriptedBackend(Paths(["6", "5"], early=frozenset({0})))
    trace, r = run("peers:k=2,every=2", fake)
    assert sum(c.purpose.startswith("summary") for c in trace.calls) == 1  # only path 1 summarizes
    peers_turn = next(c.messages[-1].content for c in fake.calls if "other solvers" in c.messages[-1].content)
    assert "(no summaries yet)" in peers_turn and r.final_answer == "6"  # tie: the first seen
    trace, r = run("peers:k=2,rounds=0", ScriptedBackend(Paths(["5", "5"])))
    assert [c.purpose for c in trace.calls] == ["path-0", "path-1"] and all(c.params.max_tokens == 512 for c in trace.calls)


def test_peers_needs_continuation() -> None:
    with pytest.raises(CapabilityError):
        run("peers", ScriptedBackend([], capabilities=frozenset()))


def test_mentor_takes_over_after_a_low_confidence_step() -> None:
    words = [("2 + 3 = 5.", -0.1), ("\n\n", -0.1), ("So maybe 6", -3.0), ("\n\n", -0.1), ("\\boxed{6}", -0.2)]
    segment_ = Completion(text="".join(w for w, _ in words), completion_tokens=5,
                          logprobs=[TokenLogprob(token=w, logprob=v) for w, v in words])
    small = ScriptedBackend([segment_, " \\boxed{5}"])
    big = ScriptedBackend([segment("\n\nNo: 2 + 3 = 5.")], model_id="big")
    trace, r = run("mentor:low_logprob=-1.0", small, roles={"mentor": big})
    assert big.calls[0].messages[-1].content == "2 + 3 = 5.\n\nSo maybe 6"  # cut after the weak step
    assert small.calls[0].params.logprobs and r.correct and mentor_note(trace)["low_confidence"] == 1
    assert mentor_note(trace)["solver_tokens"] == 6  # the dropped tail's tokens still count
    trace, r = run("mentor", ScriptedBackend([segment_]), roles={"mentor": big})
    assert r.final_answer == "6" and not trace.calls[0].params.logprobs  # off by default: no hand-off
