"""Strategy ``none`` in front of an upstream that fails (issue 25, item 5): a stream that
breaks off ends with a ``data: {"error": ...}`` event and its unit is stored failed; requests
the upstream never answered (down: 502, too slow: 504) are stored too, failed."""

from __future__ import annotations

import json
import socket
import threading

import httpx2
import pytest

from serve_helpers import UpReply, proxy_server, units, upstream  # noqa: F401 (fixture)

USER = [{"role": "user", "content": "What is 12345?"}]




def _events(text: str) -> list[dict]:
    return [json.loads(line[5:]) for line in text.splitlines()
            if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]")]


def test_a_stream_cut_mid_body_ends_with_an_error_event_and_a_failed_unit(tmp_path, upstream) -> None:
    upstream.script.append(UpReply(cut=True))
    with proxy_server(tmp_path, backend="openai", upstream=upstream.url, strategy="none") as srv:
        r = httpx2.post(srv.url + "/chat/completions", timeout=30,
                        json={"model": "up-model", "messages": USER, "stream": True})
    events = _events(r.text)
    assert r.status_code == 200 and events[0]["choices"][0]["delta"]["content"]  # what came, passed on
    assert "error" in events[-1] and events[-1]["error"]["code"] == "upstream_stream_broken", events[-1]
    _, rows, _ = units(tmp_path)
    assert [row.result.status for row in rows] == ["failed"] and "broke off" in rows[0].result.error


@pytest.mark.parametrize("stream", [False, True])
def test_an_upstream_that_is_down_is_a_stored_502(tmp_path, stream: bool) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    with proxy_server(tmp_path, backend="openai", upstream=f"http://127.0.0.1:{port}/v1", model="up-model",
                      strategy="none") as srv:
        r = httpx2.post(srv.url + "/chat/completions", timeout=30,
                        json={"model": "up-model", "messages": USER, "stream": stream})
    assert r.status_code == 502
    _, rows, _ = units(tmp_path)
    assert [row.result.status for row in rows] == ["failed"] and "unreachable" in rows[0].result.error


def test_a_timed_out_request_is_stored_failed(tmp_path, upstream) -> None:
    gate = threading.Event()
    upstream.script.append(UpReply(gate=gate))
    try:
        with proxy_server(tmp_path, backend="openai", upstream=upstream.url, strategy="none", timeout=0.3) as srv:
            r = httpx2.post(srv.url + "/chat/completions", timeout=30, json={"model": "up-model", "messages": USER})
    finally:
        gate.set()
    assert r.status_code == 504
    _, rows, _ = units(tmp_path)
    assert [row.result.status for row in rows] == ["failed"]


def test_show_counts_requests_passed_on(tmp_path, upstream) -> None:
    from typer.testing import CliRunner

    from mistakelab.cli.app import app

    with proxy_server(tmp_path, backend="openai", upstream=upstream.url, strategy="none") as srv:
        for i in range(2):
            assert httpx2.post(srv.url + "/chat/completions", timeout=30, json={
                "model": "up-model", "messages": [{"role": "user", "content": f"What is {i}?"}]}).status_code == 200
        assert httpx2.post(srv.url + "/chat/completions", timeout=30, json={
            "model": "cot/up-model", "messages": USER}).status_code == 200
    run, _, st = units(tmp_path)
    st.close()
    out = CliRunner().invoke(app, ["show", run.id, "--store", str(tmp_path / "served.db")], terminal_width=200)
    assert out.exit_code == 0
    assert "model calls: 3 made (2 passed on unchanged), 0 from cache" in " ".join(out.output.split())
