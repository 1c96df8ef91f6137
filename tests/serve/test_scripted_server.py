"""The proxy as a real server on 127.0.0.1, called with the official openai client, over the
scripted backend: answers, usage, trace ids, n, streaming, seeds, errors, the store, shutdown."""

from __future__ import annotations

import threading
import httpx2
import openai
import pytest
from typer.testing import CliRunner

pytest.importorskip("starlette", reason="the proxy tests need the serve extra: pip install mistakelab[serve]")
pytest.importorskip("uvicorn", reason="the proxy tests need the serve extra: pip install mistakelab[serve]")

from mistakelab.cli.app import app as cli
from serve_helpers import boxed_echo, client, gated, proxy_server, scripted, units

USER = [{"role": "user", "content": "What is 12?"}]


def test_strategy_answer_usage_trace_id_and_store(tmp_path) -> None:
    votes = iter(["I think \\boxed{3}.", "Surely \\boxed{4}.", "Again: \\boxed{4}"])
    with proxy_server(tmp_path, scripted(lambda m, p: next(votes)), strategy="cot") as srv:
        raw = client(srv.url).chat.completions.with_raw_response.create(
            model="self_consistency-k3-temperature0.5/fake", messages=USER)
        answer = raw.parse()
    trace_id = raw.headers["x-mistakelab-trace-id"]
    # the vote's winner, as the full text of the first sample that had it
    assert answer.choices[0].message.content == "Surely \\boxed{4}."
    ext = answer.model_extra["mistakelab"]
    assert ext["trace_id"] == trace_id and ext["final_answers"] == ["4"]
    assert ext["strategy"] == "self_consistency(k=3,temperature=0.5)"
    solver = ext["usage_by_role"]["solver"]
    assert solver["calls"] == 3
    assert answer.usage.completion_tokens == solver["completion_tokens"] == 3 + 2 + 2  # words
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    run, rows, st = units(tmp_path)
    assert run.config["kind"] == "served" and run.status == "served"
    assert [u.unit_key for u in rows] == [f"{trace_id}/0"]
    trace = st.trace(run.id, rows[0].unit_key)
    assert len(trace.calls) == 3 and {c.params.temperature for c in trace.calls} == {0.5}
    assert rows[0].result.final_answer == "4" and rows[0].result.pass_at_k is None  # no gold: no grading
    assert st.call_counts(run.id) == (3, 0)


def test_default_strategy_n_choices_and_models(tmp_path) -> None:
    fake = scripted(boxed_echo)
    with proxy_server(tmp_path, fake, strategy="cot") as srv:
        c = client(srv.url)
        answer = c.chat.completions.create(model="fake", messages=USER, n=3, temperature=0.8)
        names = [m.id for m in c.models.list().data]
        health = httpx2.get(srv.url.replace("/v1", "/health")).json()
    assert [ch.index for ch in answer.choices] == [0, 1, 2]
    assert all("\\boxed{12}" in ch.message.content for ch in answer.choices)
    seeds = [call.params.seed for call in fake.calls]
    assert len(set(seeds)) == 3  # three choices: three independent samples
    assert names[0] == "fake" and {"cot/fake", "self_consistency/fake", "none/fake"} <= set(names)
    assert health["status"] == "ok" and health["models"] == ["fake"] and health["served"] == 1
    _, rows, _ = units(tmp_path)
    assert len(rows) == 3 and len({r.result.problem_id for r in rows}) == 3


def test_seed_decides_samples_and_cache(tmp_path) -> None:
    fake = scripted(boxed_echo)
    with proxy_server(tmp_path, fake) as srv:
        c = client(srv.url)
        ask = dict(model="self_consistency-k2/fake", messages=USER)
        first = c.chat.completions.create(**ask, seed=5)
        again = c.chat.completions.create(**ask, seed=5)
        c.chat.completions.create(**ask)
        c.chat.completions.create(**ask)
    # same seed: the same samples, served from the cache (no model call)
    assert len(fake.calls) == 2 + 2 + 2
    assert again.model_extra["mistakelab"]["usage_by_role"]["solver"]["cached"] == 2
    assert again.choices[0].message.content == first.choices[0].message.content
    unseeded = [call.params.seed for call in fake.calls[2:]]
    assert len(set(unseeded)) == 4  # no seed: each request samples afresh


def test_stream_keepalive_then_chunks(tmp_path) -> None:
    release = threading.Event()
    text = "A long enough final answer to be sent in several pieces: \\boxed{7}"
    with proxy_server(tmp_path, scripted(gated(release, text)), strategy="cot") as srv:
        with httpx2.stream("POST", srv.url + "/chat/completions", timeout=30,
                           json={"model": "fake", "messages": USER, "stream": True}) as r:
            assert r.headers["content-type"].startswith("text/event-stream") and r.headers["x-mistakelab-trace-id"]
            lines = r.iter_lines()
            assert next(line for line in lines if line) == ": keep-alive"  # while the strategy works
            release.set()
            rest = list(lines)
        with client(srv.url).chat.completions.create(model="fake", messages=USER, stream=True,
                                                     stream_options={"include_usage": True}) as s:
            chunks = list(s)
    data = [line for line in rest if line.startswith("data:")]
    assert data[-1] == "data: [DONE]" and len(data) > 4
    parts = [ch.choices[0].delta.content or "" for ch in chunks if ch.choices]
    assert "".join(parts) == text and len(parts) > 3
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == len(text.split())
    assert chunks[-1].model_extra["mistakelab"]["final_answers"] == ["7"]


