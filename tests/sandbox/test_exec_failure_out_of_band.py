"""The sandbox's own failure to start a program is reported out of band (on a close-on-exec
pipe inside the launcher), never read from what the program prints: a program that writes
the sandbox's failure text and exits 127 has a result, not a failed sandbox (issue 25, item 4)."""

from __future__ import annotations

from sandbox_fixtures import level, run  # noqa: F401 (fixtures)

from mistakelab.sandbox import RunStatus, run_program
from mistakelab.sandbox import process

IMPOSTOR = ("import sys\nsys.stderr.write('sandbox: cannot start the program: [Errno 11] Resource "
            "temporarily unavailable\\n')\nsys.exit(127)\n")


def test_a_program_printing_the_failure_text_is_a_result(run) -> None:
    result = run(IMPOSTOR)
    assert result.status is RunStatus.error and result.exit_code == 127
    assert result.status is not RunStatus.sandbox_unavailable
    assert "cannot start the program" in result.stderr  # its own output, kept as output


def test_an_interpreter_that_cannot_start_is_the_sandbox_failing(level, monkeypatch, tmp_path) -> None:
    missing = str(tmp_path / "no-such-python")
    monkeypatch.setattr(process, "python_for", lambda level: missing)
    result = run_program("print(1)", isolation=level)
    assert result.status is RunStatus.sandbox_unavailable
    assert result.stderr == ""  # nothing was put on the program's stderr
    if level != "namespaces":  # (there, binding the missing interpreter fails first, at setup)
        assert result.detail.startswith("sandbox: cannot start the program") and "no-such-python" in result.detail
