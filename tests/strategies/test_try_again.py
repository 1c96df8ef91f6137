"""``try_again`` on the scripted backend: stop rules, the oracle flag, turns."""

from __future__ import annotations

from mistakelab.core import StopEvent
from mistakelab.strategies import strategies

from retry_helpers import run


def test_try_again_stops_at_the_first_correct_answer() -> None:
    trace, fake, r = run("try_again:turns=5", ["\\boxed{6}", "\\boxed{7}", "\\boxed{5}", "\\boxed{9}"])
    assert len(fake.calls) == 3 and r.correct and r.attempts == [False, False, True]
    assert r.used_gold and trace.used_gold
    third = fake.calls[2].messages
    assert [m.role for m in third] == ["user", "assistant", "user", "assistant", "user"]
    assert third[1].content == "\\boxed{6}" and third[3].content == "\\boxed{7}"
    assert third[2].content.startswith("Your answer is incorrect") and "\\boxed{}" in third[2].content
    assert trace.events_of(StopEvent) == [StopEvent(reason="correct", rounds=3)]


def test_try_again_gives_up_after_t_turns_with_the_last_answer() -> None:
    trace, fake, r = run("try_again:turns=2", ["\\boxed{6}", "\\boxed{6}"])
    assert len(fake.calls) == 2 and not r.correct and r.final_answer == "6"
    assert trace.events_of(StopEvent)[0].reason == "turns used up"


def test_try_again_is_oracle_even_when_right_first_time_and_prompt_overridable() -> None:
    assert strategies.get("try_again").is_oracle(strategies.get("try_again").params())
    _, fake, r = run("try_again", ["\\boxed{6}", "\\boxed{5}"], prompts={"retry": "Nope. Again."})
    assert r.used_gold and fake.calls[1].messages[-1].content == "Nope. Again."
