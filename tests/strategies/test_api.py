"""The strategy API, one behaviour per test: roles, continuation, scoring, steps, seeds,
grading after solving, typed traces, prompts with their strategy (issue 8, items 1-8)."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

import pytest
from pydantic import BaseModel

from mistakelab.backends import ScriptedBackend
from mistakelab.context import CallFailed, Conversation
from mistakelab.core import AnswerKind, DuplicateNameError, FirstErrorEvent, NoteEvent, Problem, VoteEvent
from mistakelab.runner import ConfigError, parse_config, run_experiment, solve
from mistakelab.store import RunStore
from mistakelab.strategies import StrategyContext, strategies, strategy
from mistakelab.tasks import create_task

from conftest import ToyAdd

PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


class NoParams(BaseModel):
    pass


@pytest.fixture
def register():
    """Register test strategies and remove them afterwards (names are unique per registry)."""
    added: list[str] = []

    def deco(name, params=NoParams, **kw):  # type: ignore[no-untyped-def]
        added.append(name)
        return strategy(name, params, **kw)

    yield deco
    for name in added:
        strategies.unregister(name)


def config(tmp_path: Path, strategies_: list, **extra):  # type: ignore[no-untyped-def]
    return parse_config({
        "store": str(tmp_path / "r.db"), "n_problems": 2,
        "models": [{"backend": "scripted", "model": "fake"}],
        "tasks": [{"name": "toy_add"}], "strategies": strategies_, **extra,
    })


# -- 1. roles -----------------------------------------------------------------------------
def test_a_role_model_gets_its_own_backend_cache_identity_and_token_account(tmp_path: Path) -> None:
    built: dict[str, ScriptedBackend] = {}

    def factory(spec):  # type: ignore[no-untyped-def]
        def reply(messages, params):  # type: ignore[no-untyped-def]
            return "VERDICT: CORRECT" if spec.model == "judge" else "so \\boxed{7}"
        return built.setdefault(spec.model, ScriptedBackend(reply, model_id=spec.model))

    cfg = config(tmp_path, [{"name": "self_refine", "rounds": 1, "critic": "judge"}])
    s = asyncio.run(run_experiment(cfg, backend_factory=factory))
    assert s.units_done == 2 and set(built) == {"fake", "judge"}
    assert len(built["judge"].calls) == 2 and len(built["fake"].calls) == 2
    rows = RunStore(cfg.store).units(s.run_id)
    r = rows[0].result
    assert r is not None and set(r.usage) == {"solver", "critic"}
    assert r.usage["critic"].calls == 1 and r.usage["critic"].tokens > 0
    trace = RunStore(cfg.store).trace(s.run_id, rows[0].unit_key)
    assert trace is not None and [c.model for c in trace.calls] == ["scripted:fake", "scripted:judge"]
    from mistakelab.metrics import summarize

    (row,) = summarize([u.result for u in rows if u.result])
    assert set(row.tokens_by_role) == {"solver", "critic"}


def test_roles_table_sets_a_default_critic_and_a_strategy_spec_overrides_it(tmp_path: Path) -> None:
    seen: list[str] = []

    def factory(spec):  # type: ignore[no-untyped-def]
        seen.append(spec.model)
        return ScriptedBackend(lambda m, p: "VERDICT: CORRECT \\boxed{7}", model_id=spec.model)

    cfg = config(tmp_path, [{"name": "self_refine", "rounds": 1},
                            {"name": "self_refine", "rounds": 1, "critic": "other", "label": "sr-other"}],
                 roles={"critic": "judge"})
    asyncio.run(run_experiment(cfg, backend_factory=factory))
    assert sorted(seen) == ["fake", "judge", "other"]


# -- 2. continuation and capabilities --------------------------------------------------------
def test_continue_sends_the_prefix_as_an_assistant_turn_and_records_only_the_continuation(register) -> None:
    @register("finish_it", needs={"solver": {"continue"}})
    async def finish_it(ctx, params):  # type: ignore[no-untyped-def]
        c = await ctx.continue_(ctx.question(), "2 + 3 = ")
        ctx.final(ctx.record_answer("2 + 3 = " + c.text))

    fake = ScriptedBackend(["5, so \\boxed{5}"])
    trace, r = asyncio.run(solve("finish_it", fake, PROBLEM, ToyAdd()))
    assert [m.role for m in fake.calls[0].messages] == ["user", "assistant"]
    assert fake.calls[0].messages[-1].content == "2 + 3 = "
    call = trace.calls[0]
    assert (call.kind, call.prefix, call.completion.text) == ("continue", "2 + 3 = ", "5, so \\boxed{5}")
    assert [m.role for m in call.messages] == ["user"] and r.correct


def test_a_missing_capability_stops_the_run_before_any_call(tmp_path: Path, register) -> None:
    @register("needs_continue", needs={"solver": {"continue"}})
    async def needs_continue(ctx, params):  # type: ignore[no-untyped-def]
        await ctx.continue_(ctx.question(), "x")

    cfg = parse_config({
        "store": str(tmp_path / "r.db"), "n_problems": 1,
        "models": [{"backend": "openai", "model": "m", "options": {"base_url": "http://127.0.0.1:9/v1"}}],
        "tasks": [{"name": "toy_add"}], "strategies": [{"name": "needs_continue"}],
    })
    with pytest.raises(ConfigError, match=r"needs_continue.*'continue'.*solver model 'm'"):
        asyncio.run(run_experiment(cfg))
    assert not (tmp_path / "r.db").exists(), "nothing was started"


def test_a_prefix_is_never_sent_as_a_new_turn() -> None:
    ctx = StrategyContext.standalone(ScriptedBackend(["x"]), PROBLEM, ToyAdd())
    with pytest.raises(ValueError, match="assistant turn"):
        asyncio.run(ctx.generate(ctx.question().assistant("half an answer")))
    no_continue = ScriptedBackend(["x"], capabilities=frozenset())
    ctx = StrategyContext.standalone(no_continue, PROBLEM, ToyAdd(), strategy="s")
    with pytest.raises(Exception, match="capability 'continue'"):
        asyncio.run(ctx.continue_(ctx.question(), "half"))
    assert no_continue.calls == []


# -- 3. scoring ------------------------------------------------------------------------------
def test_score_goes_through_the_cache_like_generation(tmp_path: Path, register) -> None:
    @register("judge_by_score", needs={"solver": {"score"}})
    async def judge_by_score(ctx, params):  # type: ignore[no-untyped-def]
        c = await ctx.score(ctx.question(), "the answer is \\boxed{7}")
        ctx.note(label="logprob", total=sum(t.logprob for t in c.logprobs or []))
        ctx.final(ctx.record_answer(c.text))

    fake = ScriptedBackend([], scorer=lambda messages, text: -3.0)
    cfg = config(tmp_path, [{"name": "judge_by_score"}])
    # a scripted spec declares scoring when it has scores (what the real scripted backend does)
    cfg.models[0].options["scores"] = [0.0]
    asyncio.run(run_experiment(cfg, backend_factory=lambda spec: fake))
    assert len(fake.score_calls) == 2  # two problems, two different prompts
    again = ScriptedBackend([], scorer=lambda messages, text: -9.0)
    cfg2 = config(tmp_path, [{"name": "judge_by_score"}], name="again")
    cfg2.models[0].options["scores"] = [0.0]
    s = asyncio.run(run_experiment(cfg2, backend_factory=lambda spec: again))
    assert again.score_calls == [] and s.calls_cached == 2
    trace = RunStore(cfg.store).trace(s.run_id, RunStore(cfg.store).units(s.run_id)[0].unit_key)
    assert trace is not None and trace.calls[0].kind == "score"
    (note,) = trace.events_of(NoteEvent)
    assert note.data["total"] == pytest.approx(-3.0)


# -- 4. steps and the first error -------------------------------------------------------------
def test_first_error_runs_a_locator_and_exact_marks_the_result_oracle() -> None:
    task = create_task("igsm", {"min_ops": 2, "max_ops": 3})
    p = task.load(1, 0)[0]
    wrong = task.inject_error(p, 1, seed=0)
    ctx = StrategyContext.standalone(ScriptedBackend([]), p, task)
    found = asyncio.run(ctx.first_error(wrong.text, locator="exact"))
    assert found.step is not None and found.found and ctx.trace.used_gold
    assert found.prefix == wrong.text[: found.steps[found.step].start]
    (ev,) = ctx.trace.events_of(FirstErrorEvent)
    assert (ev.locator, ev.step, ev.oracle) == ("exact", found.step, True)

    plain = StrategyContext.standalone(ScriptedBackend([]), PROBLEM, ToyAdd())
    found = asyncio.run(plain.first_error("2 + 3 = 6\n\nSo \\boxed{6}.", locator="arithmetic"))
    assert found.step == 0 and not plain.trace.used_gold
    assert [s.text for s in plain.steps("a\n\nb")] == ["a", "b"]


# -- 5. seeds do not depend on timing ------------------------------------------------------------
def test_concurrent_calls_in_random_order_get_the_same_cache_keys(tmp_path: Path, register) -> None:
    @register("branchy")
    async def branchy(ctx, params):  # type: ignore[no-untyped-def]
        order = list(range(6))
        random.shuffle(order)  # issue the calls in a different order every run

        async def branch(i: int):  # type: ignore[no-untyped-def]
            await asyncio.sleep(random.random() / 100)
            return await ctx.generate(ctx.question().assistant(f"draft {i}").user("again"), purpose="branch",
                                      index=i, temperature=0.9)

        outs = await asyncio.gather(*(branch(i) for i in order))
        ctx.final(ctx.record_answer(outs[0]))

    keys = []
    for run in range(2):
        store = tmp_path / f"{run}.db"
        cfg = parse_config({"store": str(store), "n_problems": 1, "models": [{"backend": "scripted", "model": "f"}],
                            "tasks": [{"name": "toy_add"}], "strategies": [{"name": "branchy"}]})
        asyncio.run(run_experiment(cfg, backend_factory=lambda spec: ScriptedBackend(lambda m, p: "\\boxed{1}")))
        db = sqlite3.connect(store)
        keys.append(sorted(r[0] for r in db.execute("SELECT cache_key FROM calls")))
        db.close()
    assert keys[0] == keys[1] and len(set(keys[0])) == 6


# -- 6. grading after solving ------------------------------------------------------------------------
def test_answers_are_graded_by_the_runner_after_the_strategy_returns(tmp_path: Path, register) -> None:
    seen_verdicts: list[object] = []

    @register("peek")
    async def peek(ctx, params):  # type: ignore[no-untyped-def]
        c = await ctx.generate(ctx.question())
        ctx.record_answer(c)
        seen_verdicts.append(ctx.trace.answers[-1].verdict)
        ctx.final(ctx.trace.answers[-1].extracted)

    cfg = config(tmp_path, [{"name": "peek"}])
    s = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: ScriptedBackend(lambda m, p: "\\boxed{2}")))
    assert seen_verdicts == [None, None]
    st = RunStore(cfg.store)
    traces = [st.trace(s.run_id, u.unit_key) for u in st.units(s.run_id)]
    assert all(t is not None and t.graded for t in traces)
    assert [u.result.correct for u in st.units(s.run_id) if u.result] == [False, True]  # 0+1 != 2, 1+1 == 2


def test_without_gold_the_oracle_door_is_closed() -> None:
    from mistakelab.context import OracleUnavailable
    from mistakelab.core import Trace

    ctx = StrategyContext(PROBLEM, ToyAdd(), ScriptedBackend([]), Trace(strategy="s", problem_id="p", model="m"),
                          gold=False)
    with pytest.raises(OracleUnavailable):
        ctx.oracle_check("\\boxed{5}")


def test_a_failed_call_raises_and_is_never_an_answer() -> None:
    ctx = StrategyContext.standalone(ScriptedBackend([ConnectionError("down")]), PROBLEM, ToyAdd())
    with pytest.raises(CallFailed, match="down"):
        asyncio.run(ctx.generate(ctx.question()))
    assert ctx.trace.answers == [] and ctx.trace.calls[0].completion.error


# -- 7. typed traces ---------------------------------------------------------------------------
def test_pass_at_k_and_transitions_follow_answer_kinds_not_labels(register) -> None:
    @register("odd_labels")
    async def odd_labels(ctx, params):  # type: ignore[no-untyped-def]
        outs = await ctx.sample(ctx.question(), 3, purpose="draw")
        answers = [ctx.record_answer(c, AnswerKind.SAMPLE, label=f"final-looking-{i}") for i, c in enumerate(outs)]
        ctx.emit(VoteEvent(winner=answers[0], votes=1, k=3))
        ctx.final(answers[0], method="first")

    trace, r = asyncio.run(solve("odd_labels", ScriptedBackend(["\\boxed{4}", "\\boxed{5}", "\\boxed{6}"]),
                                 PROBLEM, ToyAdd()))
    assert r.pass_at_k is True and r.final_answer == "4" and not r.correct and r.first_correct is False
    stored = type(trace).model_validate_json(trace.model_dump_json())
    assert stored.events_of(VoteEvent)[0].k == 3


def test_traces_stored_before_typed_answers_still_load() -> None:
    from mistakelab.core import Trace

    old = {"strategy": "sc", "problem_id": "p", "model": "m", "calls": [],
           "answers": [{"stage": "sample", "text_ref": 0, "verdict": {"extracted": "4", "method": "boxed",
                                                                      "correct": True}},
                       {"stage": "final", "verdict": {"extracted": "4", "method": "majority", "correct": True}}],
           "events": [{"kind": "vote", "winner": "4", "votes": 1, "k": 1}, {"kind": "stop", "rounds_used": 2}]}
    t = Trace.model_validate(old)
    assert [a.kind for a in t.answers] == [AnswerKind.SAMPLE, AnswerKind.FINAL] and t.answers[0].call == 0
    assert isinstance(t.events[0], VoteEvent)
    assert isinstance(t.events[1], NoteEvent) and t.events[1].data == {"rounds_used": 2}


# -- 8. prompts with their strategy ------------------------------------------------------------------
def test_a_config_overrides_a_strategy_prompt_by_name_and_a_typo_is_an_error(tmp_path: Path) -> None:
    fake = ScriptedBackend(lambda m, p: "VERDICT: CORRECT" if "CHECK IT" in m[-1].content else "\\boxed{1}")
    cfg = config(tmp_path, [{"name": "self_refine", "rounds": 1}], prompts={"self_refine.critique": "CHECK IT"})
    asyncio.run(run_experiment(cfg, backend_factory=lambda spec: fake))
    assert sum(c.messages[-1].content == "CHECK IT" for c in fake.calls) == 2
    bad = config(tmp_path, [{"name": "self_refine"}], prompts={"self_refine.critque": "x"})
    with pytest.raises(ConfigError, match=r"prompts\.self_refine\.critque.*self_refine\.critique"):
        asyncio.run(run_experiment(bad, backend_factory=lambda spec: fake))


def test_conversation_builds_histories_without_mutating_earlier_ones() -> None:
    q = Conversation().user("q")
    a = q.assistant("a")
    assert [m.role for m in q] == ["user"] and [m.role for m in a.user("f")] == ["user", "assistant", "user"]


# -- registries ---------------------------------------------------------------------------------------
def test_registering_a_name_twice_is_an_error() -> None:
    with pytest.raises(DuplicateNameError, match="strategy 'cot' is already registered"):
        @strategy("cot", NoParams)
        async def cot_again(ctx, params):  # type: ignore[no-untyped-def]
            pass
