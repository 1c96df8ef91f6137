"""Scorers on the scripted backend: hand-computed scores, aggregation, the contract of every scorer."""

from __future__ import annotations

import asyncio
import math

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.backends.base import CAPABILITIES
from mistakelab.context import CallContext
from mistakelab.core import Completion, Message, Problem, TokenLogprob
from mistakelab.scorers import StepScores, aggregate, build_scorer, scorers
from mistakelab.tasks import create_task

from conftest import ToyAdd

PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")
SOLUTION = "2 + 3 = 5\n\nSo we have 5 apples.\n\nThe answer is \\boxed{5}."


def judge(p_yes: float | None) -> Completion:
    """A judge's one-token reply with Yes/No alternatives (None: neither is among them)."""
    if p_yes is None:
        return Completion(text="Maybe", logprobs=[TokenLogprob(token="Maybe", logprob=-0.1, top=[("Maybe", -0.1)])])
    top = [("Yes", math.log(p_yes)), (" no", math.log(1 - p_yes)), ("The", math.log(1e-3))]
    return Completion(text="Yes", logprobs=[TokenLogprob(token="Yes", logprob=top[0][1], top=top)])


def ctx_for(backend, task=None, problem=PROBLEM, roles=None) -> CallContext:  # type: ignore[no-untyped-def]
    return CallContext.standalone(backend, problem, task or ToyAdd(), roles=roles)


def score(spec, ctx, text=SOLUTION, **kw) -> StepScores:  # type: ignore[no-untyped-def]
    return asyncio.run(build_scorer(spec).score(ctx, text, **kw))


@pytest.mark.parametrize("how, expected", [("min", 0.25), ("prod", 0.9 * 0.25 * 0.8), ("last", 0.8),
                                           ("mean", (0.9 + 0.25 + 0.8) / 3), ("flags", -1.0)])
def test_aggregations_by_hand(how, expected) -> None:  # type: ignore[no-untyped-def]
    assert aggregate([0.9, None, 0.25, 0.8], how) == pytest.approx(expected)


def test_aggregation_edge_cases() -> None:
    assert aggregate([], "flags") == 0.0 and aggregate([None], "last") is None
    assert aggregate([0.2, 0.7, None], "last") == 0.7  # the last *scored* step
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate([1.0], "median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prod needs probabilities"):
        build_scorer("self_certainty_step:agg=prod")
    with pytest.raises(ValueError, match="scorer 'critic_step'.*agg"):
        build_scorer("critic_step:agg=nope")
    with pytest.raises(KeyError, match="unknown scorer 'nope'"):
        build_scorer("nope")


def test_critic_step_p_yes_per_step_and_prompt_prefixes() -> None:
    fake = ScriptedBackend([judge(0.9), judge(0.2), judge(None)])
    s = score("critic_step:agg=prod", ctx_for(fake))
    assert [round(x, 6) if x is not None else None for x in s.scores] == [0.9, 0.2, None]
    assert s.aggregate == pytest.approx(0.18) and "1 step(s) without Yes/No" in s.note
    prompts = [c.messages[0].content for c in fake.calls]
    assert "[Step to check]\n2 + 3 = 5" in prompts[0] and "(nothing yet)" in prompts[0]
    assert "[Solution so far]\n2 + 3 = 5\n\nSo we have 5 apples.\n\n[Step to check]\nThe answer" in prompts[2]
    assert all(c.params.max_tokens == 1 and c.params.temperature == 0 and c.params.top_logprobs == 20
               for c in fake.calls)


def test_critic_step_only_scores_the_asked_steps_with_the_critic_role() -> None:
    solver, critic = ScriptedBackend([]), ScriptedBackend([judge(0.6)], model_id="critic")
    ctx = ctx_for(solver, roles={"critic": critic})
    s = score("critic_step:agg=last", ctx, only=[2])
    assert s.scores[:2] == [None, None] and s.aggregate == pytest.approx(0.6)
    assert len(critic.calls) == 1 and not solver.calls and ctx.trace.calls[0].role == "critic"


def test_critic_verdict_outcome() -> None:
    fake = ScriptedBackend([judge(0.75)])
    s = score("critic_verdict", ctx_for(fake))
    assert s.scores == [] and s.steps == [] and s.aggregate == pytest.approx(0.75)
    assert "Is the final answer of this solution correct?" in fake.calls[0].messages[0].content


def kl_scorer(values):  # type: ignore[no-untyped-def]
    """A scripted `score` that gives one token per word with these KL values and logprob -v/10."""
    def fn(messages, text):  # type: ignore[no-untyped-def]
        words = text.split(" ")
        toks = [w if i == 0 else " " + w for i, w in enumerate(words)]
        return Completion(text=text, logprobs=[TokenLogprob(token=t, logprob=-v / 10, kl_from_uniform=v)
                                               for t, v in zip(toks, values)])
    return fn