def test_none_on_the_scripted_backend_sends_the_conversation(tmp_path) -> None:
    fake = scripted(boxed_echo)
    with proxy_server(tmp_path, fake, strategy="self_consistency:k=4") as srv:
        answer = client(srv.url).chat.completions.create(
            model="none/fake", messages=[{"role": "system", "content": "Be brief."}, *USER], max_tokens=50,
            temperature=0)
    assert len(fake.calls) == 1 and [m.role for m in fake.calls[0].messages] == ["system", "user"]
    assert fake.calls[0].params.max_tokens == 50
    assert answer.choices[0].message.content == boxed_echo(fake.calls[0].messages, None)


def test_errors_in_openai_shape(tmp_path) -> None:
    stuck = threading.Event()
    fake = scripted(gated(stuck))
    with proxy_server(tmp_path, fake, strategy="cot", timeout=0.3) as srv:
        c = client(srv.url)
        with pytest.raises(openai.BadRequestError) as bad:
            c.chat.completions.create(model="nope/fake", messages=USER)
        with pytest.raises(openai.NotFoundError):
            c.chat.completions.create(model="other-model", messages=USER)
        r = httpx2.post(srv.url + "/chat/completions", content=b"{oops")
        missing = httpx2.post(srv.url + "/chat/completions", json={"model": "fake"})
        route = httpx2.get(srv.url + "/elsewhere")
        with pytest.raises(openai.APIStatusError) as late:
            c.chat.completions.create(model="fake", messages=USER)
        stuck.set()
    assert bad.value.status_code == 400 and bad.value.body["code"] == "unknown_strategy"
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "messages"
    assert route.status_code == 404 and "error" in route.json()
    assert late.value.status_code == 504 and late.value.response.headers["x-mistakelab-trace-id"]
    _, rows, _ = units(tmp_path)
    assert [r.result.status for r in rows] == ["failed"] and "cancelled" in rows[0].result.error


def test_a_failing_call_is_an_error_answer_and_a_failed_unit(tmp_path) -> None:
    def script(messages, params):
        return RuntimeError("engine on fire")

    with proxy_server(tmp_path, scripted(script), strategy="cot") as srv:
        with pytest.raises(openai.InternalServerError) as err:
            client(srv.url).chat.completions.create(model="fake", messages=USER)
    assert "engine on fire" in err.value.body["message"]
    _, rows, _ = units(tmp_path)
    assert rows[0].result.status == "failed" and "engine on fire" in rows[0].result.error


def test_api_key(tmp_path) -> None:
    with proxy_server(tmp_path, scripted(boxed_echo), api_key="s3cret") as srv:
        with pytest.raises(openai.AuthenticationError):
            client(srv.url, api_key="wrong").chat.completions.create(model="fake", messages=USER)
        with pytest.raises(openai.AuthenticationError):
            client(srv.url, api_key="wrong").models.list()
        ok = client(srv.url, api_key="s3cret").chat.completions.create(model="fake", messages=USER)
        health = httpx2.get(srv.url.replace("/v1", "/health"))
    assert ok.choices[0].message.content and health.status_code == 200


def test_graceful_shutdown_finishes_requests_in_flight(tmp_path) -> None:
    release, entered = threading.Event(), threading.Event()
    srv = proxy_server(tmp_path, scripted(gated(release, "late but whole \\boxed{2}", entered)), strategy="cot")
    out: dict[str, object] = {}
    with srv:
        c = client(srv.url, timeout=30)

        def ask() -> None:
            out["answer"] = c.chat.completions.create(model="fake", messages=USER)

        t = threading.Thread(target=ask)
        t.start()
        assert entered.wait(20)  # the request is inside the strategy
        srv.server.should_exit = True  # what SIGTERM does
        release.set()
        t.join(30)
    assert out["answer"].choices[0].message.content == "late but whole \\boxed{2}"
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(srv.url.replace("/v1", "/health"))
    run, rows, _ = units(tmp_path)
    assert run.status == "served" and [r.result.status for r in rows] == ["done"]


def test_show_prints_served_traffic(tmp_path) -> None:
    with proxy_server(tmp_path, scripted(boxed_echo), strategy="cot") as srv:
        c = client(srv.url)
        for _ in range(2):
            c.chat.completions.create(model="fake", messages=USER)
        c.chat.completions.create(model="self_consistency-k2/fake", messages=USER, temperature=0.5)
    run, _, _ = units(tmp_path)
    out = CliRunner().invoke(cli, ["show", run.id, "--store", str(tmp_path / "served.db")], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert "served requests" in out.output and "no accuracy" in out.output
    cells = {}
    for line in out.output.splitlines():
        parts = [p.strip() for p in line.split("│")[1:-1]]
        if len(parts) > 5 and parts[1] in ("cot", "self_consistency(k=2)"):
            cells[parts[1]] = parts[2:6]  # requests, failed, answered, calls
    assert cells == {"cot": ["2", "0", "2", "2"], "self_consistency(k=2)": ["1", "0", "1", "2"]}
