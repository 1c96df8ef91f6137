"""optillm's conventions at the proxy: approach slugs, ``a&b`` pipelines, ``a|b`` choices, the
``<optillm_approach>`` prompt tag, approaches not offered (issue 22)."""

from __future__ import annotations

import json

import pytest

from mistakelab.serve import ApiError, parse_request
from mistakelab.serve.optillm import APPROACHES, NOT_OFFERED, expand, split
from mistakelab.strategies import strategies
from serve_helpers import client, proxy_server, scripted, units

SERVED = ["qwen2.5-coder-0.5b"]
USER = [{"role": "user", "content": "What is 12?"}]


def body(model: str = "qwen2.5-coder-0.5b", content: str = "2+2?", **kw) -> bytes:  # type: ignore[no-untyped-def]
    return json.dumps({"model": model, "messages": [{"role": "user", "content": content}], **kw}).encode()


def parse(raw: bytes):  # type: ignore[no-untyped-def]
    return parse_request(raw, SERVED, "cot", 512)


@pytest.mark.parametrize("model,strategy,params", [
    ("moa-qwen2.5-coder-0.5b", "moa", {}),
    ("mcts-qwen2.5-coder-0.5b", "mcts", {}),
    ("rstar-qwen2.5-coder-0.5b", "mcts", {"verify": "mutual"}),
    ("re2-qwen2.5-coder-0.5b", "re2", {}),
    ("bon-qwen2.5-coder-0.5b", "best_of_n", {}),
    ("bon-n6/qwen2.5-coder-0.5b", "best_of_n", {"n": 6}),
    ("majority_voting-qwen2.5-coder-0.5b", "self_consistency", {"k": 6}),
    ("cot_decoding-qwen2.5-coder-0.5b", "cot_decoding", {}),
    ("deepconf-qwen2.5-coder-0.5b", "deepconf", {}),
    ("moa-k2-layers2/qwen2.5-coder-0.5b", "moa", {"k": 2, "layers": 2}),
])
def test_optillm_slugs_in_the_model_name(model, strategy, params) -> None:  # type: ignore[no-untyped-def]
    req = parse(body(model))
    assert req.strategy == strategy and req.model == "qwen2.5-coder-0.5b"
    assert {k: getattr(req.params, k) for k in params} == params


def test_every_mapped_approach_is_a_servable_strategy_and_none_is_both() -> None:
    assert not set(APPROACHES) & set(NOT_OFFERED)
    for slug, spec in APPROACHES.items():
        assert expand(slug)["name"] in strategies, slug


def test_pipeline_from_ampersand_and_its_parameters() -> None:
    req = parse(body("re2&moa-k2/qwen2.5-coder-0.5b"))
    assert req.strategy == "pipeline" and req.params.stages == [{"name": "re2"}, {"name": "moa", "k": 2}]
    assert req.label == "re2&moa-k2"
    assert split("re2&bon-gpt-4o", [], set(strategies.names())) == ("re2&bon", "gpt-4o")
    req = parse(body(optillm_approach="bon&re2"))
    assert req.params.stages == [{"name": "best_of_n"}, {"name": "re2"}]


def test_alternatives_from_bar_give_one_choice_each() -> None:
    req = parse(body("bon|moa|re2-qwen2.5-coder-0.5b"))
    assert req.n == 3 and [a[0].name for a in req.alternatives] == ["best_of_n", "moa", "re2"]
    assert req.label == "best_of_n|moa|re2"


def test_prompt_tag_chooses_and_is_removed() -> None:
    req = parse(body(content="<optillm_approach>re2</optillm_approach> How many r's in strawberry?"))
    assert req.strategy == "re2" and req.messages[-1].content == "How many r's in strawberry?"
    req = parse(body("moa-qwen2.5-coder-0.5b", content="<optillm_approach>re2</optillm_approach>2+2?"))
    assert req.strategy == "moa" and req.messages[-1].content == "2+2?"  # the model name comes first
    req = parse(body(content="2+2?", decoding="cot_decoding"))
    assert req.strategy == "cot_decoding"


@pytest.mark.parametrize("raw,needle", [
    (body("plansearch-qwen2.5-coder-0.5b"), "not offered here: a search over plans"),
    (body(optillm_approach="re2&moa|bon"), "mixes '&' and '|'"),
    (body(optillm_approach="re2|moa", n=2), "'n' must be 1"),
    (body(content="<optillm_approach>readurls</optillm_approach> hi"), "no outside requests"),
    (body(optillm_approach="re2&nosuch"), "nosuch"),
])
def test_refused_approaches(raw, needle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiError) as info:
        parse(raw)
    assert info.value.status == 400 and needle in info.value.message


def test_pipeline_and_alternatives_end_to_end(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def model(messages, params):  # type: ignore[no-untyped-def]
        last = messages[-1].content
        if "A draft answer" in last:
            return "Checked the draft: \\boxed{12}"
        return "Read twice: \\boxed{11}" if "Read the question again" in last else "Plain: \\boxed{12}"

    fake = scripted(model)
    with proxy_server(tmp_path, fake, strategy="cot") as srv:
        c = client(srv.url)
        piped = c.chat.completions.create(model="re2&cot-fake", messages=USER)
        both = c.chat.completions.create(model="fake", messages=USER, extra_body={"optillm_approach": "re2|cot"})
    assert piped.choices[0].message.content == "Checked the draft: \\boxed{12}"
    assert "Read twice: \\boxed{11}" in fake.calls[1].messages[-1].content  # stage 1's text is stage 2's draft
    assert piped.model_extra["mistakelab"]["final_answers"] == ["12"]
    assert [ch.message.content for ch in both.choices] == ["Read twice: \\boxed{11}", "Plain: \\boxed{12}"]
    _, rows, _ = units(tmp_path)
    assert sorted(r.result.strategy for r in rows) == ["cot", "re2", "re2&cot"]
