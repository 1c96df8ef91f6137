"""``re2``, ``plan_solve``, ``adaptive_consistency``, ``deepconf`` and ``cot_decoding`` on the
scripted backend: prompts, stopping rules, thresholds, early stops, margins (issue 22)."""

from __future__ import annotations

import asyncio
import math

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.context import CapabilityError
from mistakelab.core import Completion, ConfidenceStop, Problem, TokenLogprob
from mistakelab.core.events import NoteEvent, ScoreEvent, StopEvent, VoteEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.runner import solve
from mistakelab.strategies import StrategySpec
from mistakelab.strategies.adaptive_consistency import leader_stays_ahead

from conftest import ToyAdd

PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


def run(strategy, backend, **kw):  # type: ignore[no-untyped-def]
    return asyncio.run(solve(strategy, backend, PROBLEM, ToyAdd(), **kw))


def boxed(a: str) -> str:
    return f"so \\boxed{{{a}}}"


# -- re2, plan_solve --------------------------------------------------------------------------
def test_re2_reads_the_question_twice_before_the_task_prompt() -> None:
    fake = ScriptedBackend([boxed("5")])
    trace, r = run("re2", fake)
    (msg,) = fake.calls[0].messages
    assert msg.content.startswith("Q: What is 2 + 3?\nRead the question again: What is 2 + 3?")
    assert ToyAdd.answer_format in msg.content and msg.content.endswith("A: Let's think step by step.")
    assert r.correct and not r.used_gold and len(trace.calls) == 1


def test_plan_solve_puts_the_ps_plus_trigger_after_the_task_prompt() -> None:
    fake = ScriptedBackend([boxed("6")])
    _, r = run({"name": "plan_solve", "temperature": 0.3}, fake)
    content = fake.calls[0].messages[-1].content
    assert content.startswith("What is 2 + 3?") and content.index(ToyAdd.answer_format) < content.index("devise a plan")
    assert content.endswith("show the answer.") and fake.calls[0].params.temperature == 0.3
    assert r.final_answer == "6" and not r.correct


# -- adaptive_consistency ---------------------------------------------------------------------
def test_leader_stays_ahead_is_the_beta_tail() -> None:
    assert leader_stays_ahead(4, 0) == 31 / 32 and leader_stays_ahead(3, 0) == 15 / 16
    assert leader_stays_ahead(7, 1) == 502 / 512 and leader_stays_ahead(1, 3) < 0.5


def test_adaptive_stops_after_four_unanimous_votes() -> None:
    fake = ScriptedBackend([boxed("5")] * 16)
    trace, r = run("adaptive_consistency", fake)
    assert len(fake.calls) == 4 and r.correct and len(trace.answers_of(AnswerKind.SAMPLE)) == 4
    assert trace.events_of(StopEvent) == [StopEvent(reason="settled", rounds=4)]
    assert trace.events_of(VoteEvent)[0].tally == {"5": 4.0}


def test_adaptive_disagreement_needs_more_samples() -> None:
    fake = ScriptedBackend([boxed(a) for a in "56555555" + "5" * 8])
    trace, r = run("adaptive_consistency", fake)  # (5,1): 0.9375 < 0.95; (7,1): 0.98
    assert len(fake.calls) == 8 and trace.events_of(StopEvent)[0].reason == "settled"


def test_adaptive_budget_and_min_k() -> None:
    trace, r = run("adaptive_consistency:max_k=5", ScriptedBackend([boxed(a) for a in "56565"]))
    assert trace.events_of(StopEvent) == [StopEvent(reason="budget", rounds=5)] and r.final_answer == "5"
    fake = ScriptedBackend([boxed("5")] * 16)
    trace, _ = run("adaptive_consistency:min_k=7,window=1", fake)
    assert len(fake.calls) == 7


