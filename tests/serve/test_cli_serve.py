"""``mistakelab serve``: refusals before serving, and the real command end to end on the
embedded smollm2-135m (a subprocess, stopped with SIGTERM: graceful)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

pytest.importorskip("starlette", reason="the proxy tests need the serve extra: pip install mistakelab[serve]")
pytest.importorskip("uvicorn", reason="the proxy tests need the serve extra: pip install mistakelab[serve]")

from mistakelab.cli.app import app
from mistakelab.models import list_models
from serve_helpers import client, units

runner = CliRunner(env={"COLUMNS": "250"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args,needle", [
    (["--host", "0.0.0.0"], "MISTAKELAB_API_KEY"),
    (["--strategy", "nonsense"], "unknown strategy 'nonsense'"),
    (["--strategy", "self_consistency:k=0"], "k"),
    (["--option", "novalue"], "key=value"),
    (["--upstream", "http://127.0.0.1:{port}/v1"], "name the model with --model"),
    (["--model", "no-such-model"], "no-such-model"),
])
def test_refusals_before_serving(tmp_path: Path, args: list[str], needle: str) -> None:
    args = [a.replace("{port}", str(_free_port())) for a in args]
    out = runner.invoke(app, ["serve", "--store", str(tmp_path / "s.db"), "--port", str(_free_port()), *args],
                        env={"MISTAKELAB_API_KEY": ""})
    assert out.exit_code == 2 and needle in out.output and "Traceback" not in out.output


def _smollm_installed() -> bool:
    return next(m for m in list_models() if m.name == "smollm2-135m").installed


@pytest.mark.local_model
def test_serve_command_on_the_embedded_model(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    if not _smollm_installed():
        pytest.skip("smollm2-135m not installed")
    port = _free_port()
    env = {**os.environ, "MISTAKELAB_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from mistakelab.cli.app import main; main()", "serve", "--model", "smollm2-135m", "--strategy", "cot",
         "--port", str(port), "--store", str(tmp_path / "served.db"), "--max-tokens", "24",
         "-o", "n_threads=1", "-o", "n_seq=4", "-o", "n_ctx_per_seq=512"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:  # readiness: the model loads before the port opens
            try:
                if httpx2.get(url.replace("/v1", "/health")).status_code == 200:
                    break
            except httpx2.ConnectError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"serve did not start:\n{proc.stdout.read() if proc.stdout else ''}")
                time.sleep(0.1)
        c = client(url, timeout=120)
        cot = c.chat.completions.create(model="smollm2-135m", messages=[{"role": "user", "content": "2+3?"}])
        sc = c.chat.completions.create(model="self_consistency-k2/smollm2-135m", seed=3,
                                       messages=[{"role": "user", "content": "2+3?"}])
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    # uvicorn shuts down gracefully, then re-raises SIGTERM, so the exit is the signal's
    assert proc.returncode in (0, -signal.SIGTERM) and "Application shutdown complete" in output, output
    assert cot.choices[0].message.content and cot.usage.completion_tokens <= 24
    assert sc.model_extra["mistakelab"]["usage_by_role"]["solver"]["calls"] == 2
    run, rows, _ = units(tmp_path)
    assert run.status == "served" and [r.status for r in rows] == ["done", "done"]
