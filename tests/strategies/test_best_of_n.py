"""``best_of_n`` on the scripted backend: every scorer, the choice rules, shared samples."""

from __future__ import annotations

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.backends.base import CAPABILITIES
from mistakelab.core import AnswerKind, Completion, TokenLogprob, VoteEvent
from mistakelab.core.events import ScoreEvent
from mistakelab.store.db import cache_key
from mistakelab.strategies import StrategySpec

from fix_helpers import judge, run


def full(outputs) -> ScriptedBackend:  # type: ignore[no-untyped-def]
    """A scripted model that declares the full next-token distribution (as the local one does)."""
    return ScriptedBackend(outputs, capabilities=CAPABILITIES)


def with_kl(text: str, kl: float) -> Completion:
    """A sampled completion whose every token has self-certainty ``kl``."""
    words = text.split(" ")
    return Completion(text=text, completion_tokens=len(words),
                      logprobs=[TokenLogprob(token=(" " if i else "") + w, logprob=-1.0, kl_from_uniform=kl)
                                for i, w in enumerate(words)])


def test_best_of_n_self_certainty_picks_the_surest_parsing_sample() -> None:
    outs = [with_kl("so \\boxed{4}", 3.0), with_kl("no answer here", 9.0), with_kl("so \\boxed{5}", 7.0),
            with_kl("so \\boxed{6}", 7.0)]
    fake = full(outs)
    trace, r = run("best_of_n:n=4,shared=false", fake)
    assert r.final_answer == "5" and r.correct  # 9.0 does not parse; 7.0 tie goes to the earlier sample
    assert all(c.params.logprobs and c.params.temperature == 0.7 for c in fake.calls)
    (ev,) = trace.events_of(ScoreEvent)
    assert ev.scores == [3.0, None, 7.0, 7.0] and ev.chosen == 2 and ev.scorer == "self_certainty"
    assert [a.kind for a in trace.answers] == [AnswerKind.SAMPLE] * 4 + [AnswerKind.FINAL]
    assert r.pass_at_k and not r.used_gold


def test_best_of_n_shares_self_consistency_samples() -> None:
    sc = ScriptedBackend(["\\boxed{5}"] * 4)
    run("self_consistency:k=4", sc)
    bon = full([with_kl("\\boxed{5}", 1.0)] * 3)
    run("best_of_n:n=3", bon)
    # same seeds, same request and cache key; the token statistics are drawn with the samples
    assert [c.params.with_(logprobs=False) for c in bon.calls] == [c.params for c in sc.calls][:3]
    assert all(c.params.logprobs for c in bon.calls) and len(bon.calls) == 3  # no score calls
    assert ({cache_key("m", [], c.params) for c in bon.calls}
            == {cache_key("m", [], c.params) for c in sc.calls[:3]})
    own = full([with_kl("\\boxed{5}", 1.0)] * 3)
    run("best_of_n:n=3,shared=false", own)
    assert {c.params.seed for c in own.calls}.isdisjoint({c.params.seed for c in sc.calls})


def test_best_of_n_borda_pools_rank_weights() -> None:
    # ranks by KL: 9 (4), 8 (3), 2 (2), 1 (1); p=1: answer 4 gets 4, answer 5 gets 3+2+1 = 6
    outs = [with_kl("\\boxed{4}", 9.0), with_kl("\\boxed{5}", 8.0), with_kl("\\boxed{5}", 2.0),
            with_kl("\\boxed{5}", 1.0)]
    trace, r = run("best_of_n:n=4,select=borda,p=1.0", full(outs))
    assert r.final_answer == "5"
    (vote,) = trace.events_of(VoteEvent)
    assert vote.tally == {"4": 4.0, "5": 6.0} and vote.method == "borda(p=1.0)"
    # a high power lets the top-ranked sample win alone: 4**3 = 64 > 27 + 8 + 1
    _, r = run("best_of_n:n=4,select=borda,p=3.0", full(outs))
    assert r.final_answer == "4"


def test_best_of_n_critic_verdict_uses_the_critic_role() -> None:
    solver = ScriptedBackend(["\\boxed{4}", "\\boxed{5}"])
    critic = ScriptedBackend([judge(0.3), judge(0.8)], model_id="critic")
    trace, r = run({"name": "best_of_n", "n": 2, "scorer": "critic_verdict", "critic": "critic"}, solver,
                   roles={"critic": critic})
    assert r.final_answer == "5" and len(critic.calls) == 2 and r.usage["critic"].calls == 2
    assert not any(c.params.logprobs for c in solver.calls)  # no generation statistics needed


def test_best_of_n_arithmetic_fewest_flags_and_exact_is_oracle() -> None:
    outs = ["2 + 3 = 6\n\n6 + 0 = 7\n\n\\boxed{7}", "2 + 3 = 5\n\n5 + 1 = 7\n\n\\boxed{7}", "2 + 3 = 5\n\n\\boxed{5}"]
    _, r = run("best_of_n:n=3,scorer=arithmetic_step", ScriptedBackend(outs))
    assert r.final_answer == "5" and not r.used_gold  # 0 flags beats 1 and 2
    _, r = run("best_of_n:n=3,scorer=exact", ScriptedBackend(["\\boxed{4}", "\\boxed{5}", "\\boxed{6}"]))
    assert r.final_answer == "5" and r.used_gold
    assert StrategySpec.model_validate({"name": "best_of_n", "scorer": "exact"}).definition().is_oracle(
        StrategySpec.model_validate({"name": "best_of_n", "scorer": "exact"}).resolve()[1])


def test_best_of_n_no_parsing_answer_and_unscored_samples() -> None:
    _, r = run("best_of_n:n=2", full([with_kl("hmm", 5.0), with_kl("what", 6.0)]))
    assert r.final_answer is None and not r.correct
    # no statistics at all: every score unavailable, the earliest parsing sample wins
    _, r = run("best_of_n:n=3,scorer=critic_verdict",
               ScriptedBackend(["\\boxed{4}", "\\boxed{5}", "x", "no logprobs", "here either"]))
    assert r.final_answer == "4"


def test_best_of_n_bad_scorer_fails_when_planned() -> None:
    with pytest.raises(ValueError, match="scorer.*unknown scorer 'nope'|unknown scorer 'nope'"):
        StrategySpec.model_validate({"name": "best_of_n", "scorer": "nope"}).resolve()