def test_esc_stops_at_the_first_unanimous_window_and_unparsed_answers_break_it() -> None:
    fake = ScriptedBackend([boxed("5"), boxed("6"), boxed("5"), "no answer", "nothing", "none",
                            boxed("6"), boxed("6"), boxed("6"), boxed("5")])
    trace, r = run("adaptive_consistency:rule=esc,window=3", fake)
    assert len(fake.calls) == 9 and trace.events_of(StopEvent)[0] == StopEvent(reason="unanimous window", rounds=9)
    assert r.final_answer == "6" and trace.events_of(VoteEvent)[0].tally == {"5": 2.0, "6": 4.0}


def test_adaptive_shares_self_consistency_samples() -> None:
    sc, _ = run("self_consistency:k=4", ScriptedBackend([boxed("5")] * 4))
    ac, _ = run("adaptive_consistency:window=3", ScriptedBackend([boxed("5")] * 6))
    assert [c.params.seed for c in ac.calls][:4] == [c.params.seed for c in sc.calls]
    own, _ = run("adaptive_consistency:shared=false", ScriptedBackend([boxed("5")] * 6))
    assert own.calls[0].params.seed != sc.calls[0].params.seed


def test_adaptive_params_are_checked() -> None:
    with pytest.raises(ValueError, match="min_k"):
        StrategySpec.model_validate({"name": "adaptive_consistency", "min_k": 9, "max_k": 4}).resolve()


# -- deepconf ---------------------------------------------------------------------------------
def tokens(conf: list[float], answer: str | None = None, finish: str = "stop") -> Completion:
    """A completion of one word per confidence value; token confidence = the value (one top entry)."""
    words = [f" w{i}" for i in range(len(conf))]
    if answer is not None:
        words[-1] = f" \\boxed{{{answer}}}"
    lps = [TokenLogprob(token=w, logprob=-0.1, top=[(w, -c)]) for w, c in zip(words, conf)]
    return Completion(text="".join(words), completion_tokens=len(words), finish_reason=finish, logprobs=lps)


def test_deepconf_offline_keeps_the_confident_traces_and_weights_their_votes() -> None:
    traces = [tokens([2.0] * 4, "6"), tokens([2.0] * 4, "6"), tokens([2.0] * 4, "6"),
              tokens([4.0] * 4, "5"), tokens([1.5] * 4, "5")]
    trace, r = run("deepconf:mode=offline,n=5,window=2,eta=100", ScriptedBackend(list(traces)))
    assert r.final_answer == "6" and trace.events_of(VoteEvent)[0].tally == {"6": 6.0, "5": 5.5}
    trace, r = run("deepconf:mode=offline,n=5,window=2,eta=40", ScriptedBackend(list(traces)))
    assert r.correct and trace.events_of(VoteEvent)[0].tally == {"6": 2.0, "5": 4.0}
    assert len(trace.answers_of(AnswerKind.SAMPLE)) == 5 and r.pass_at_k  # every trace is a sample
    assert all(c.params.logprobs and c.params.top_logprobs == 10 for c in trace.calls)
    assert trace.events_of(ScoreEvent)[0].scores == [2.0, 2.0, 2.0, 4.0, 1.5]


def test_deepconf_trace_scores_lowest_vs_tail() -> None:
    dip = tokens([5.0, 0.5, 0.5, 5.0, 5.0], "6")  # a dip in the middle, a confident tail
    even = tokens([2.0] * 5, "5")
    trace, r = run("deepconf:mode=offline,n=2,window=2,eta=50", ScriptedBackend([dip, even]))
    assert r.final_answer == "5" and trace.events_of(ScoreEvent)[0].scores == [0.5, 2.0]
    trace, r = run("deepconf:mode=offline,n=2,window=2,eta=50,score=tail", ScriptedBackend([dip, even]))
    assert r.final_answer == "6"


WARM = [tokens([3.0] * 4, "5"), tokens([2.0] * 4, "6")]  # lowest groups 3.0 and 2.0
SPEC = "deepconf:n=6,warmup=2,window=2,eta=100,batch=1"


