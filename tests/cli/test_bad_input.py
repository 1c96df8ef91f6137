"""Malformed input, as a new user would type it: every row must end in one clear error line
(naming the file, line, field or flag, and where the value came from), a non-zero exit code,
and no traceback. The rows are the cases of issue 9 and others a user would make."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from mistakelab.cli import app
from mistakelab.core import Problem
from mistakelab.store import StoreError
from mistakelab.tasks.base import Task, tasks

runner = CliRunner(env={"COLUMNS": "250", "OPENAI_API_KEY": "test"})

SCRIPTED = """
[[models]]
backend = "scripted"
model = "fake"
options = {{ outputs = ["\\\\boxed{{4}}", "\\\\boxed{{4}}", "\\\\boxed{{4}}"] }}
"""


def _files(d: Path) -> dict[str, Path]:
    """Every broken file a row needs, in ``d``."""
    f: dict[str, Path] = {}

    def put(name: str, data: str | bytes) -> None:
        f[name] = d / name
        f[name].write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))

    put("ok.toml", 'name = "ok"\nn_problems = 1\n' + SCRIPTED.format() +
        '[[tasks]]\nname = "gsm8k_sample"\n[[strategies]]\nname = "cot"\n')
    put("bad.toml", 'name = "unterminated\n')
    put("types.toml", 'n_problems = "ten"\n' + SCRIPTED.format() + '[[tasks]]\nname = "gsm8k_sample"\n'
        '[[strategies]]\nname = "cot"\n')
    put("extra.toml", 'colour = "red"\n' + SCRIPTED.format() + '[[tasks]]\nname = "gsm8k_sample"\n'
        '[[strategies]]\nname = "cot"\n')
    put("params.toml", SCRIPTED.format() + '[[tasks]]\nname = "gsm8k_sample"\n[[strategies]]\n'
        'name = "self_consistency"\nk = -2\n')
    put("prompt.toml", SCRIPTED.format() + '[[tasks]]\nname = "gsm8k_sample"\n[[strategies]]\nname = "self_refine"\n'
        '[prompts]\n"self_refine.nope" = "x"\n')
    put("noout.toml", '[[models]]\nbackend = "scripted"\nmodel = "fake"\n[[tasks]]\nname = "gsm8k_sample"\n'
        '[[strategies]]\nname = "cot"\n')
    put("closed.toml", 'name = "closed"\nn_problems = 2\n[[models]]\nbackend = "openai"\nmodel = "m"\n'
        'options = { base_url = "http://127.0.0.1:9/v1", max_retries = 1, timeout = 1 }\n'
        '[[tasks]]\nname = "gsm8k_sample"\n[[strategies]]\nname = "cot"\n')
    put("broken.jsonl", '{"question": "2+2?", "answer": "#### 4"}\n{"question": "3+3?"\n')
    put("nofield.jsonl", '{"question": "2+2?"}\n')
    put("empty.jsonl", "")
    put("binary.jsonl", bytes(range(256)) * 4)
    put("latin1.jsonl", '{"question": "caf\xe9?", "answer": "#### 4"}\n'.encode("latin-1"))
    put("nul.jsonl", '{"problem": "p", "steps": ["a"]}\x00\x00\n')
    put("pb.jsonl", json.dumps({"problem": "p", "steps": ["2 + 2 = 5", "so 5"], "label": 0,
                                "final_answer_correct": False}) + "\n")
    put("pb_nosteps.jsonl", json.dumps({"problem": "p", "label": 0, "final_answer_correct": False}) + "\n")
    put("pb_label.jsonl", json.dumps({"problem": "p", "steps": ["a"], "label": 3, "final_answer_correct": False}) + "\n")
    put("notdb.db", "this is a text file, not a database\n" * 20)
    f["foreign.db"] = d / "foreign.db"
    conn = sqlite3.connect(f["foreign.db"])
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    (d / "folder.db").mkdir()
    f["folder.db"] = d / "folder.db"
    f["missing"] = d / "missing.jsonl"
    f["store"] = d / "runs.db"
    put("pairs.jsonl", json.dumps({"prompt": "p", "completion": "c"}) + "\n")
    return f


class Boom(Task):
    """A task that breaks while loading: stands for any unexpected error."""

    name = "boom"

    def load(self, n, seed):  # type: ignore[no-untyped-def]
        raise RuntimeError("kaboom [/x]")


F = Callable[[dict[str, Path]], list[str]]


def row(case: str, args: F, code: int, *fragments: str):  # type: ignore[no-untyped-def]
    return pytest.param(args, code, fragments, id=case)


def _run(f: dict[str, Path], *more: str) -> list[str]:
    return ["run", str(f["ok.toml"]), "--store", str(f["store"]), *more]


ROWS = [
    # -- run: names and parameters ---------------------------------------------------------
    row("unknown-strategy", lambda f: _run(f, "-s", "nope"), 2, "flag --strategy 'nope': unknown strategy 'nope'; known: "),
    row("unknown-task", lambda f: _run(f, "-t", "nope"), 2, "unknown task 'nope'; known:", "(from flag --task)"),
    row("unknown-backend", lambda f: ["run", "--backend", "nope", "-m", "fake", "--store", str(f["store"])], 2,
        "unknown backend 'nope'", "(from flag --model/--backend/--base-url)"),
    row("unknown-local-model", lambda f: ["run", "--backend", "local", "-m", "no-such-model", "--store", str(f["store"])],
        2, "unknown model 'no-such-model'", "not an embedded model"),
    row("backend-without-model", lambda f: ["run", "--backend", "scripted", "--store", str(f["store"])], 2,
        "flag --backend/--base-url: give the model too"),
    row("k=-1", lambda f: _run(f, "-s", "self_consistency:k=-1"), 2,
        "flag --strategy 'self_consistency:k=-1'", "k: Input should be greater than or equal to 1 (got -1)"),
    row("k=x", lambda f: _run(f, "-s", "self_consistency:k=x"), 2, "k: Input should be a valid integer", "(got 'x')"),
    row("unknown-parameter", lambda f: _run(f, "-s", "self_consistency:kk=3"), 2,
        "flag --strategy 'self_consistency:kk=3'", "kk: Extra inputs are not permitted"),
    row("k-without-value", lambda f: _run(f, "-s", "self_consistency:k"), 2,
        "flag --strategy 'self_consistency:k': expected key=value, got 'k'"),
    row("path-without-value", lambda f: _run(f, "-t", "gsm8k_file:path"), 2,
        "flag --task 'gsm8k_file:path': expected key=value, got 'path'"),
    row("kk-one-person", lambda f: _run(f, "-t", "knights_knaves:n_people=1"), 2,
        "task 'knights_knaves': n_people must be in 2..8, got 1 (from flag --task)"),
    row("igsm-bad-range", lambda f: _run(f, "-t", "igsm:min_ops=9,max_ops=2"), 2, "need 1 <= min_ops <= max_ops"),
    row("unknown-task-option", lambda f: _run(f, "-t", "gsm8k_file:pth=x.jsonl"), 2,
        "task 'gsm8k_file'", "unexpected keyword argument 'pth'"),
    row("unknown-rg-dataset", lambda f: _run(f, "-t", "rg:no_such_dataset"), 2,
        "unknown reasoning-gym dataset 'no_such_dataset'"),
    # -- run: task files -------------------------------------------------------------------
    *(row(f"task-file-{name}", lambda f, name=name: _run(f, "-t", f"gsm8k_file:path={f[name]}"), 2, fragment)
      for name, fragment in [("broken.jsonl", "broken.jsonl, line 2: invalid JSON"),
                             ("nofield.jsonl", "nofield.jsonl, line 1, field 'answer': missing field"),
                             ("empty.jsonl", "empty.jsonl: empty file (no problems)"),
                             ("binary.jsonl", "binary.jsonl: not UTF-8 text"),
                             ("latin1.jsonl", "latin1.jsonl: not UTF-8 text"),
                             ("missing", "missing.jsonl: file not found")]),
    # -- run: flags and config files -------------------------------------------------------
    row("n=-3", lambda f: _run(f, "-n", "-3"), 2, "flag -n/--n: Input should be greater than or equal to 1 (got -3)"),
    row("concurrency=0", lambda f: _run(f, "--concurrency", "0"), 2, "flag --concurrency:", "(got 0)"),
    row("max-tokens=0", lambda f: _run(f, "--max-tokens", "0"), 2, "flag --max-tokens:", "(got 0)"),
    row("temperature=-1", lambda f: _run(f, "--temperature", "-1"), 2, "flag --temperature:", "(got -1.0)"),
    row("n=abc", lambda f: _run(f, "-n", "abc"), 2, "Invalid value for '--n' / '-n'"),
    row("unknown-flag", lambda f: _run(f, "--colour", "red"), 2, "No such option: --colour"),
    row("bad-toml", lambda f: ["run", str(f["bad.toml"])], 2, "bad.toml: not valid TOML", "line 1"),
    row("toml-wrong-type", lambda f: ["run", str(f["types.toml"])], 2, "types.toml: invalid configuration",
        "field n_problems: Input should be a valid integer"),
    row("toml-unknown-key", lambda f: ["run", str(f["extra.toml"])], 2, "extra.toml", "field colour: Extra inputs"),
    row("toml-bad-parameter", lambda f: ["run", str(f["params.toml"]), "--store", str(f["store"])], 2,
        "strategy 'self_consistency': bad parameters: k", "(from ", "params.toml)"),
    row("toml-unknown-prompt", lambda f: ["run", str(f["prompt.toml"]), "--store", str(f["store"])], 2,
        "prompts.self_refine.nope: no strategy of this run has that prompt", "prompt.toml)"),
    row("config-missing", lambda f: ["run", str(f["missing"]) + ".toml"], 2, "missing.jsonl.toml: no such config file"),
    row("scripted-without-outputs", lambda f: ["run", str(f["noout.toml"]), "--store", str(f["store"])], 2,
        "scripted backend needs options.outputs or options.outputs_file"),
    # -- run: stores -----------------------------------------------------------------------
    row("store-not-sqlite", lambda f: _run(f, "--store", str(f["notdb.db"])), 2,
        "notdb.db: not an SQLite database (so not a mistakelab run store)"),
    row("store-foreign-sqlite", lambda f: _run(f, "--store", str(f["foreign.db"])), 2,
        "foreign.db: an SQLite database, but not a mistakelab run store (its tables: contacts)"),
    row("store-is-folder", lambda f: _run(f, "--store", str(f["folder.db"])), 2, "folder.db: is a folder"),
    row("store-under-a-file", lambda f: _run(f, "--store", str(f["notdb.db"]) + "/x.db"), 2,
        "cannot create its folder", "notdb.db is a file"),
    row("unexpected-error", lambda f: _run(f, "-t", "boom"), 1,
        "RuntimeError: kaboom [/x] (run with --debug for the traceback)"),
    # -- locate ----------------------------------------------------------------------------
    row("locate-scripted-without-outputs", lambda f: ["locate", "--backend", "scripted", "--data", str(f["pb.jsonl"]),
                                                      "-l", "critic", "--store", str(f["store"])], 2,
        "flag --model/--backend", "scripted backend needs options.outputs"),
    row("locate-unknown-backend", lambda f: ["locate", "--backend", "nope", "--data", str(f["pb.jsonl"]), "-l", "critic",
                                             "--store", str(f["store"])], 2, "unknown backend 'nope'"),
    row("locate-unknown-locator", lambda f: ["locate", "--data", str(f["pb.jsonl"]), "-l", "nope", "--store",
                                             str(f["store"])], 2, "flag --locator 'nope': unknown locator 'nope'"),
    row("locate-bad-parse-mode", lambda f: ["locate", "--data", str(f["pb.jsonl"]), "-l", "critic:parse=loose",
                                            "--store", str(f["store"])], 2,
        "flag --locator 'critic:parse=loose'", "field parse: Input should be 'reference' or 'lenient'"),
    row("locate-n-without-value", lambda f: ["locate", "--data", str(f["pb.jsonl"]), "-l", "critic:n", "--store",
                                             str(f["store"])], 2, "flag --locator 'critic:n': expected key=value"),
    row("processbench-binary", lambda f: ["locate", "--data", str(f["binary.jsonl"]), "--store", str(f["store"])], 2,
        "binary.jsonl: not UTF-8 text"),
    row("processbench-latin1", lambda f: ["locate", "--data", str(f["latin1.jsonl"]), "--store", str(f["store"])], 2,
        "latin1.jsonl: not UTF-8 text"),
    row("processbench-nul", lambda f: ["locate", "--data", str(f["nul.jsonl"]), "--store", str(f["store"])], 2,
        "nul.jsonl: holds NUL bytes"),
    row("processbench-missing", lambda f: ["locate", "--data", str(f["missing"]), "--store", str(f["store"])], 2,
        "missing.jsonl: no such file"),
    row("processbench-empty", lambda f: ["locate", "--data", str(f["empty.jsonl"]), "--store", str(f["store"])], 2,
        "empty.jsonl: no records"),
    row("processbench-no-steps", lambda f: ["locate", "--data", str(f["pb_nosteps.jsonl"]), "--store",
                                            str(f["store"])], 2, "pb_nosteps.jsonl: line 1: field steps"),
    row("processbench-label-past-end", lambda f: ["locate", "--data", str(f["pb_label.jsonl"]), "--store",
                                                  str(f["store"])], 2, "field label: 3 is past the last step"),
    row("locate-nothing-to-do", lambda f: ["locate", "--store", str(f["store"])], 2, "give --data FILE or --build TASK"),
    row("locate-build-unknown-task", lambda f: ["locate", "--build", "nope", "--store", str(f["store"])], 2,
        "unknown task 'nope'"),
    row("locate-store-not-sqlite", lambda f: ["locate", "--data", str(f["pb.jsonl"]), "--store", str(f["notdb.db"])],
        2, "not an SQLite database"),
    # -- calibrate, sample -----------------------------------------------------------------
    row("calibrate-scripted", lambda f: ["calibrate", "--backend", "scripted", "--store", str(f["store"])], 2,
        "flag --model/--backend", "scripted backend needs options.outputs"),
    row("calibrate-missing-file", lambda f: ["calibrate", "--task", f"gsm8k_file:path={f['missing']}", "--store",
                                             str(f["store"])], 2, "missing.jsonl: file not found"),
    row("sample-unknown-task", lambda f: ["sample", "nope"], 2, "unknown task 'nope'"),
    row("sample-bad-options", lambda f: ["sample", "igsm:min_ops=9,max_ops=2"], 2, "need 1 <= min_ops <= max_ops"),
    row("sample-path-without-value", lambda f: ["sample", "gsm8k_file:path"], 2,
        "argument TASK 'gsm8k_file:path': expected key=value, got 'path'"),
    row("sample-binary-file", lambda f: ["sample", f"gsm8k_file:path={f['binary.jsonl']}"], 2, "not UTF-8 text"),
    # -- show, errors, runs, models --------------------------------------------------------
    row("show-no-store", lambda f: ["show", "x", "--store", str(f["missing"]) + ".db"], 2, "no run store at"),
    row("show-store-not-sqlite", lambda f: ["show", "x", "--store", str(f["notdb.db"])], 2, "not an SQLite database"),
    row("errors-store-folder", lambda f: ["errors", "x", "--store", str(f["folder.db"])], 2, "is a folder"),
    row("runs-foreign-store", lambda f: ["runs", "--store", str(f["foreign.db"])], 2, "not a mistakelab run store"),
    row("models-prepare-unknown", lambda f: ["models", "--prepare", "nope"], 2, "unknown embedded model 'nope'"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(f: dict[str, Path], *more: str) -> list[str]:
    """``serve`` on a free port (rows whose error comes after the flags' checks)."""
    return ["serve", "--store", str(f["store"]), "--port", str(_free_port()), *more]


UP = ["--upstream", "http://127.0.0.1:9/v1", "--model", "m"]  # an upstream that is never asked (model named)


def _train(f: dict[str, Path], data: str = "pairs.jsonl", *more: str) -> list[str]:
    return ["train", "sft", str(f[data]), "--base", "smollm2-135m", "--out", str(f["store"].parent / "a"), *more]


ROWS += [
    # -- serve: every flag, checked by its type before anything starts (issue 25) ----------
    row("serve-keepalive=0", lambda f: _serve(f, "--keepalive", "0"), 2, "flag --keepalive: Input should be greater than 0"),
    row("serve-keepalive=-1", lambda f: _serve(f, "--keepalive", "-1"), 2, "flag --keepalive:", "(got -1.0)"),
    row("serve-concurrency=0", lambda f: _serve(f, "--concurrency", "0"), 2,
        "flag --concurrency: Input should be greater than or equal to 1 (got 0)"),
    row("serve-concurrency=-3", lambda f: _serve(f, "--concurrency", "-3"), 2, "flag --concurrency:", "(got -3)"),
    row("serve-timeout=-5", lambda f: _serve(f, "--timeout", "-5"), 2, "flag --timeout: Input should be greater than 0"),
    row("serve-timeout=0", lambda f: _serve(f, "--timeout", "0"), 2, "flag --timeout:", "(got 0.0)"),
    row("serve-timeout=abc", lambda f: _serve(f, "--timeout", "abc"), 2, "Invalid value for '--timeout'"),
    row("serve-max-tokens=-1", lambda f: _serve(f, "--max-tokens", "-1"), 2, "flag --max-tokens:", "(got -1)"),
    row("serve-max-tokens=0", lambda f: _serve(f, "--max-tokens", "0"), 2, "flag --max-tokens:", "(got 0)"),
    row("serve-upstream-not-a-url", lambda f: _serve(f, "--upstream", "notaurl"), 2,
        "flag --upstream: not an http(s) URL with a host", "(got 'notaurl')"),
    row("serve-upstream-ftp", lambda f: _serve(f, "--upstream", "ftp://127.0.0.1/v1"), 2, "flag --upstream: not an http(s) URL"),
    row("serve-upstream-no-host", lambda f: _serve(f, "--upstream", "http:///v1"), 2, "flag --upstream: not an http(s) URL"),
    row("serve-upstream-bad-port", lambda f: _serve(f, "--upstream", "http://127.0.0.1:99999/v1"), 2,
        "flag --upstream: not an http(s) URL with a valid port"),
    row("serve-port=99999", lambda f: ["serve", "--port", "99999"], 2,
        "flag --port: Input should be less than or equal to 65535 (got 99999)"),
    row("serve-port=-1", lambda f: ["serve", "--port", "-1"], 2, "flag --port: Input should be greater than or equal to 1"),
    row("serve-port=0", lambda f: ["serve", "--port", "0"], 2, "flag --port:", "(got 0)"),
    row("serve-port=abc", lambda f: ["serve", "--port", "abc"], 2, "Invalid value for '--port'"),
    row("serve-port-in-use", lambda f: ["serve", "--store", str(f["store"]), "--port", str(f["busy"]), *UP], 2,
        "flag --port: cannot listen on 127.0.0.1:", "another server"),
    row("serve-host-empty", lambda f: _serve(f, "--host", ""), 2, "flag --host: String should have at least 1 character"),
    row("serve-host-open-without-key", lambda f: _serve(f, "--host", "0.0.0.0"), 2,
        "binding 0.0.0.0 opens the proxy to other machines", "MISTAKELAB_API_KEY"),
    row("serve-log-level", lambda f: _serve(f, "--log-level", "nonsense"), 2,
        "flag --log-level: Input should be 'critical', 'error', 'warning', 'info', 'debug' or 'trace'"),
    row("serve-upstream-retries=-1", lambda f: _serve(f, "--upstream-retries", "-1"), 2, "flag --upstream-retries:"),
    row("serve-name-empty", lambda f: _serve(f, "--name", ""), 2, "flag --name: String should have at least 1 character"),
    row("serve-key-env-empty", lambda f: _serve(f, "--upstream-key-env", ""), 2, "flag --upstream-key-env:"),
    row("serve-unknown-strategy", lambda f: _serve(f, "--strategy", "nonsense"), 2, "--strategy/--option:",
        "unknown strategy 'nonsense'"),
    row("serve-strategy-k=0", lambda f: _serve(f, "--strategy", "self_consistency:k=0"), 2, "--strategy/--option:", "k"),
    row("serve-strategy-over-cap", lambda f: _serve(f, "--strategy", "self_consistency:k=1000"), 2,
        "default strategy 'self_consistency:k=1000'", "at most 64 (max_samples)"),
    row("serve-strategy-sandbox-over-cap", lambda f: _serve(f, "--strategy", "pal:wall_seconds=3600"), 2,
        "at most 30 (max_sandbox_seconds)"),
    row("serve-strategy-oracle", lambda f: _serve(f, "--strategy", "feedback"), 2, "oracle-assisted"),
    row("serve-option-without-value", lambda f: _serve(f, "--option", "novalue"), 2, "key=value"),
    row("serve-max-samples=0", lambda f: _serve(f, "--max-samples", "0"), 2, "flag --max-samples:", "(got 0)"),
    row("serve-max-rounds=-1", lambda f: _serve(f, "--max-rounds", "-1"), 2, "flag --max-rounds:", "(got -1)"),
    row("serve-max-programs=0", lambda f: _serve(f, "--max-programs", "0"), 2, "flag --max-programs:"),
    row("serve-max-sandbox-seconds=0", lambda f: _serve(f, "--max-sandbox-seconds", "0"), 2, "flag --max-sandbox-seconds:"),
    row("serve-max-body-bytes=10", lambda f: _serve(f, "--max-body-bytes", "10"), 2,
        "flag --max-body-bytes: Input should be greater than or equal to 1024"),
    row("serve-unknown-model", lambda f: _serve(f, "--model", "no-such-model"), 2, "no-such-model"),
    row("serve-upstream-down-no-model", lambda f: _serve(f, "--upstream", "http://127.0.0.1:9/v1"), 2,
        "name the model with --model"),
    row("serve-store-not-sqlite", lambda f: _serve(f, *UP, "--store", str(f["notdb.db"])), 2, "not an SQLite database"),
    row("serve-store-folder", lambda f: _serve(f, *UP, "--store", str(f["folder.db"])), 2, "is a folder"),
    row("serve-unknown-flag", lambda f: _serve(f, "--colour", "red"), 2, "No such option: --colour"),
    # -- run: more flags ---------------------------------------------------------------------
    row("run-seed=abc", lambda f: _run(f, "--seed", "abc"), 2, "Invalid value for '--seed'"),
    row("run-temperature=abc", lambda f: _run(f, "--temperature", "abc"), 2, "Invalid value for '--temperature'"),
    row("run-max-tokens=-5", lambda f: _run(f, "--max-tokens", "-5"), 2, "flag --max-tokens:", "(got -5)"),
    # -- show, errors, compare, report, runs --------------------------------------------------
    row("show-unknown-run", lambda f: ["show", "nope", "--store", str(f["run.db"])], 2, "no run 'nope' in", "known: ok-"),
    row("errors-examples=-1", lambda f: ["errors", "ok", "--store", str(f["run.db"]), "--examples", "-1"], 2,
        "Invalid value for '--examples'"),
    row("errors-unknown-run", lambda f: ["errors", "nope", "--store", str(f["run.db"])], 2, "no run 'nope'"),
    row("errors-no-store", lambda f: ["errors", "x", "--store", str(f["missing"]) + ".db"], 2, "no run store at"),
    row("compare-boot=10", lambda f: ["compare", "ok", "--store", str(f["run.db"]), "--boot", "10"], 2,
        "Invalid value for '--boot'"),
    row("compare-unknown-baseline", lambda f: ["compare", "ok", "--store", str(f["run.db"]), "--baseline", "nosuch"], 2,
        "flag --baseline 'nosuch': no such strategy in run ok-", "its strategies: cot"),
    row("compare-unknown-run", lambda f: ["compare", "nope", "--store", str(f["run.db"])], 2, "no run 'nope'"),
    row("compare-no-store", lambda f: ["compare", "x", "--store", str(f["missing"]) + ".db"], 2, "no run store at"),
    row("compare-store-not-sqlite", lambda f: ["compare", "x", "--store", str(f["notdb.db"])], 2, "not an SQLite database"),
    row("report-step-budget=-1", lambda f: ["report", "ok", "--store", str(f["run.db"]), "--step-budget", "-1"], 2,
        "Invalid value for '--step-budget'"),
    row("report-unknown-run", lambda f: ["report", "nope", "--store", str(f["run.db"])], 2, "no run 'nope'"),
    row("report-no-store", lambda f: ["report", "x", "--store", str(f["missing"]) + ".db"], 2, "no run store at"),
    row("report-out-under-a-file", lambda f: ["report", "ok", "--store", str(f["run.db"]), "-o",
                                              str(f["notdb.db"]) + "/r.html"], 2, "notdb.db"),
    row("runs-store-folder", lambda f: ["runs", "--store", str(f["folder.db"])], 2, "is a folder"),
    row("runs-store-not-sqlite", lambda f: ["runs", "--store", str(f["notdb.db"])], 2, "not an SQLite database"),
    row("no-such-command", lambda f: ["nosuch"], 2, "No such command 'nosuch'"),
    # -- strategies, tasks, sample -------------------------------------------------------------
    row("strategies-unknown-flag", lambda f: ["strategies", "--colour"], 2, "No such option: --colour"),
    row("tasks-extra-argument", lambda f: ["tasks", "extra"], 2, "Got unexpected extra argument"),
    row("sample-missing-argument", lambda f: ["sample"], 2, "Missing argument"),
    row("sample-missing-file", lambda f: ["sample", f"gsm8k_file:path={f['missing']}"], 2, "missing.jsonl: file not found"),
    row("sample-rg-without-dataset", lambda f: ["sample", "rg:"], 2, "argument TASK 'rg:': no name before ':'"),
    row("sample-kk-one-person", lambda f: ["sample", "knights_knaves:n_people=1"], 2, "n_people must be in 2..8"),
    # -- locate, calibrate, blindspot ------------------------------------------------------------
    row("locate-n=0", lambda f: ["locate", "--build", "igsm", "-n", "0", "--store", str(f["store"])], 2,
        "Invalid value for '--n' / '-n'"),
    row("locate-samples=0", lambda f: ["locate", "--build", "igsm", "--samples", "0"], 2, "Invalid value for '--samples'"),
    row("locate-inject=-1", lambda f: ["locate", "--build", "igsm", "--inject", "-1"], 2, "Invalid value for '--inject'"),
    row("locate-concurrency=0", lambda f: ["locate", "--data", str(f["pb.jsonl"]), "--concurrency", "0"], 2,
        "Invalid value for '--concurrency'"),
    row("locate-max-tokens=0", lambda f: ["locate", "--data", str(f["pb.jsonl"]), "--max-tokens", "0"], 2,
        "Invalid value for '--max-tokens'"),
    row("calibrate-k=0", lambda f: ["calibrate", "--k", "0"], 2, "Invalid value for '--k'"),
    row("calibrate-bins=0", lambda f: ["calibrate", "--bins", "0"], 2, "Invalid value for '--bins'"),
    row("calibrate-n=0", lambda f: ["calibrate", "-n", "0"], 2, "Invalid value for '--n' / '-n'"),
    row("calibrate-temperature=-1", lambda f: ["calibrate", "--temperature", "-1"], 2, "Invalid value for '--temperature'"),
    row("calibrate-unknown-task", lambda f: ["calibrate", "--task", "nope", "--store", str(f["store"])], 2,
        "unknown task 'nope'"),
    row("blindspot-level=4", lambda f: ["blindspot", "--level", "4"], 2, "Invalid value for '--level'"),
    row("blindspot-n=0", lambda f: ["blindspot", "-n", "0"], 2, "Invalid value for '--n' / '-n'"),
    row("blindspot-concurrency=0", lambda f: ["blindspot", "--concurrency", "0"], 2, "Invalid value for '--concurrency'"),
    row("blindspot-model-option", lambda f: ["blindspot", "--model-option", "novalue"], 2,
        "--model-option expects KEY=VALUE, got 'novalue'"),
    # -- learn principles, export, train -----------------------------------------------------------
    row("principles-unknown-run", lambda f: ["learn", "principles", "nope", "--store", str(f["run.db"])], 2, "no run 'nope'"),
    row("principles-max-principles=0", lambda f: ["learn", "principles", "ok", "--max-principles", "0"], 2,
        "Invalid value for '--max-principles'"),
    row("principles-missing-run", lambda f: ["learn", "principles"], 2, "Missing argument"),
    # the model answered, but no principle in its reply: the model's doing (2); a server down is not (1)
    row("principles-model-states-none", lambda f: ["learn", "principles", "ok", "--store", str(f["run.db"])], 2,
        "the model stated no parseable principle"),
    row("principles-server-down", lambda f: ["learn", "principles", "ok", "--store", str(f["run.db"]), "--backend",
                                             "openai", "-m", "m", "--base-url", "http://127.0.0.1:9/v1", "--option",
                                             "max_retries=0", "--option", "timeout=1"], 1,
        "1 of 1 calls to openai:m@http://127.0.0.1:9/v1 failed", "ConnectError", "run again to retry"),
    row("principles-option-without-value", lambda f: ["learn", "principles", "ok", "--store", str(f["run.db"]),
                                                      "--option", "novalue"], 2, "--option 'novalue': expected key=value"),
    row("export-format-without-value", lambda f: ["export", "ok", "--store", str(f["run.db"]), "-f", "sft:form"], 2,
        "flag --format 'sft:form': expected key=value, got 'form'"),
    row("export-unknown-format", lambda f: ["export", "ok", "--store", str(f["run.db"]), "-f", "nope"], 2,
        "--format 'nope': unknown format; known:"),
    row("export-unknown-run", lambda f: ["export", "nope", "--store", str(f["run.db"]), "-f", "sft"], 2, "no run 'nope'"),
    row("export-missing-format", lambda f: ["export", "ok", "--store", str(f["run.db"])], 2, "Missing option"),
    row("train-unknown-kind", lambda f: ["train", "xyz", str(f["pairs.jsonl"]), "--base", "smollm2-135m"], 2,
        "unknown training kind 'xyz'"),
    row("train-base-typo", lambda f: _train(f, "pairs.jsonl", "--base", "qwen2.5-coder-05b"), 2,
        "--base 'qwen2.5-coder-05b': not an embedded model"),
    row("train-base-missing-gguf", lambda f: _train(f, "pairs.jsonl", "--base", str(f["missing"]) + ".gguf"), 2,
        "no such GGUF file"),
    row("train-base-folder-not-a-model", lambda f: _train(f, "pairs.jsonl", "--base", str(f["folder.db"])), 2,
        "a folder without config.json"),
    row("train-empty-jsonl", lambda f: _train(f, "empty.jsonl"), 2, "empty.jsonl: empty file"),
    row("train-broken-jsonl", lambda f: _train(f, "broken.jsonl"), 2, "broken.jsonl, line 2: invalid JSON"),
    row("train-binary-jsonl", lambda f: _train(f, "binary.jsonl"), 2, "binary.jsonl: not UTF-8 text"),
    row("train-missing-dataset", lambda f: _train(f, "missing"), 2, "missing.jsonl: no such dataset"),
    row("train-steps=0", lambda f: _train(f, "pairs.jsonl", "--steps", "0"), 2, "Invalid value for '--steps'"),
    row("train-lr=-1", lambda f: _train(f, "pairs.jsonl", "--lr", "-1"), 2, "Invalid value for '--lr'"),
    row("train-missing-base", lambda f: ["train", "sft", str(f["pairs.jsonl"])], 2, "Missing option '--base'"),
]


@pytest.fixture(scope="module")
def built_run(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A store holding one finished run named ``ok`` (built once; each test gets a copy)."""
    d = tmp_path_factory.mktemp("built")
    f = _files(d)
    res = runner.invoke(app, ["run", str(f["ok.toml"]), "--store", str(d / "run.db")])
    assert res.exit_code == 0, res.output
    return d / "run.db"


@pytest.fixture
def files(tmp_path: Path, built_run: Path):  # type: ignore[no-untyped-def]
    with tasks.temporary("boom", Boom), socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        f = _files(tmp_path)
        f["run.db"] = tmp_path / "run.db"
        shutil.copy(built_run, f["run.db"])
        f["busy"] = Path(str(busy.getsockname()[1]))  # a port something listens on
        yield f


def _check(res, code: int, fragments: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    out = res.output
    assert res.exit_code == code, out
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in out and "╭─ Traceback" not in out
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    if errors:  # our own errors: exactly one line holding every fragment
        assert len(errors) == 1, out
        assert all(fr in errors[0] for fr in fragments), (fragments, errors[0])
    else:  # click's usage errors: boxed, wrapped, but present
        flat = " ".join(out.replace("│", " ").split())
        assert all(" ".join(fr.split()) in flat for fr in fragments), (fragments, out)


@pytest.mark.parametrize("args, code, fragments", ROWS)
def test_bad_input_gives_one_clear_line(files, args: F, code: int, fragments: tuple[str, ...]) -> None:
    assert len(ROWS) >= 120
    _check(runner.invoke(app, args(files)), code, fragments)


def test_no_bad_input_touches_a_foreign_file(files) -> None:  # type: ignore[no-untyped-def]
    before = {k: p.read_bytes() for k, p in files.items() if p.is_file() and k not in ("store", "run.db")}
    for p in ROWS:
        runner.invoke(app, p.values[0](files))
    assert {k: files[k].read_bytes() for k in before} == before


def test_a_closed_port_is_a_failed_run_retried_next_time(files) -> None:  # type: ignore[no-untyped-def]
    args = ["run", str(files["closed.toml"]), "--store", str(files["store"])]
    first = runner.invoke(app, args)
    _check(first, 1, ("2 of 2 units failed: ", "ConnectError", "run again to retry them"))
    conn = sqlite3.connect(files["store"])
    assert [r[0] for r in conn.execute("SELECT status FROM units")] == ["failed", "failed"]
    calls = conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    assert conn.execute("SELECT COUNT(*) FROM completion_cache").fetchone()[0] == 0
    again = runner.invoke(app, args)  # not "already done": asked again, failed again
    _check(again, 1, ("2 of 2 units failed",))
    assert "0 already done" in again.output
    assert conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 2 * calls
    shown = runner.invoke(app, ["show", "closed", "--store", str(files["store"])])
    assert shown.exit_code == 0 and "0.0 [" in shown.output  # n = 0: no wrong answers counted
    conn.close()


def test_debug_shows_the_traceback(files) -> None:  # type: ignore[no-untyped-def]
    for args in (["--debug", *_run(files, "--store", str(files["notdb.db"]))],
                 _run(files, "--store", str(files["notdb.db"]), "--debug")):
        res = runner.invoke(app, args)
        assert isinstance(res.exception, StoreError) and res.exit_code == 1
    res = runner.invoke(app, _run(files, "-t", "boom", "--debug"))
    assert isinstance(res.exception, RuntimeError)


def test_the_real_command_prints_no_traceback(tmp_path: Path) -> None:
    """Through the installed entry point (typer's own traceback printer included)."""
    f = _files(tmp_path)
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": os.pathsep.join(sys.path)}
    for args, code, fragment in [
        (_run(f, "-s", "self_consistency:k"), 2, "expected key=value"),
        (_run(f, "--store", str(f["notdb.db"])), 2, "not an SQLite database"),
        (["locate", "--data", str(f["binary.jsonl"]), "--store", str(f["store"])], 2, "not UTF-8"),
        (["show", "x", "--store", str(f["foreign.db"])], 2, "not a mistakelab run store (its tables: contacts)"),
    ]:
        p = subprocess.run([sys.executable, "-m", "mistakelab.cli", *args], capture_output=True, text=True,
                           env=env, timeout=120)
        assert p.returncode == code, p.stderr
        assert "Traceback" not in p.stderr and p.stdout == ""
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], p.stderr
    debug = subprocess.run([sys.executable, "-m", "mistakelab.cli", "--debug", *_run(f, "--store", str(f["notdb.db"]))],
                           capture_output=True, text=True, env=env, timeout=120)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "StoreError" in debug.stderr


def test_locate_with_an_unreachable_model_fails_and_scores_nothing(files, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mistakelab.backends import ModelSpec
    from mistakelab.cli import locate_cmd

    closed = ModelSpec(backend="openai", model="m", options={"base_url": "http://127.0.0.1:9/v1", "max_retries": 0,
                                                            "timeout": 1})
    monkeypatch.setattr(locate_cmd, "_spec", lambda name, backend, flag: closed)
    preds = files["store"].parent / "preds.jsonl"
    res = runner.invoke(app, ["locate", "--data", str(files["pb.jsonl"]), "-l", "critic", "-l", "arithmetic",
                              "--store", str(files["store"]), "--predictions", str(preds)])
    _check(res, 1, ("critic: 1 of 1 records (", "ConnectError", "not scored", "run again to retry them"))
    got = {json.loads(line)["locator"]: json.loads(line) for line in preds.read_text().splitlines()}
    assert got["critic"]["failed"] and got["critic"]["pred"] is None
    assert got["arithmetic"]["failed"] is None and got["arithmetic"]["pred"] == 0


def test_a_script_that_runs_out_is_one_line(tmp_path: Path) -> None:
    """A scripted backend out of outputs (a test's bug) ends the run with one error line, and no
    'Future exception was never retrieved' traceback from a request nobody else waited on."""
    cfg = tmp_path / "few.toml"
    cfg.write_text('name = "few"\nn_problems = 4\nconcurrency = 4\n[[models]]\nbackend = "scripted"\n'
                   'model = "fake"\noptions = { outputs = ["\\\\boxed{4}"] }\n[[tasks]]\nname = "gsm8k_sample"\n'
                   '[[strategies]]\nname = "cot"\n')
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join(sys.path)}
    p = subprocess.run([sys.executable, "-m", "mistakelab.cli", "run", str(cfg), "--store", str(tmp_path / "r.db")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr and "never retrieved" not in p.stderr, p.stderr
    errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "has no output left" in errors[0], p.stderr
