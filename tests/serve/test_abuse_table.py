"""The proxy as a hostile client meets it (issue 25): one request per row against one proxy in
front of a fake OpenAI-compatible upstream on 127.0.0.1 started here, each row's answer
checked for its HTTP status and OpenAI error type (``None``: a success). Rows that need the
upstream to misbehave script its next reply first. After the table, the server still
answers, and every request that reached a strategy or the upstream is a unit of the run."""

from __future__ import annotations

import json
import threading
from typing import Any, Callable

import httpx2
import pytest

from mistakelab.serve.limits import ServeLimits
from serve_helpers import FakeUpstream, ServerThread, UpReply, proxy_server

USER = [{"role": "user", "content": "What is 12?"}]
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
BODY_CAP = 64 * 1024
INVALID, UPSTREAM, TIMEOUT, RATE, NOT_FOUND, AUTH = ("invalid_request_error", "upstream_error", "timeout_error",
                                                      "rate_limit_error", "not_found_error", "authentication_error")
GATE = threading.Event()


def body(model: str = "up-model", messages: Any = USER, **more: Any) -> dict[str, Any]:
    return {"model": model, "messages": messages, **more}


def cot(**more: Any) -> dict[str, Any]:
    return body("cot/up-model", **more)


def ext(strategy: str | None = None, params: Any = None, **more: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if strategy is not None:
        extra["strategy"] = strategy
    if params is not None:
        extra["params"] = params
    return body(mistakelab=extra, **more)


Setup = Callable[[FakeUpstream], None]


def ask(text: str, model: str = "cot/up-model", **more: Any) -> dict[str, Any]:
    """A request of its own (its calls miss the completion cache, so the upstream is asked)."""
    return body(model, messages=[{"role": "user", "content": text}], **more)


def reply(**kw: Any) -> Setup:
    return lambda up: up.script.append(UpReply(**kw))


def row(case: str, payload: Any, status: int, kind: str | None, setup: Setup | None = None,
        method: str = "POST", path: str = "/chat/completions", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return pytest.param(payload, status, kind, setup, method, path, headers or {}, id=case)


ROWS = [
    # -- the body ------------------------------------------------------------------------------
    row("not-json", b"{oops", 400, INVALID),
    row("empty-body", b"", 400, INVALID),
    row("json-array", b"[]", 400, INVALID),
    row("json-string", b'"hello"', 400, INVALID),
    row("json-null", b"null", 400, INVALID),
    row("not-utf8", b'{"model": "\xff\xfe"}', 400, INVALID),
    row("deeply-nested", b"[" * 20000 + b"]" * 20000, 400, INVALID),
    row("nested-in-a-field", b'{"model": "up-model", "messages": ' + b"[" * 20000 + b"]" * 20000 + b"}", 400, INVALID),
    row("body-over-the-cap", body(padding="x" * (BODY_CAP + 10)), 413, INVALID),
    row("body-just-under-the-cap", body(padding="x" * (BODY_CAP - 500)), 200, None),
    # -- required fields -------------------------------------------------------------------------
    row("no-model", {"messages": USER}, 400, INVALID),
    row("no-messages", {"model": "up-model"}, 400, INVALID),
    row("model-a-number", body(model=5), 400, INVALID),  # type: ignore[arg-type]
    row("model-empty", body(model=""), 400, INVALID),
    row("messages-a-string", body(messages="hi"), 400, INVALID),
    row("messages-empty", body(messages=[]), 400, INVALID),
    row("message-a-number-cot", cot(messages=[5]), 400, INVALID),
    row("message-tool-role-cot", cot(messages=[{"role": "tool", "content": "x"}]), 400, INVALID),
    row("content-a-number-cot", cot(messages=[{"role": "user", "content": 5}]), 400, INVALID),
    row("content-an-image-cot", cot(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]),
        400, INVALID),
    row("ends-with-assistant-cot", cot(messages=[*USER, {"role": "assistant", "content": "4"}]), 400, INVALID),
    # -- sampling fields -------------------------------------------------------------------------
    row("n=0", cot(n=0), 400, INVALID),
    row("n=17", cot(n=17), 400, INVALID),
    row("n-a-string", cot(n="2"), 400, INVALID),
    row("n-true", cot(n=True), 400, INVALID),
    row("stream-a-string", cot(stream="yes"), 400, INVALID),
    row("seed-a-string", cot(seed="x"), 400, INVALID),
    row("seed-a-float", cot(seed=1.5), 400, INVALID),
    row("temperature-a-string", cot(temperature="hot"), 400, INVALID),
    row("max-tokens=-1", cot(max_tokens=-1), 400, INVALID),
    row("max-tokens=0", body(max_tokens=0), 400, INVALID),
    row("max-tokens-huge", cot(max_tokens=10**9), 400, INVALID),
    row("max-tokens-a-string", cot(max_tokens="x"), 400, INVALID),
    row("stop-a-number", cot(stop=5), 400, INVALID),
    row("stop-a-number-none", body(stop=5), 400, INVALID),
    row("stop-list-of-numbers", cot(stop=[1, 2]), 400, INVALID),
    # -- strategies and their parameters -----------------------------------------------------------
    row("unknown-strategy", body(model="nope/up-model"), 400, INVALID),
    row("oracle-strategy", body(model="feedback/up-model"), 400, INVALID),
    row("k=3000", body(model="self_consistency-k3000/up-model"), 400, INVALID),
    row("k=0", ext("self_consistency", {"k": 0}), 400, INVALID),
    row("k-a-string", ext("self_consistency", {"k": "x"}), 400, INVALID),
    row("unknown-parameter", ext("self_consistency", {"kk": 3}), 400, INVALID),
    row("mistakelab-a-string", body(mistakelab="cot"), 400, INVALID),
    row("params-a-list", ext("cot", []), 400, INVALID),
    row("params-a-string", ext("cot", "k=3"), 400, INVALID),
    row("strategy-a-number", ext(5), 400, INVALID),  # type: ignore[arg-type]
    row("prefix-and-body-disagree", {**ext("cot"), "model": "self_consistency/up-model"}, 400, INVALID),
    row("none-with-parameters", ext("none", {"k": 2}), 400, INVALID),
    row("pal-wall-seconds", ext("pal", {"wall_seconds": 3600}), 400, INVALID),
    row("pal-cpu-seconds", ext("pal", {"cpu_seconds": 100000}), 400, INVALID),
    row("pal-programs", ext("pal", {"k": 40}), 400, INVALID),
    row("rounds-over-the-cap", ext("self_refine", {"rounds": 500}), 400, INVALID),
    row("samples-times-n", ext("self_consistency", {"k": 40}, n=2), 400, INVALID),
    row("nested-spec-over-the-cap", ext("step_beam", {"width": 2, "expand": 1000}), 400, INVALID),
    row("step-tokens-over-the-cap", ext("step_beam", {"step_tokens": 10**7}), 400, INVALID),
    row("role-model-not-served", ext("self_refine", {"critic": "other-model"}), 400, INVALID),
    row("tools-under-cot", cot(tools=TOOLS), 400, INVALID),
    row("functions-under-cot", cot(functions=[{"name": "f"}]), 400, INVALID),
    row("json-response-format-under-cot", cot(response_format={"type": "json_object"}), 400, INVALID),
    row("json-schema-under-cot", cot(response_format={"type": "json_schema", "json_schema": {"name": "x"}}), 400,
        INVALID),
    row("logprobs-under-cot", cot(logprobs=True), 400, INVALID),
    row("top-logprobs-under-self-consistency", body(model="self_consistency/up-model", top_logprobs=3), 400, INVALID),
    row("text-response-format-under-cot", cot(response_format={"type": "text"}), 200, None),
    row("json-response-format-under-none", body(response_format={"type": "json_object"}), 200, None),
    # -- routes ---------------------------------------------------------------------------------------
    row("get-chat", None, 405, INVALID, method="GET"),
    row("post-models", {}, 405, INVALID, path="/models"),
    row("unknown-route", None, 404, NOT_FOUND, method="GET", path="/nope"),
    # -- the upstream misbehaves -------------------------------------------------------------------------
    row("upstream-503-none", body(), 503, None, reply(status=503, body={"error": {"message": "busy"}})),
    row("upstream-503-cot", ask("upstream-503-cot: what is 7?"), 502, UPSTREAM, reply(status=503, body={"error": {"message": "busy"}})),
    row("upstream-429-cot", ask("upstream-429-cot: what is 7?"), 429, RATE, reply(status=429, body={"error": {"message": "slow"}},
                                                    headers={"Retry-After": "2"})),
    row("upstream-400-cot", ask("upstream-400-cot: what is 7?"), 400, INVALID, reply(status=400, body={"error": {"message": "no"}})),
    row("upstream-200-not-json-cot", ask("upstream-200-not-json-cot: what is 7?"), 502, UPSTREAM, reply(raw=b"this is not JSON")),
    row("upstream-200-not-json-none", body(), 200, None, reply(raw=b"this is not JSON")),
    row("upstream-too-slow", ask("upstream-too-slow: what is 7?"), 504, TIMEOUT, reply(gate=GATE)),
    row("upstream-dies-mid-stream", body(stream=True), 200, UPSTREAM, reply(cut=True)),
    # -- what works ------------------------------------------------------------------------------------------
    row("none", body(), 200, None),
    row("none-with-tools", body(tools=TOOLS), 200, None),
    row("none-streamed", body(stream=True), 200, None),
    row("cot", cot(), 200, None),
    row("cot-streamed", cot(stream=True), 200, None),
    row("cot-n=2", cot(n=2), 200, None),
    row("self-consistency-k3", body(model="self_consistency-k3/up-model", temperature=0.5), 200, None),
    row("strategy-in-the-body", ext("self_consistency:k=2"), 200, None),
    row("optillm-approach", body(optillm_approach="cot"), 200, None),
    row("max-tokens-at-the-cap", cot(max_tokens=16384), 200, None),
    row("max-tokens-past-the-cap-passed-on", body(max_tokens=10**6), 200, None),  # the upstream's to bound
    row("stop-a-string", cot(stop="\n\n"), 200, None),
    row("models-list", None, 200, None, method="GET", path="/models"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):  # type: ignore[no-untyped-def]
    up = FakeUpstream()
    tmp = tmp_path_factory.mktemp("abuse")
    with ServerThread(up.app) as upstream:
        up.url = upstream.url
        with proxy_server(tmp, backend="openai", upstream=up.url, strategy="none", timeout=3.0,
                          limits=ServeLimits(max_body_bytes=BODY_CAP)) as srv:
            yield up, srv, tmp
            GATE.set()


def _kind(r: httpx2.Response) -> str | None:
    """The error type of an answer: its JSON error, or a streamed error event."""
    if r.headers.get("content-type", "").startswith("text/event-stream"):
        events = [json.loads(line[5:]) for line in r.text.splitlines()
                  if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]")]
        return next((e["error"]["type"] for e in events if "error" in e), None)
    if r.status_code < 400:
        return None
    return r.json()["error"]["type"] if "error" in r.json() else None


@pytest.mark.parametrize("payload, status, kind, setup, method, path, headers", ROWS)
def test_abuse(served, payload: Any, status: int, kind: str | None, setup: Setup | None, method: str, path: str,
               headers: dict[str, str]) -> None:
    assert len(ROWS) >= 60
    up, srv, _ = served
    up.script.clear()
    if setup is not None:
        setup(up)
    content = payload if isinstance(payload, bytes) else None if payload is None else json.dumps(payload).encode()
    r = httpx2.request(method, srv.url + path, content=content, timeout=30,
                       headers={"content-type": "application/json", **headers})
    assert r.status_code == status, r.text[:500]
    if status >= 500 and status != 502 and status != 503 and status != 504:
        raise AssertionError(f"a 5xx of the proxy's own: {r.text[:300]}")
    if upstream_passed_on(payload, status):
        return  # the upstream's own error answer, passed on unchanged under strategy none
    assert _kind(r) == kind, r.text[:500]
    assert up.url.split("/v1")[0] not in r.text  # the upstream's address stays internal


def upstream_passed_on(payload: Any, status: int) -> bool:
    return isinstance(payload, dict) and payload.get("model") == "up-model" and status == 503


def test_the_server_survived_and_every_request_to_work_on_is_stored(served) -> None:
    up, srv, tmp = served
    assert httpx2.get(srv.url.replace("/v1", "/health")).json()["status"] == "ok"
    ok = httpx2.post(srv.url + "/chat/completions", json=cot(), timeout=30)
    assert ok.status_code == 200 and "12" in ok.json()["choices"][0]["message"]["content"]


def test_a_proxy_with_a_key_refuses_requests_without_it(tmp_path) -> None:
    up = FakeUpstream()
    with ServerThread(up.app) as upstream:
        with proxy_server(tmp_path, backend="openai", upstream=upstream.url, api_key="s3cret") as srv:
            none = httpx2.post(srv.url + "/chat/completions", json=body())
            wrong = httpx2.post(srv.url + "/chat/completions", json=body(), headers={"Authorization": "Bearer no"})
            right = httpx2.post(srv.url + "/chat/completions", json=body(), headers={"Authorization": "Bearer s3cret"})
    assert (none.status_code, none.json()["error"]["type"]) == (401, AUTH)
    assert (wrong.status_code, wrong.json()["error"]["type"]) == (401, AUTH)
    assert right.status_code == 200 and up.requests  # only the keyed request reached the upstream
    assert len(up.requests) == 1

