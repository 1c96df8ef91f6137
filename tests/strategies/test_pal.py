"""pal on the scripted backend, with real sandboxed runs: self-debugging, the ways small models
write programs, votes with chain-of-thought samples, and programs never running in-process."""

from __future__ import annotations

import asyncio
import os

from mistakelab.backends import ScriptedBackend
from mistakelab.core import AnswerKind, Problem, StopEvent, VoteEvent
from mistakelab.core.events import ProgramEvent
from mistakelab.runner import solve

from conftest import ToyAdd

PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")
FENCE = "```python\n{}\n```"


def run(spec, outputs):  # type: ignore[no-untyped-def]
    fake = ScriptedBackend(outputs)
    trace, r = asyncio.run(solve(spec, fake, PROBLEM, ToyAdd()))
    return trace, r, fake


def test_an_exception_goes_back_to_the_model_and_the_fix_is_run() -> None:
    broken = FENCE.format("total = 2 + three\nprint(total)")
    trace, r, fake = run("pal", [broken, FENCE.format("def solve():\n    return 2 + 3")])
    assert r.correct and r.attempts == [False, True]
    fix = fake.calls[1].messages
    assert [m.role for m in fix] == ["user", "assistant", "user"] and fix[1].content == broken
    assert "NameError: name 'three' is not defined" in fix[2].content
    first, second = trace.events_of(ProgramEvent)
    assert (first.status, first.answer, second.status, second.answer) == ("error", None, "ok", "5")
    assert "What is 2 + 3?" in fake.calls[0].messages[0].content and "```python" in fake.calls[0].messages[0].content


def test_small_model_styles_a_named_function_that_only_returns() -> None:
    trace, r, _ = run("pal", ["Here is my code:\n\ndef compute_sum():\n    a = 2\n    b = 3\n    return a + b\n"])
    assert r.final_answer == "5" and r.correct
    assert trace.events_of(ProgramEvent)[0].found in ("plain", "embedded")


def test_no_program_and_no_answer_use_up_the_rounds() -> None:
    trace, r, fake = run("pal:rounds=2", ["The answer is five.", FENCE.format("print()"), "I give up."])
    assert r.final_answer is None and not r.correct and r.attempts == [False, False, False]
    assert [e.status for e in trace.events_of(ProgramEvent)] == ["no_program", "ok", "no_program"]
    assert "could not find a Python program" in fake.calls[1].messages[-1].content
    assert "no answer was printed" in fake.calls[2].messages[-1].content
    assert trace.events_of(StopEvent)[0].reason == "0 of 1 program(s) answered"


def test_a_timeout_is_reported_to_the_model() -> None:
    trace, r, fake = run("pal:rounds=1,cpu_seconds=1,wall_seconds=3",
                         [FENCE.format("while True:\n    pass"), FENCE.format("print(5)")])
    assert trace.events_of(ProgramEvent)[0].status == "timeout" and r.correct
    assert "time" in fake.calls[1].messages[-1].content.lower()


def test_k_programs_and_cot_samples_vote() -> None:
    outs = [FENCE.format("print(5)"), FENCE.format("print(4)"), FENCE.format("print(5.0)"),
            "so \\boxed{4}", "so \\boxed{4}"]
    trace, r, fake = run("pal:k=3,cot=2", outs)
    (vote,) = trace.events_of(VoteEvent)
    assert vote.tally == {"5": 2.0, "4": 3.0} and r.final_answer == "4"
    assert len(trace.answers_of(AnswerKind.SAMPLE)) == 2 and all(c.params.temperature == 0.7 for c in fake.calls)


def test_program_text_never_runs_in_this_process() -> None:
    os.environ.pop("PAL_CANARY", None)
    program = FENCE.format("import os\nos.environ['PAL_CANARY'] = '1'\nprint(os.getpid())")
    trace, r, _ = run("pal", [program])
    pid = trace.events_of(ProgramEvent)[0].answer
    assert pid is not None and pid != str(os.getpid()) and "PAL_CANARY" not in os.environ
