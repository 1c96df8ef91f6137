"""Reading requests: the model-name grammar, strategy selection, every 400, the final text."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from mistakelab.core.trace import AnswerKind, AnswerRecord, CallRecord, Trace
from mistakelab.core.types import Completion, GenParams
from mistakelab.serve import ApiError, errors
from mistakelab.serve import final_text, parse_request, parse_selection, split_model
from mistakelab.strategies import strategies, strategy

SERVED = ["qwen2.5-coder-0.5b"]
NAMES = {"cot", "self_consistency", "self_refine", "none"}


def body(**kw) -> bytes:
    data = {"model": "qwen2.5-coder-0.5b", "messages": [{"role": "user", "content": "2+2?"}], **kw}
    return json.dumps(data).encode()


def parse(raw: bytes, default: str = "cot"):
    return parse_request(raw, SERVED, default, 512)


def refused(raw: bytes, default: str = "cot") -> ApiError:
    with pytest.raises(ApiError) as info:
        parse(raw, default)
    assert info.value.status == 400
    return info.value


@pytest.mark.parametrize("model,expected", [
    ("qwen2.5-coder-0.5b", (None, "qwen2.5-coder-0.5b")),
    ("self_consistency-k8/qwen2.5-coder-0.5b", ("self_consistency-k8", "qwen2.5-coder-0.5b")),
    ("self_consistency:k=8,temperature=0.5/qwen2.5-coder-0.5b", ("self_consistency:k=8,temperature=0.5",
                                                                 "qwen2.5-coder-0.5b")),
    ("cot-qwen2.5-coder-0.5b", ("cot", "qwen2.5-coder-0.5b")),  # optillm's approach-model form
    ("typo/qwen2.5-coder-0.5b", ("typo", "qwen2.5-coder-0.5b")),  # a served model: the prefix must be a strategy
    ("Qwen/Qwen2.5-7B", (None, "Qwen/Qwen2.5-7B")),  # an upstream's org/model name is left alone
    ("none/Qwen/Qwen2.5-7B", ("none", "Qwen/Qwen2.5-7B")),
    ("cot-gpt-4o", ("cot", "gpt-4o")),
])
def test_model_name_grammar(model, expected) -> None:
    assert split_model(model, SERVED, NAMES) == expected


def test_selection_parameters() -> None:
    assert parse_selection("self_consistency-k8-temperature0.5") == {"name": "self_consistency", "k": 8,
                                                                      "temperature": 0.5}
    assert parse_selection("self_refine-rounds=3") == {"name": "self_refine", "rounds": 3}
    with pytest.raises(ValueError, match="-<parameter><value>"):
        parse_selection("self_consistency-8")


def test_strategy_from_prefix_body_or_default() -> None:
    req = parse(body(model="self_consistency-k3/qwen2.5-coder-0.5b"))
    assert (req.strategy, req.params.k, req.label) == ("self_consistency", 3, "self_consistency(k=3)")
    req = parse(body(mistakelab={"strategy": "self_refine", "params": {"rounds": 1}}))
    assert (req.strategy, req.params.rounds) == ("self_refine", 1)
    req = parse(body(model="self_consistency-k3/qwen2.5-coder-0.5b", mistakelab={"params": {"k": 5}}))
    assert req.params.k == 5  # body parameters override the prefix's
    assert parse(body(optillm_approach="self_consistency")).strategy == "self_consistency"
    assert parse(body(), default="self_consistency:k=2").params.k == 2
    assert parse(body(), default="none").strategy == "none"


def test_sampling_fields_become_gen_params() -> None:
    req = parse(body(temperature=0.3, top_p=0.9, max_completion_tokens=40, stop="\n\n", seed=11, n=3))
    assert req.gen == GenParams(temperature=0.3, top_p=0.9, max_tokens=40, stop=("\n\n",))
    assert (req.seed, req.n) == (11, 3)
    assert parse(body()).gen.max_tokens == 512  # the server's default


def test_text_parts_and_developer_role() -> None:
    req = parse(body(messages=[{"role": "developer", "content": "Be brief."},
                               {"role": "user", "content": [{"type": "text", "text": "2+"}, {"type": "text",
                                                                                              "text": "2?"}]}]))
    assert [(m.role, m.content) for m in req.messages] == [("system", "Be brief."), ("user", "2+\n2?")]
    assert req.question == "2+\n2?"


@pytest.mark.parametrize("raw,param,needle", [
    (b"{not json", None, "not valid JSON"),
    (b"[1, 2]", None, "JSON object"),
    (json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode(), "model", "'model'"),
    (json.dumps({"model": "qwen2.5-coder-0.5b"}).encode(), "messages", "'messages'"),
    (body(messages=[]), "messages", "non-empty"),
    (body(model="nonsense/qwen2.5-coder-0.5b"), "model", "unknown strategy 'nonsense'"),
    (body(mistakelab={"strategy": "nope"}), "model", "unknown strategy 'nope'"),
    (body(model="self_consistency-k0/qwen2.5-coder-0.5b"), "mistakelab.params", "k"),
    (body(mistakelab={"strategy": "cot", "params": {"bogus": 1}}), "mistakelab.params", "bogus"),
    (body(model="cot/qwen2.5-coder-0.5b", mistakelab={"strategy": "self_refine"}), "mistakelab.strategy", "name one"),
    (body(mistakelab="cot"), "mistakelab", "must be an object"),
    (body(tools=[{"type": "function", "function": {"name": "f"}}]), "tools", "strategy 'none'"),
    (body(messages=[{"role": "tool", "content": "42", "tool_call_id": "x"}]), "messages[0]", "role 'tool'"),
    (body(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]),
     "messages[0]", "must be text"),
    (body(messages=[{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]), "messages[1]",
     "assistant turn"),
    (body(n=0), "n", "from 1 to 16"),
    (body(temperature="hot"), "temperature", "temperature"),
    (body(seed=1.5), "seed", "integer"),
    (body(stream="yes"), "stream", "true or false"),
    (body(mistakelab={"strategy": "none", "params": {"k": 1}}), "mistakelab.params", "no parameters"),
])
def test_bad_requests_are_400_naming_the_field(raw, param, needle) -> None:
    err = refused(raw)
    assert err.param == param and needle in err.message
    assert set(err.body()["error"]) == {"message", "type", "param", "code"}


def test_none_keeps_non_text_turns_for_the_upstream() -> None:
    req = parse(body(model="none/qwen2.5-coder-0.5b", tools=[{"type": "function"}],
                     messages=[{"role": "user", "content": "x"}, {"role": "tool", "content": "1"}]))
    assert req.strategy == "none" and req.messages is None


class _Gold(BaseModel):
    peek: bool = True


def test_oracle_strategies_are_refused() -> None:
    @strategy("peeker", _Gold, oracle=lambda p: p.peek)
    async def peeker(ctx, params):  # pragma: no cover - never runs behind the proxy
        ctx.oracle_check("x")

    try:
        err = refused(body(model="peeker/qwen2.5-coder-0.5b"))
        assert err.code == "oracle_strategy" and "oracle-assisted" in err.message
        assert parse(body(model="peeker-peek=false/qwen2.5-coder-0.5b")).strategy == "peeker"
    finally:
        strategies.unregister("peeker")


def _trace(answers: list[tuple[str, int | None, str | None]], texts: list[str]) -> Trace:
    calls = [CallRecord(index=i, purpose="p", model="m", messages=[], params=GenParams(),
                        completion=Completion(text=t, finish_reason="length" if "cut" in t else "stop"))
             for i, t in enumerate(texts)]
    return Trace(strategy="s", problem_id="p", model="m", calls=calls,
                 answers=[AnswerRecord(kind=k, call=c, extracted=a) for k, c, a in answers])


def test_final_text_rules() -> None:
    # the call the final answer was recorded from
    assert final_text(_trace([("final", 1, "4")], ["a", "b"])) == ("b", "stop")
    # a chosen answer: the latest attempt with it (a refinement repeats the answer)
    t = _trace([("attempt", 0, "4"), ("attempt", 1, "4"), ("final", None, "4")], ["first", "refined"])
    assert final_text(t)[0] == "refined"
    # a vote: the first sample with the winner, equivalent forms included
    t = _trace([("sample", 0, "3"), ("sample", 1, "4.0"), ("sample", 2, "4"), ("final", None, "4")],
               ["three", "four cut", "four again"])
    assert final_text(t) == ("four cut", "length")
    # no answer anywhere: the last solution's text
    assert final_text(_trace([("sample", 0, None), ("final", None, None)], ["no answer"]))[0] == "no answer"
    assert final_text(_trace([], [])) == ("", "stop")


def test_call_errors_map_to_statuses() -> None:
    assert errors.call_error("x: HTTP 503 (InternalServerError): busy").status == 502
    assert errors.call_error("x: HTTP 404 (NotFoundError): no model").status == 404
    assert errors.call_error("x: request timed out (timeout 5s); gave up").status == 504
    assert errors.call_error("local backend is closed").status == 500
    limited = errors.call_error("x: HTTP 429 (RateLimitError): slow " + errors.retry_after_tag(0.2))
    assert limited.headers == {"Retry-After": "1"} and "[retry-after" not in limited.message
