"""The proxy in front of a pool of upstream servers (``--upstream`` repeated): a server that
refuses connections is marked down and its requests go to the other, for strategies and for
requests passed on; per-server figures land in the served run."""

from __future__ import annotations

from typer.testing import CliRunner

from serve_helpers import FakeUpstream, ServerThread, client, proxy_server, units
from mistakelab.cli import app

USER = [{"role": "user", "content": "What is 12?"}]


def test_a_dead_upstream_is_skipped_for_strategies_and_passed_on_requests(tmp_path) -> None:
    live, gone = FakeUpstream(), FakeUpstream()
    with ServerThread(gone.app) as dead:
        dead_url = dead.url
    with ServerThread(live.app) as server:
        with proxy_server(tmp_path, backend="openai", upstream=[f"{dead_url} weight=2", server.url],
                          model="up-model") as srv:
            passed = client(srv.url).chat.completions.create(model="none/up-model", messages=USER)
            solved = client(srv.url).chat.completions.create(model="cot/up-model", messages=USER)
            more = [client(srv.url).chat.completions.create(model=f"{s}/up-model", messages=USER).choices[0]
                    for s in ("none", "self_consistency-k2")]
    assert passed.choices[0].message.content.endswith("\\boxed{12}.")
    assert solved.choices[0].message.content.endswith("\\boxed{12}.") and all(c.message.content for c in more)
    assert len(live.requests) == 1 + 1 + 1 + 2 and not gone.requests
    run, rows, st = units(tmp_path)
    assert {r.status for r in rows} == {"done"}
    stats = {(m, s.server): s for m, s in st.server_stats(run.id)}
    passed_on = stats[("passed on", dead_url)]
    assert passed_on.failures == 1 and passed_on.downs == 1  # refused once, then left alone
    assert stats[("passed on", server.url)].answered == 2
    shown = CliRunner().invoke(app, ["show", run.id, "--store", str(tmp_path / "served.db")], terminal_width=200)
    assert shown.exit_code == 0 and dead_url in shown.output, shown.output