def test_self_certainty_from_a_score_call_when_no_completion() -> None:
    text = "a b\n\nc d"  # tokens "a", " b\n\nc", " d": the middle one starts in step 0
    fake = ScriptedBackend([], scorer=kl_scorer([1.0, 3.0, 8.0]))
    s = score("self_certainty_step", ctx_for(fake), text)
    assert s.scores == [2.0, 8.0] and s.aggregate == 5.0 and s.note == "score"
    (msgs, scored) = fake.score_calls[0]
    assert scored == text and msgs == [Message(role="user", content=ToyAdd().prompt(PROBLEM)[0].content)]
    assert score("self_certainty", ctx_for(ScriptedBackend([], scorer=kl_scorer([1.0, 3.0, 8.0]))),
                 text).aggregate == pytest.approx(4.0)
    assert score("mean_logprob", ctx_for(ScriptedBackend([], scorer=[-3.0])), "x y z").aggregate == -1.0


def test_self_certainty_of_a_continuation_reads_its_own_tokens() -> None:
    prefix, tail = "2 + 3 = 5\n\n", "So \\boxed{5}."
    cont = Completion(text=tail, logprobs=[TokenLogprob(token="So", logprob=-1, kl_from_uniform=4.0),
                                           TokenLogprob(token=" \\boxed{5}.", logprob=-1, kl_from_uniform=6.0)])
    fake = ScriptedBackend([], scorer=kl_scorer([100.0] * 10))
    s = score("self_certainty_step:agg=last", ctx_for(fake), prefix + tail, completion=cont, only=[1])
    assert s.scores == [None, 5.0] and not fake.score_calls  # no extra call for the newest step
    s = score("self_certainty_step", ctx_for(fake), prefix + tail, completion=cont)
    assert s.scores == [100.0, 100.0] and len(fake.score_calls) == 1  # step 0 needs the score call


def test_self_certainty_is_unavailable_without_the_full_distribution() -> None:
    fake = ScriptedBackend([], scorer=[-2.0])  # logprobs only, no KL
    s = score("self_certainty_step", ctx_for(fake), "a\n\nb")
    assert s.scores == [None, None] and s.aggregate is None and "no kl_from_uniform" in s.note


def test_arithmetic_step_flags_by_hand() -> None:
    s = score("arithmetic_step", ctx_for(ScriptedBackend([])), "12 * 7 = 94\n\n94 + 6 = 100\n\n3 * 3 = 10")
    assert s.scores == [0.0, 1.0, 0.0] and s.aggregate == -2.0
    assert score("arithmetic_step:agg=min", ctx_for(ScriptedBackend([])), "1 + 1 = 2").aggregate == 1.0


def test_exact_step_on_igsm_marks_the_injected_step_and_uses_gold() -> None:
    task = create_task("igsm", {"min_ops": 3, "max_ops": 4})
    problem = task.load(1, 0)[0]
    bad = task.inject_error(problem, 1)
    ctx = ctx_for(ScriptedBackend([]), task, problem)
    s = score("exact_step", ctx, bad.text)
    assert ctx.trace.used_gold
    wrong = [i for i, v in enumerate(s.scores) if v == 0.0]
    steps = [st.text for st in s.steps]
    assert wrong and bad.steps[bad.first_error] in steps[wrong[0]] and s.aggregate == 0.0
    good = score("exact_step", ctx_for(ScriptedBackend([]), task, problem), task.gold_solution(problem))
    assert good.aggregate == 1.0 and 0.0 not in good.scores
    plain = score("exact_step", ctx_for(ScriptedBackend([])), SOLUTION)  # toy task: no step verifier
    assert plain.aggregate is None and "no step verifier" in plain.note


def test_exact_outcome() -> None:
    ctx = ctx_for(ScriptedBackend([]))
    assert score("exact", ctx, "\\boxed{6}").aggregate == 0.0 and ctx.trace.used_gold
    assert score("exact", ctx, "\\boxed{5}").aggregate == 1.0


# -- the contract of every registered scorer ------------------------------------------------
def universal_backend() -> ScriptedBackend:
    return ScriptedBackend(lambda messages, params: judge(0.7), scorer=kl_scorer([float(i) for i in range(1, 60)]))


# prm needs a model directory: tests/scorers/test_prm.py checks it on a model it builds
@pytest.mark.parametrize("name", [n for n in scorers.names() if n != "prm"])
def test_scorer_contract(name: str) -> None:
    cls = scorers.get(name)
    scorer = build_scorer(name)
    assert scorer.name == name and cls.kind in ("step", "outcome") and (cls.__doc__ or cls.__module__)
    for role, caps in scorer.needs().items():
        assert role in ("solver", "critic") and caps <= CAPABILITIES
    ctx = ctx_for(universal_backend())
    s = asyncio.run(scorer.score(ctx, SOLUTION))
    assert s.scorer == name and ctx.trace.used_gold == scorer.oracle
    if cls.kind == "outcome":
        assert s.scores == [] and s.steps == []
    else:
        assert len(s.scores) == len(s.steps) == 3
        only = asyncio.run(scorer.score(ctx_for(universal_backend()), SOLUTION, only=[1]))
        assert only.scores[0] is None and only.scores[2] is None
    assert s.aggregate is None or isinstance(s.aggregate, float)
    if scorer.probability:
        assert all(0.0 <= v <= 1.0 for v in s.scores if v is not None)
    back = StepScores.model_validate_json(s.model_dump_json())
    assert back == s


def test_scorer_registry_refuses_a_second_registration() -> None:
    from mistakelab.core.registry import DuplicateNameError

    with pytest.raises(DuplicateNameError):
        scorers.register("critic_step", object)
