"""The proxy in front of a fake OpenAI-compatible upstream on 127.0.0.1: strategy ``none``
passes requests on unchanged (tools included), strategies call the upstream through the
cache, upstream failures map to 502/429/504, the concurrency limit is shared, and the
upstream key never reaches the store or the logs."""

from __future__ import annotations

import json
import logging
import socket
import threading

import httpx2
import openai
import pytest

pytest.importorskip("starlette", reason="the proxy tests need the serve extra: pip install mistakelab[serve]")
pytest.importorskip("uvicorn", reason="the proxy tests need the serve extra: pip install mistakelab[serve]")

from serve_helpers import UpReply, chat_body, client, proxy_server, units, upstream  # noqa: E402,F401 (fixture)

USER = [{"role": "user", "content": "What is 12?"}]
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]




def over(tmp_path, up, **kw):
    return proxy_server(tmp_path, backend="openai", upstream=up.url, **kw)


def test_none_passes_tools_and_tool_calls_through(tmp_path, upstream, monkeypatch) -> None:
    monkeypatch.setenv("UP_KEY", "up-key-123456")
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    upstream.script.append(UpReply(body=chat_body("", tool_calls=[call])))
    with over(tmp_path, upstream, strategy="none", upstream_key_env="UP_KEY") as srv:
        answer = client(srv.url, api_key="client-key").chat.completions.create(
            model="up-model", messages=[*USER, {"role": "assistant", "content": None, "tool_calls": [call]},
                                        {"role": "tool", "tool_call_id": "call_1", "content": "12"}],
            tools=TOOLS, tool_choice="auto", temperature=0.2, extra_body={"mistakelab": {"strategy": "none"}})
    headers, sent = upstream.requests[-1]
    assert sent["tools"] == TOOLS and sent["tool_choice"] == "auto" and sent["messages"][2]["role"] == "tool"
    assert sent["model"] == "up-model" and "mistakelab" not in sent and sent["temperature"] == 0.2
    assert headers["authorization"] == "Bearer up-key-123456"  # the upstream's key, not the client's
    assert answer.choices[0].message.tool_calls[0].function.name == "lookup"
    run, rows, st = units(tmp_path)
    trace = st.trace(run.id, rows[0].unit_key)
    assert trace.events[0].data["tool_calls"][0]["id"] == "call_1" and trace.calls[0].completion.prompt_tokens == 7


def test_none_streams_through_and_is_recorded(tmp_path, upstream) -> None:
    with over(tmp_path, upstream, strategy="none") as srv:
        with client(srv.url).chat.completions.create(model="none-up-model", messages=USER, stream=True) as s:
            text = "".join(ch.choices[0].delta.content or "" for ch in s if ch.choices)
    assert text == "The question says 12, so the answer is \\boxed{12}." and upstream.requests[-1][1]["stream"]
    _, rows, _ = units(tmp_path)
    assert rows[0].result.final_answer == "12" and rows[0].result.completion_tokens == 3


def test_strategies_call_the_upstream(tmp_path, upstream) -> None:
    with over(tmp_path, upstream, strategy="cot") as srv:
        answer = client(srv.url).chat.completions.create(model="self_consistency-k3/up-model", messages=USER)
        names = [m.id for m in client(srv.url).models.list().data]
    assert len(upstream.requests) == 3 and {r[1]["model"] for r in upstream.requests} == {"up-model"}
    assert len({r[1]["seed"] for r in upstream.requests}) == 3
    assert answer.choices[0].message.content.endswith("\\boxed{12}.")
    assert answer.usage.prompt_tokens == 3 * 7 and answer.usage.completion_tokens == 3 * 3
    assert "self_consistency/up-model" in names  # the upstream's own model list, without --model