def test_deepconf_online_stops_a_weak_trace_at_the_token_its_confidence_falls() -> None:
    weak = tokens([3.0, 1.0, 1.0, 1.0, 3.0], "6")  # windows 2.0, 1.0: under the threshold 2.0 at token 3
    fake = ScriptedBackend([*WARM, weak, tokens([3.0] * 4, "5")])
    trace, r = run(SPEC.replace("n=6", "n=4"), fake)
    assert len(fake.calls) == 4
    stop = ConfidenceStop(window=2, threshold=2.0, top_k=10)
    assert [c.params.confidence_stop for c in fake.calls] == [None, None, stop, stop]
    cut = trace.calls[2].completion  # the scripted backend cannot stop: the caller cuts at the same token
    assert (cut.text, cut.finish_reason, cut.completion_tokens) == (" w0 w1 w2", "low_confidence", 3)
    assert [a.extracted for a in trace.answers_of(AnswerKind.SAMPLE)] == ["5", "6", "5"]  # the stopped one: none
    assert trace.events_of(ScoreEvent)[0].scores == [3.0, 2.0, None, 3.0]
    assert trace.events_of(StopEvent) == [StopEvent(reason="budget", rounds=4)]
    (note,) = [e for e in trace.events_of(NoteEvent) if e.label == "deepconf"]
    assert note.data["threshold"] == 2.0 and note.data["stopped"] == 1 and note.data["stopped_tokens"] == 3
    assert r.final_answer == "5"


def test_deepconf_online_samples_a_batch_at_once_and_stops_at_consensus() -> None:
    later = [tokens([1.0, 1.0, 3.0], "7"), tokens([3.0, 3.0], "5"), tokens([3.0, 3.0], "7"), tokens([3.0, 3.0], "7")]
    fake = ScriptedBackend([*WARM, *later])
    trace, r = run(SPEC.replace("batch=1", "batch=2,tau=0.7"), fake)
    # one batch of two (one of them stopped at its first window) reaches 6 of 8 = 0.75 >= tau
    assert len(fake.calls) == 4 and trace.events_of(StopEvent) == [StopEvent(reason="consensus", rounds=4)]
    assert trace.events_of(VoteEvent)[0].tally == {"5": 6.0, "6": 2.0} and r.correct


def test_deepconf_online_threshold_filters_warmup_voters() -> None:
    fake = ScriptedBackend(list(WARM))
    trace, r = run(SPEC.replace("eta=100", "eta=50"), fake)
    (note,) = [e for e in trace.events_of(NoteEvent) if e.label == "deepconf"]
    assert note.data["threshold"] == 2.5 and note.data["voters"] == [0]  # the 2.0 warm-up trace does not vote
    assert trace.events_of(VoteEvent)[0].tally == {"5": 3.0} and r.correct  # alone, it is a consensus
    assert trace.events_of(StopEvent) == [StopEvent(reason="consensus", rounds=2)] and len(fake.calls) == 2


def test_deepconf_needs_top_logprobs_only() -> None:
    _, r = run(SPEC.replace("n=6", "n=2"), ScriptedBackend(list(WARM), capabilities=frozenset({"top_logprobs"})))
    assert r.status == "done"  # online too: no continuation needed
    with pytest.raises(CapabilityError, match="top_logprobs"):
        run("deepconf:mode=offline", ScriptedBackend([], capabilities=frozenset()))
    _, r = run("deepconf:mode=offline,n=1", ScriptedBackend([boxed("5")]))  # plain text: no top logprobs
    assert r.status == "failed" and "top logprobs" in r.error
    with pytest.raises(ValueError, match="warmup"):
        StrategySpec.model_validate({"name": "deepconf", "n": 2, "warmup": 4}).resolve()


# -- cot_decoding -----------------------------------------------------------------------------
def path(words: list[tuple[str, float, float]], finish: str = "stop") -> Completion:
    """Greedy continuation: each word with its top-1 and top-2 probabilities."""
    lps = [TokenLogprob(token=w, logprob=math.log(p1), top=[(w, math.log(p1)), ("x", math.log(p2))])
           for w, p1, p2 in words]
    return Completion(text="".join(w for w, *_ in words), completion_tokens=len(words), finish_reason=finish,
                      logprobs=lps)


