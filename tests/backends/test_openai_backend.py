"""OpenAIBackend against a real HTTP server on 127.0.0.1 (tests/backends/loopback_server.py)."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from loopback_server import LoopbackServer, Reply, chat_body, error_body, render, stream_chunks, text_body
from mistakelab.backends import ModelSpec, create_backend
from mistakelab.backends.base import spec_capabilities as create_capabilities
from mistakelab.backends.openai_backend import OpenAIBackend, from_spec
from mistakelab.core.types import ConfidenceStop, GenParams, Message

KEY_ENV = "MISTAKELAB_TEST_OPENAI_KEY"
SECRET = "sk-test-secret-1234"
MESSAGES = [Message(role="system", content="Be brief."), Message(role="user", content="2+2?")]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy from the environment would swallow requests meant for 127.0.0.1.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    with LoopbackServer() as s:
        yield s


def make_backend(base_url: str, **options) -> OpenAIBackend:
    options = {"max_retries": 2, "initial_backoff": 0.01, "max_backoff": 0.05,
               "timeout": 5.0, **options}
    return OpenAIBackend("test-model", base_url=base_url, api_key_env=KEY_ENV, **options)


def record_sleeps(backend: OpenAIBackend) -> list[float]:
    """Swap the retry wait for one that records the delay and does not wait."""
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    backend._sleep = sleep
    return delays


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_success_maps_request_and_response(server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    server.script(Reply(body=chat_body("Four.", prompt_tokens=17, completion_tokens=3,
                                       finish_reason="length")))
    params = GenParams(temperature=0.7, top_p=0.9, max_tokens=64, stop=("\n\n", "END"), seed=42)
    async with make_backend(server.url + "/") as backend:
        c = await backend.generate(MESSAGES, params)
        assert SECRET not in backend.model_id
        assert SECRET not in repr(backend)
        assert backend.model_id == f"openai:{server.url}:test-model"

    assert c.ok and c.text == "Four."
    assert (c.prompt_tokens, c.completion_tokens, c.finish_reason) == (17, 3, "length")
    assert c.latency_s > 0 and c.logprobs is None
    (req,) = server.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {SECRET}"
    assert req.body["model"] == "test-model"
    assert req.body["messages"] == [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "2+2?"}]
    assert req.body["temperature"] == 0.7 and req.body["top_p"] == 0.9
    assert req.body["max_tokens"] == 64 and req.body["seed"] == 42
    assert req.body["stop"] == ["\n\n", "END"]
    assert "logprobs" not in req.body and "top_k" not in req.body


async def test_unset_key_sends_placeholder_and_missing_usage_is_zero(server, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    body = chat_body("ok", finish_reason="content_filter")
    del body["usage"]
    server.script(Reply(body=body))
    async with make_backend(server.url) as backend:
        c = await backend.generate(MESSAGES, GenParams())
    assert server.requests[0].headers["authorization"] == "Bearer EMPTY"
    assert (c.text, c.prompt_tokens, c.completion_tokens, c.finish_reason) == ("ok", 0, 0, "stop")
    assert "stop" not in server.requests[0].body and "seed" not in server.requests[0].body


async def test_429_with_retry_after_then_success(server):
    server.script(Reply(status=429, body=error_body("slow down", "rate_limit"),
                        headers={"Retry-After": "0"}), Reply())
    # A large initial backoff: only the Retry-After header can make the wait 0.
    async with make_backend(server.url, initial_backoff=5.0, max_backoff=10.0) as backend:
        delays = record_sleeps(backend)
        c = await backend.generate(MESSAGES, GenParams())
    assert c.ok and c.text == "The answer is 4."
    assert len(server.requests) == 2
    assert delays == [0.0]


async def test_retry_after_is_capped_by_max_backoff(server):
    server.script(Reply(status=503, headers={"Retry-After": "3600"}), Reply())
    async with make_backend(server.url, max_backoff=0.05) as backend:
        delays = record_sleeps(backend)
        c = await backend.generate(MESSAGES, GenParams())
    assert c.ok and delays == [0.05]


async def test_500_until_failure_gives_error_completion(server):
    server.default = Reply(status=500, body=error_body("boom"))
    async with make_backend(server.url, max_retries=3, initial_backoff=0.01,
                            max_backoff=1.0) as backend:
        delays = record_sleeps(backend)
        c = await backend.generate(MESSAGES, GenParams())
    assert len(server.requests) == 4
    assert not c.ok and c.text == "" and c.finish_reason == "error"
    assert "HTTP 500" in c.error and "4 attempts" in c.error
    # Jittered doubling: retry i waits between half and all of 0.01 * 2**(i-1).
    assert len(delays) == 3
    for i, d in enumerate(delays):
        ceiling = 0.01 * 2**i
        assert ceiling / 2 <= d <= ceiling


async def test_refused_connection_gives_error_completion():
    backend = make_backend(f"http://127.0.0.1:{free_port()}/v1", max_retries=2)
    delays = record_sleeps(backend)
    async with backend:
        c = await backend.generate(MESSAGES, GenParams())
    assert c.finish_reason == "error" and c.text == ""
    assert "connection failed" in c.error and "3 attempts" in c.error
    assert len(delays) == 2  # retried twice, so three attempts


async def test_400_fails_after_one_attempt(server):
    server.default = Reply(status=400, body=error_body("bad max_tokens", "invalid_request"))
    async with make_backend(server.url, max_retries=5) as backend:
        c = await backend.generate(MESSAGES, GenParams())
    assert len(server.requests) == 1
    assert c.finish_reason == "error" and "HTTP 400" in c.error and "bad max_tokens" in c.error


async def test_401_error_does_not_echo_the_key(server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    server.default = Reply(status=401, body=error_body(f"Incorrect API key provided: {SECRET}"))
    async with make_backend(server.url) as backend:
        c = await backend.generate(MESSAGES, GenParams())
    assert len(server.requests) == 1
    assert "HTTP 401" in c.error and SECRET not in c.error and "***" in c.error


async def test_concurrency_limit(server):
    gate = threading.Semaphore(0)
    server.default = Reply(gate=gate)
    async with make_backend(server.url, max_concurrency=2) as backend:
        tasks = [asyncio.create_task(backend.generate(MESSAGES, GenParams(seed=i)))
                 for i in range(6)]
        # Let requests through one at a time, each once the server holds as many as the limit
        # allows: without a limit the held requests pile up and max_in_flight exceeds 2.
        # Waiting happens in a thread so the event loop keeps sending requests meanwhile.
        for released in range(6):
            assert await asyncio.to_thread(server.wait_in_flight, min(2, 6 - released))
            gate.release()
        results = await asyncio.gather(*tasks)
    assert all(c.ok for c in results)
    assert len(server.requests) == 6
    assert server.max_in_flight == 2
    assert sorted(r.body["seed"] for r in server.requests) == list(range(6))


async def test_server_can_see_more_than_two_in_flight(server):
    # Control for the test above: with a higher limit the harness does observe overlap.
    gate = threading.Event()
    server.default = Reply(wait=gate)
    async with make_backend(server.url, max_concurrency=4) as backend:
        tasks = [asyncio.create_task(backend.generate(MESSAGES, GenParams())) for _ in range(4)]
        assert await asyncio.to_thread(server.wait_in_flight, 4)
        gate.set()
        assert all(c.ok for c in await asyncio.gather(*tasks))
    assert server.max_in_flight == 4


async def test_logprobs_mapping(server):
    content = [
        {"token": "Four", "logprob": -0.1, "bytes": None,
         "top_logprobs": [{"token": "Four", "logprob": -0.1, "bytes": None},
                          {"token": "4", "logprob": -2.5, "bytes": None}]},
        {"token": ".", "logprob": -0.01, "bytes": None,
         "top_logprobs": [{"token": ".", "logprob": -0.01, "bytes": None}]},
    ]
    server.script(Reply(body=chat_body("Four.", logprobs=content)))
    async with make_backend(server.url) as backend:
        c = await backend.generate(MESSAGES, GenParams(logprobs=True, top_logprobs=2))
    body = server.requests[0].body
    assert body["logprobs"] is True and body["top_logprobs"] == 2
    assert c.logprobs is not None and [t.token for t in c.logprobs] == ["Four", "."]
    first = c.logprobs[0]
    assert first.logprob == pytest.approx(-0.1)
    assert first.top == [("Four", pytest.approx(-0.1)), ("4", pytest.approx(-2.5))]
    # Only top-k is known: the exact statistics stay unset.
    assert all(t.entropy is None and t.kl_from_uniform is None for t in c.logprobs)


async def test_a_confidence_stop_streams_and_closes_the_stream_at_the_token(server):
    """The server streams 40 tokens, 20 ms apart; the window of 2 falls under 1.5 at token 4,
    so the client keeps 4 tokens and closes the stream: the server stops sending long before
    its 40 (vLLM and llama.cpp abort a request whose client went away)."""
    confs = [3.0, 3.0, 1.0, 1.0] + [3.0] * 36
    server.script(Reply(stream=stream_chunks([(f" t{i}", c) for i, c in enumerate(confs)], top=2), chunk_delay=0.02))
    stop = ConfidenceStop(window=2, threshold=1.5, top_k=2)
    async with make_backend(server.url) as backend:
        c = await backend.generate(MESSAGES, GenParams(logprobs=True, top_logprobs=2, confidence_stop=stop))
    body = server.requests[0].body
    assert body["stream"] is True and body["top_logprobs"] == 2 and body["stream_options"] == {"include_usage": True}
    assert (c.text, c.finish_reason, c.completion_tokens) == (" t0 t1 t2 t3", "low_confidence", 4)
    assert [t.token for t in c.logprobs] == [" t0", " t1", " t2", " t3"] and c.logprobs[3].top[1][0] == "alt1"
    for _ in range(100):  # the handler notices the closed connection at its next write
        if server.chunks_sent:
            break
        await asyncio.sleep(0.02)
    assert server.streams_cut == 1 and server.chunks_sent[0] < 20


async def test_a_confidence_stop_that_never_fires_reads_the_whole_stream(server):
    for _ in range(3):
        server.script(Reply(stream=stream_chunks([(" a", 3.0), (" b", 3.0), (" c", 3.0)])))
    stop = ConfidenceStop(window=2, threshold=1.5, top_k=1)
    async with make_backend(server.url, multi_sample=True) as backend:
        c = await backend.generate(MESSAGES, GenParams(logprobs=True, top_logprobs=1, confidence_stop=stop))
        many = await backend.sample(MESSAGES, GenParams(logprobs=True, top_logprobs=1, confidence_stop=stop,
                                                        temperature=0.7), [1, 2])
    assert (c.text, c.finish_reason, c.prompt_tokens, c.completion_tokens) == (" a b c", "stop", 7, 3)
    assert server.chunks_sent[0] == 5 and server.streams_cut == 0  # 3 tokens, usage, [DONE]
    assert [m.text for m in many] == [" a b c", " a b c"]  # one stream per sample, even with multi_sample
    assert len(server.requests) == 3 and all("n" not in r.body for r in server.requests)


async def test_timeout_gives_error_completion(server):
    late = threading.Event()  # never set by the test; the fixture frees the handlers
    server.default = Reply(wait=late)
    async with make_backend(server.url, timeout=0.2, max_retries=1) as backend:
        c = await backend.generate(MESSAGES, GenParams())
    assert c.finish_reason == "error" and "timed out" in c.error and "2 attempts" in c.error
    assert len(server.requests) == 2


async def test_top_k_extra_body_and_prefill(server):
    server.script(Reply(), Reply())
    prefill = [*MESSAGES, Message(role="assistant", content="The answer is")]
    extra = {"continue_final_message": True, "add_generation_prompt": False, "top_k": 5}
    async with make_backend(server.url, extra_body=extra) as backend:
        assert backend.capabilities == frozenset({"top_logprobs", "continue"})
        await backend.generate(prefill, GenParams(top_k=40))
        await backend.generate(prefill, GenParams())
    first, second = (r.body for r in server.requests)
    assert first["messages"][-1] == {"role": "assistant", "content": "The answer is"}
    assert first["continue_final_message"] is True and first["add_generation_prompt"] is False
    assert first["top_k"] == 40 and second["top_k"] == 5
    assert extra["top_k"] == 5  # the caller's dict is not modified


async def test_sample_sends_one_request_per_seed(server):
    async with make_backend(server.url) as backend:
        out = await backend.sample(MESSAGES, GenParams(temperature=1.0), [1, 2, 3])
    assert len(out) == 3 and all(c.ok for c in out)
    assert sorted(r.body["seed"] for r in server.requests) == [1, 2, 3]


async def test_from_spec_and_registry(server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    spec = ModelSpec(backend="openai", model="served-name",
                     options={"base_url": server.url, "api_key_env": KEY_ENV, "max_retries": 0})
    backend = create_backend(spec)
    assert isinstance(backend, OpenAIBackend)
    assert backend.capabilities == frozenset({"top_logprobs"})
    async with backend:
        c = await backend.generate(MESSAGES, GenParams())
    assert c.ok and server.requests[0].body["model"] == "served-name"
    await backend.aclose()  # a second close is harmless


def test_from_spec_rejects_unknown_options_and_inline_keys():
    with pytest.raises(ValueError, match="unknown openai backend option"):
        from_spec(ModelSpec(backend="openai", model="m", options={"base_ur": "x"}))
    with pytest.raises(ValueError, match="api_key_env"):
        from_spec(ModelSpec(backend="openai", model="m", options={"api_key": SECRET}))


def test_base_url_from_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://10.0.0.1:8000/v1/")
    assert OpenAIBackend("m").model_id == "openai:http://10.0.0.1:8000/v1:m"
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert OpenAIBackend("m").model_id == "openai:https://api.openai.com/v1:m"


# ---- continuation: what each real server needs, against the loopback server --------------

PREFIX = "The answer is"
PREFILLED = [*MESSAGES, Message(role="assistant", content=PREFIX)]
WIRE = [{"role": m.role, "content": m.content} for m in MESSAGES]


def echo_model(prompt: str, seed: int | None) -> str:
    """A fake LM whose text says which seed drew it."""
    return f" 4 (seed {seed})."


@pytest.mark.parametrize("mode", ["vllm", "sglang"])
async def test_chat_continuation_sends_continue_final_message(server, mode):
    server.model = echo_model
    async with make_backend(server.url, continuation=mode) as backend:
        assert backend.capabilities == frozenset({"top_logprobs", "continue"})
        cont = await backend.generate(PREFILLED, GenParams(seed=7))
        fresh = await backend.generate(MESSAGES, GenParams(seed=7))
    assert cont.ok and cont.text == " 4 (seed 7)."  # only the continuation comes back
    first, second = (r.body for r in server.requests)
    assert first["continue_final_message"] is True and first["add_generation_prompt"] is False
    assert first["messages"][-1] == {"role": "assistant", "content": PREFIX}
    # the model continued the open assistant turn; the plain request opened a new one
    assert server.prompts[0] == render(WIRE) + PREFIX
    assert "continue_final_message" not in second and "add_generation_prompt" not in second
    assert server.prompts[1] == render(WIRE) and fresh.ok


async def test_llamacpp_continuation_renders_with_the_server_template(server):
    server.model = echo_model
    params = GenParams(seed=3, max_tokens=9, stop=("\n",), top_k=5, logprobs=True, top_logprobs=2)
    async with make_backend(server.url, continuation="llamacpp") as backend:
        assert backend.capabilities == frozenset({"top_logprobs", "continue"})
        c = await backend.generate(PREFILLED, params)
        plain = await backend.generate(MESSAGES, GenParams())
    assert [r.path for r in server.requests] == ["/apply-template", "/v1/completions",
                                                 "/v1/chat/completions"]
    template, completion = (r.body for r in server.requests[:2])
    assert template == {"messages": WIRE}  # the prefix is not rendered by the template
    assert completion["prompt"] == render(WIRE) + PREFIX == server.prompts[0]
    assert (completion["max_tokens"], completion["stop"], completion["seed"]) == (9, ["\n"], 3)
    assert completion["top_k"] == 5 and completion["logprobs"] == 2
    assert c.ok and c.text == " 4 (seed 3)." and c.completion_tokens == len(c.text.split(" "))
    assert [lp.token for lp in c.logprobs] == ["", " 4", " (seed", " 3)."]
    # the chosen token, then the best alternative: sorted and cut to top_logprobs
    assert c.logprobs[1].top == [(" 4", -0.5), ("alt0", -1.0)]
    assert plain.ok and "apply-template" not in server.requests[-1].path


async def test_llamacpp_continuation_reports_template_failures(server):
    server.script(Reply(status=503), Reply(body={"no": "prompt"}))
    async with make_backend(server.url, continuation="llamacpp") as backend:
        record_sleeps(backend)
        c = await backend.generate(PREFILLED, GenParams())
    assert not c.ok and "malformed /apply-template response" in c.error
    assert [r.path for r in server.requests] == ["/apply-template"] * 2  # retried, then refused


async def test_prefix_without_continuation_mode_is_never_sent(server):
    server.model = echo_model
    async with make_backend(server.url) as backend:
        assert "continue" not in backend.capabilities
        one = await backend.generate(PREFILLED, GenParams())
        many = await backend.sample(PREFILLED, GenParams(temperature=1.0), [1, 2])
    assert server.requests == []  # a server would have answered the prefix as a new turn
    for c in (one, *many):
        assert c.finish_reason == "error" and "no continuation mode" in c.error
        assert "vllm | sglang | llamacpp" in c.error


async def test_legacy_extra_body_is_the_vllm_mode(server):
    server.model = echo_model
    extra = {"continue_final_message": True, "add_generation_prompt": False}
    async with make_backend(server.url, extra_body=extra) as backend:
        assert backend.continuation == "vllm" and "continue" in backend.capabilities
        await backend.generate(MESSAGES, GenParams())
        c = await backend.generate(PREFILLED, GenParams())
    plain, cont = (r.body for r in server.requests)
    assert "continue_final_message" not in plain and server.prompts[0] == render(WIRE)
    assert cont["continue_final_message"] is True and c.ok
    assert extra == {"continue_final_message": True, "add_generation_prompt": False}


def test_continuation_options_are_checked():
    caps = lambda **o: create_capabilities(ModelSpec(backend="openai", model="m", options=o))  # noqa: E731
    assert caps() == frozenset({"top_logprobs"})
    assert caps(continuation="sglang") == frozenset({"top_logprobs", "continue"})
    assert caps(multi_sample=True) == frozenset({"top_logprobs", "multi_sample"})
    with pytest.raises(ValueError, match="continuation must be one of vllm, sglang, llamacpp"):
        from_spec(ModelSpec(backend="openai", model="m", options={"continuation": "tgi"}))
    with pytest.raises(ValueError, match="continue_final_message"):
        from_spec(ModelSpec(backend="openai", model="m", options={
            "continuation": "llamacpp", "extra_body": {"continue_final_message": True}}))
    with pytest.raises(ValueError, match="multi_sample"):
        OpenAIBackend("m", base_url="http://127.0.0.1:1/v1", continuation="llamacpp",
                      multi_sample=True)


async def test_multi_sample_sends_one_request_with_n(server):
    server.model = echo_model
    async with make_backend(server.url, multi_sample=True, continuation="vllm") as backend:
        assert "multi_sample" in backend.capabilities
        outs = await backend.sample(MESSAGES, GenParams(temperature=1.0), [10, 20, 30])
        conts = await backend.sample(PREFILLED, GenParams(temperature=1.0), [5, 6])
    (req, cont_req) = (r.body for r in server.requests)
    assert req["n"] == 3 and req["seed"] == 10
    assert [c.text for c in outs] == [" 4 (seed 10).", " 4 (seed 11).", " 4 (seed 12)."]
    # the server reports only the total; it is split so that the sum stays right
    assert sum(c.completion_tokens for c in outs) == sum(len(c.text.split()) for c in outs)
    assert cont_req["n"] == 2 and cont_req["continue_final_message"] is True
    assert [c.text for c in conts] == [" 4 (seed 5).", " 4 (seed 6)."]


async def test_llamacpp_older_servers_chat_shaped_logprobs(server):
    # llama.cpp servers before the legacy completions shape sent chat-shaped logprobs
    body = text_body(" 4.", prompt_tokens=12)
    body["choices"][0]["logprobs"] = {"content": [
        {"id": 7, "token": " 4.", "logprob": -0.2, "bytes": [32, 52, 46],
         "top_logprobs": [{"id": 7, "token": " 4.", "logprob": -0.2},
                          {"id": 9, "token": " 5.", "logprob": -2.0}]}]}
    server.script(Reply(body={"prompt": render(WIRE)}), Reply(body=body))
    async with make_backend(server.url, continuation="llamacpp") as backend:
        c = await backend.generate(PREFILLED, GenParams(logprobs=True, top_logprobs=1))
    assert c.ok and c.text == " 4." and c.prompt_tokens == 12
    assert [(lp.token, lp.logprob, lp.top) for lp in c.logprobs] == [(" 4.", -0.2, [(" 4.", -0.2)])]