@pytest.mark.parametrize("model", ["none/up-model", "cot/up-model"])
def test_upstream_429_is_passed_on_with_retry_after(tmp_path, upstream, model) -> None:
    upstream.script.append(UpReply(status=429, body={"error": {"message": "slow down"}}, headers={"Retry-After": "7"}))
    with over(tmp_path, upstream, model="up-model") as srv:
        with pytest.raises(openai.RateLimitError) as err:
            client(srv.url).chat.completions.create(model=model, messages=USER)
    assert err.value.response.headers["retry-after"] == "7"
    assert "slow down" in json.dumps(err.value.body)


@pytest.mark.parametrize("model", ["none/up-model", "cot/up-model"])
def test_upstream_5xx_is_502(tmp_path, upstream, model) -> None:
    upstream.script.append(UpReply(status=503, body={"error": {"message": "overloaded"}}))
    with over(tmp_path, upstream, model="up-model") as srv:
        with pytest.raises(openai.APIStatusError) as err:
            client(srv.url).chat.completions.create(model=model, messages=USER)
    # none passes the upstream's own answer on; a strategy says the upstream failed
    assert err.value.status_code == (503 if model.startswith("none") else 502)


@pytest.mark.parametrize("model", ["none/up-model", "cot/up-model"])
def test_upstream_down_is_502(tmp_path, model) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    with proxy_server(tmp_path, backend="openai", upstream=f"http://127.0.0.1:{port}/v1", model="up-model") as srv:
        with pytest.raises(openai.APIStatusError) as err:
            client(srv.url).chat.completions.create(model=model, messages=USER)
    assert err.value.status_code == 502 and err.value.body["type"] == "upstream_error"


@pytest.mark.parametrize("model", ["none/up-model", "cot/up-model"])
def test_slow_upstream_is_504(tmp_path, upstream, model) -> None:
    gate = threading.Event()
    upstream.script.append(UpReply(gate=gate))
    try:
        with over(tmp_path, upstream, timeout=0.3) as srv:
            with pytest.raises(openai.APIStatusError) as err:
                client(srv.url).chat.completions.create(model=model, messages=USER)
    finally:
        gate.set()
    assert err.value.status_code == 504 and err.value.body["code"] == "timeout"


def test_concurrent_requests_share_the_upstream_limit(tmp_path, upstream) -> None:
    gate = threading.Event()
    upstream.script.extend(UpReply(gate=gate) for _ in range(2))
    with over(tmp_path, upstream, max_concurrency=2) as srv:
        c = client(srv.url, timeout=30)
        out: list[str] = []
        models = ["none/up-model", "self_consistency-k3/up-model", "cot/up-model", "none/up-model"]
        threads = [threading.Thread(target=lambda m=m: out.append(
            c.chat.completions.create(model=m, messages=USER).choices[0].message.content)) for m in models]
        for t in threads:
            t.start()
        assert upstream.wait_in_flight(2)  # the two gated requests hold both slots
        assert len(upstream.requests) == 2  # every other request waits for a slot
        gate.set()
        for t in threads:
            t.join(30)
    assert len(out) == 4 and upstream.max_in_flight == 2 and len(upstream.requests) == 2 + 3 + 1


def test_upstream_key_is_never_stored_or_logged(tmp_path, upstream, monkeypatch, caplog) -> None:
    key = "sk-never-write-me-0451"
    monkeypatch.setenv("UPSTREAM_SECRET", key)
    upstream.script.append(UpReply(status=401, body={"error": {"message": f"bad key {key}"}}))
    caplog.set_level(logging.DEBUG)
    with over(tmp_path, upstream, upstream_key_env="UPSTREAM_SECRET") as srv:
        c = client(srv.url)
        with pytest.raises(openai.AuthenticationError):
            c.chat.completions.create(model="cot/up-model", messages=USER)
        c.chat.completions.create(model="none/up-model", messages=USER)
        c.chat.completions.create(model="self_consistency-k2/up-model", messages=USER)
        health = httpx2.get(srv.url.replace("/v1", "/health")).text
    assert all(r[0]["authorization"] == f"Bearer {key}" for r in upstream.requests)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("served.db*"))
    assert key.encode() not in stored and b"UPSTREAM_SECRET" in stored  # the variable's name only
    assert key not in caplog.text and key not in health
