"""Text from users, files and models is printed literally: rich markup is shown, not applied
(and never crashes the printer), terminal control characters are shown as escapes, and
right-to-left text and very long lines print as they are. Through problem ids, questions,
gold answers, model names, task and strategy labels, run names, paths, record splits and
sources, model output and error messages, in sample, run, show, errors, runs and locate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mistakelab.cli import app
from mistakelab.report.text import visible
from mistakelab.store import RunStore

runner = CliRunner(env={"COLUMNS": "250", "OPENAI_API_KEY": "test"})

SHORT = [
    "[bold]p1[/bold]",
    "[/x]",
    "[red]x[/red]",
    "\x1b[31mred\x1b[0m",  # ANSI colour
    "\x1b]0;pwned\x07",  # OSC: set the terminal title
    "over\rwrite",
    "nul\x00byte",
    "back\x08\x08space",
    "\u202eevil\u202c",  # right-to-left override
    "\x9b2J",  # 8-bit CSI: clear screen
    "del\x7fete",
    "שלום [b]עולם[/b]",  # right-to-left text with markup
    "مرحبا",
]
LONG = "long " + "x" * 4000
CORPUS = SHORT + [LONG]
# characters that must never reach the terminal raw
RAW = ["\x1b", "\x00", "\x07", "\x08", "\r", "\u202e", "\u202c", "\x9b", "\x7f"]


def _toml_str(s: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL needs one too)."""
    return json.dumps(s).replace("\x7f", "\\u007f")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)  # a "/" of "[/x]" in a name is a folder
    path.write_text(text, encoding="utf-8")
    return path


def _clean(out: str) -> None:
    leaked = [c for c in RAW if c in out]
    assert not leaked, f"raw control characters in the output: {leaked!r}"
    assert "Traceback" not in out


def _shows(out: str, s: str) -> None:
    assert visible(s, one_line=True) in out or visible(s) in out, (s, out[-3000:])


def _task_file(path: Path) -> Path:
    rows = [{"id": s, "question": f"Question {k}: {s}?", "answer": f"{s}\n#### {k}"} for k, s in enumerate(CORPUS)]
    return _write(path, "\n".join(json.dumps(r) for r in rows))


@pytest.fixture
def hostile_dir(tmp_path: Path) -> Path:
    d = tmp_path / "[red]x[/red] [/x]"
    d.mkdir(parents=True)  # "[/x]" holds a slash: folders "[red]x[", "red] [", "x]"
    return d


def test_sample_prints_ids_questions_and_answers_literally(hostile_dir: Path) -> None:
    data = _task_file(hostile_dir / "[bold]q[/bold].jsonl")
    res = runner.invoke(app, ["sample", f"gsm8k_file:path={data}", "-n", str(len(CORPUS))])
    assert res.exit_code == 0, res.output
    _clean(res.output)
    for s in SHORT:
        _shows(res.output, s)  # as the problem id (the rule) and in the question
        assert f"Question {CORPUS.index(s)}: {visible(s)}?" in res.output
    assert "x" * 200 in res.output  # the long line is printed, folded
    bad = runner.invoke(app, ["sample", f"gsm8k_file:path={hostile_dir / 'none [/x].jsonl'}"])
    assert bad.exit_code == 2 and f"{hostile_dir / 'none [/x].jsonl'}: file not found" in bad.output


def _config(d: Path, s: str, outputs: list[str]) -> Path:
    data = _task_file(d / "q.jsonl")
    cfg = _write(d / "exp.toml", f"""
name = {_toml_str("run " + s)}
n_problems = 2
store = {_toml_str(str(d / "[red]store[/red].db"))}
[[models]]
backend = "scripted"
model = "fake"
name = {_toml_str("model " + s)}
options = {{ outputs = [{", ".join(_toml_str(o) for o in outputs)}] }}
[[tasks]]
name = "gsm8k_file"
label = {_toml_str("task " + s)}
options = {{ path = {_toml_str(str(data))} }}
[[strategies]]
name = "cot"
label = {_toml_str("strategy " + s)}
""")
    return cfg