class Branches:
    def __init__(self, firsts: list[str], paths: dict[str, Completion]) -> None:
        self.firsts, self.paths = firsts, paths

    def __call__(self, messages, params):  # type: ignore[no-untyped-def]
        if messages[-1].role == "assistant":
            return self.paths[messages[-1].content]
        assert params.max_tokens == 1 and params.temperature == 0.0
        top = [(t, -0.1 * (i + 1)) for i, t in enumerate(self.firsts)][: params.top_logprobs]
        return Completion(text=self.firsts[0], completion_tokens=1,
                          logprobs=[TokenLogprob(token=self.firsts[0], logprob=-0.1, top=top)])


BRANCHES = {
    "The": path([(" sum", 0.9, 0.05), (" is", 0.9, 0.05), (" \\boxed{6}", 0.55, 0.4)]),  # margin 0.15
    "2": path([(" + 3 = 5,", 0.5, 0.3), (" \\boxed{5}", 0.95, 0.01)]),  # margin 0.94
    "Five": path([(" \\boxed{6}", 0.55, 0.3)]),  # margin 0.25
    "I": path([(" don't know", 0.9, 0.05)]),  # no answer
}


def test_cot_decoding_keeps_the_path_with_the_largest_answer_margin() -> None:
    fake = ScriptedBackend(Branches(["The", "2", "Five", "I"], BRANCHES))
    trace, r = run("cot_decoding:k=4", fake)
    assert r.final_answer == "5" and r.correct and not r.used_gold
    assert fake.calls[0].params.top_logprobs == 4 and len(fake.calls) == 5
    assert all(c.params.temperature == 0.0 and c.params.top_logprobs == 2 for c in fake.calls[1:])
    ev = trace.events_of(ScoreEvent)[0]
    assert [None if m is None else round(m, 2) for m in ev.scores] == [0.15, 0.94, 0.25, None] and ev.chosen == 1
    assert [a.extracted for a in trace.answers_of(AnswerKind.SAMPLE)] == ["6", "5", "6", None]


def test_cot_decoding_sum_pools_margins_per_answer() -> None:
    low = path([(" \\boxed{5}", 0.5, 0.2)])  # margin 0.3 for answer 5, against 0.15 + 0.25 for 6
    trace, r = run("cot_decoding:k=3,select=sum", ScriptedBackend(Branches(["The", "2", "Five"], {**BRANCHES, "2": low})))
    assert r.final_answer == "6" and trace.events_of(VoteEvent)[0].method == "margin-sum"
    trace, r = run("cot_decoding:k=3", ScriptedBackend(Branches(["The", "2", "Five"], {**BRANCHES, "2": low})))
    assert r.final_answer == "5"  # max: the single most confident path


def test_cot_decoding_needs_top_logprobs_and_continue() -> None:
    with pytest.raises(CapabilityError):
        run("cot_decoding", ScriptedBackend([], capabilities=frozenset({"top_logprobs"})))
    _, r = run("cot_decoding", ScriptedBackend(["plain"]))
    assert r.status == "failed" and "first token" in r.error


def test_deepconf_traces_are_self_consistencys_samples_unless_not_shared() -> None:
    from mistakelab.store.db import cache_key

    sc = ScriptedBackend([boxed("5")] * 4)
    run("self_consistency:k=4", sc)
    for spec, n in (("deepconf:mode=offline,n=4", 4), ("deepconf:n=4,warmup=4", 4)):
        dc = ScriptedBackend([tokens([2.0] * 4, "5") for _ in range(n)])
        run(spec, dc)
        first = dc.calls[:n]
        # same seeds and cache keys as self-consistency's samples; statistics drawn with them
        assert all(c.params.logprobs and c.params.top_logprobs == 10 for c in first)
        assert ({cache_key("m", [], c.params) for c in first}
                == {cache_key("m", [], c.params) for c in sc.calls})
    own = ScriptedBackend([tokens([2.0] * 4, "5") for _ in range(4)])
    run("deepconf:mode=offline,n=4,shared=false", own)
    assert {c.params.seed for c in own.calls}.isdisjoint({c.params.seed for c in sc.calls})
