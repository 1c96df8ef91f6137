"""A served run has no gold answers: ``compare`` and ``errors`` say so (as ``show`` does)
instead of grading every request wrong (issue 25, item 3)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mistakelab.cli.app import app as cli
from serve_helpers import boxed_echo, client, proxy_server, scripted, units

USER = [{"role": "user", "content": "What is 12?"}]


@pytest.mark.parametrize("command", ["compare", "errors"])
def test_commands_that_need_gold_refuse_a_served_run(tmp_path, command: str) -> None:
    with proxy_server(tmp_path, scripted(boxed_echo), strategy="cot") as srv:
        c = client(srv.url)
        c.chat.completions.create(model="fake", messages=USER)
        c.chat.completions.create(model="self_consistency-k2/fake", messages=USER, temperature=0.5)
    run, _, st = units(tmp_path)
    st.close()
    out = CliRunner().invoke(cli, [command, run.id, "--store", str(tmp_path / "served.db")], terminal_width=250)
    assert out.exit_code == 2, out.output
    errors = [line for line in out.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no gold answers" in errors[0] and f"{command} has no accuracy" in errors[0]
    assert "acc" not in out.output.replace("accuracy", "") and "wrong" not in out.output.replace("wrong answers", "")