@pytest.mark.parametrize("s", CORPUS, ids=[repr(s)[:24] for s in CORPUS])
def test_run_show_errors_runs_print_names_and_paths_literally(hostile_dir: Path, s: str) -> None:
    # model output is hostile too: its answer is extracted, never printed raw
    cfg = _config(hostile_dir, s, [f"{s} \\boxed{{0}}", f"{s}\x1b[2J \\boxed{{{s}}}"])
    store = str(hostile_dir / "[red]store[/red].db")
    res = runner.invoke(app, ["run", str(cfg)])
    assert res.exit_code == 0, res.output
    _clean(res.output)
    assert f"→ store {store}" in res.output and f"run stored in {store}" in res.output
    shown = runner.invoke(app, ["show", "run " + s if s != LONG else "run", "--store", store])
    listed = runner.invoke(app, ["runs", "--store", store])
    st = RunStore(store)
    (run_id,) = [r.id for r in st.list_runs()]
    st.close()
    errors = runner.invoke(app, ["errors", run_id, "--store", store])
    for out in (shown, listed, errors):
        assert out.exit_code == 0, out.output
        _clean(out.output)
    if s != LONG:  # a 4000-character name is folded across table lines; the rest is checked whole
        for out in (res.output, shown.output):
            _shows(out, "model " + s)  # the table title: "<run>: <model> on <task>"
            _shows(out, "task " + s)
            _shows(out, "strategy " + s)
        _shows(errors.output, "task " + s)
        _shows(errors.output, "strategy " + s)
        _shows(listed.output, run_id)


def test_error_messages_with_hostile_text_stay_one_literal_line(hostile_dir: Path) -> None:
    url, model = "http://127.0.0.1:9/[/x]/v1", "[bold]m[/bold]\x1b[31m"
    cfg = _write(hostile_dir / "closed.toml", f"""
n_problems = 1
store = {_toml_str(str(hostile_dir / "r.db"))}
[[models]]
backend = "openai"
model = {_toml_str(model)}
options = {{ base_url = {_toml_str(url)}, max_retries = 0, timeout = 1 }}
[[tasks]]
name = "gsm8k_sample"
[[strategies]]
name = "cot"
""")
    res = runner.invoke(app, ["run", str(cfg)])
    assert res.exit_code == 1
    _clean(res.output)
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "1 of 1 units failed" in errors[0] and "[/x]/v1" in errors[0]
    assert "[bold]m[/bold]\\x1b[31m" in errors[0]
    bad = runner.invoke(app, ["run", str(cfg), "-s", "[/x]\x1b[2J\x00"])
    assert bad.exit_code == 2
    _clean(bad.output)
    assert "flag --strategy '[/x]\\x1b[2J\\x00': unknown strategy" in bad.output


def test_locate_prints_record_labels_literally(hostile_dir: Path) -> None:
    data = hostile_dir / "[bold]pb[/bold].jsonl"
    rows = [{"id": s, "problem": s, "steps": [f"2 + 2 = 5 {s}", s], "label": 0, "final_answer_correct": False,
             "split": "split " + s, "source": "source " + s} for s in SHORT]
    _write(data, "\n".join(json.dumps(r) for r in rows))
    res = runner.invoke(app, ["locate", "--data", str(data), "-l", "arithmetic:label=[/x]\x1b[31m", "--by-source",
                              "--store", str(hostile_dir / "l.db")])
    assert res.exit_code == 0, res.output
    _clean(res.output)
    for s in SHORT:
        _shows(res.output, "split " + s)
        _shows(res.output, "source " + s)
    _shows(res.output, "[/x]\x1b[31m")


def test_oracle_label_is_shown() -> None:
    """Markup-looking words of our own ("[oracle-assisted]") were swallowed as a style."""
    from rich.console import Console

    from mistakelab.core.types import Result
    from mistakelab.metrics import summarize
    from mistakelab.report.table import summary_table

    (row,) = summarize([Result(problem_id="p", strategy="try_again", model="m", task="t", final_answer="1",
                               correct=True, used_gold=True)])
    console = Console(width=250, record=True)
    console.print(summary_table([row], "[/x]"))
    text = console.export_text()
    assert "try_again [oracle-assisted]" in text and "[/x]" in text


def test_visible_escapes_controls_and_keeps_text() -> None:
    assert visible("a\x1b[31mb\x00c\u202ed") == "a\\x1b[31mb\\x00c\\u202ed"
    assert visible("line\nnext\ttab") == "line\nnext\ttab"
    assert visible("line\nnext\ttab", one_line=True) == "line\\nnext\\ttab"
    assert visible("שלום مرحبا [b]") == "שלום مرحبا [b]"
    assert visible("\ud800") == "\\ud800"
