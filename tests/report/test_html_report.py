"""The HTML report of real runs (scripted model, real runner): what each section holds,
checked against the store and the metrics it claims to show."""

from __future__ import annotations

import base64
import dataclasses
import html as htmlmod
import json
import re
from pathlib import Path

import pytest
from report_fixtures import BuiltRun, build_run, mixed_run  # noqa: F401
from typer.testing import CliRunner

from mistakelab.cli.app import app
from mistakelab.metrics import StrategySummary, summarize
from mistakelab.metrics.calibration import auroc
import mistakelab.report.html
from mistakelab.report.html import render_report, write_report
from mistakelab.report.html.viewer import SCHEMA
from mistakelab.report.html.curves import majority_curve
from mistakelab.report.html.summary import summary_tables
from mistakelab.store import RunStore, locate_predictions

runner = CliRunner()


def _render(run: BuiltRun, **kw) -> str:  # type: ignore[no-untyped-def]
    st = RunStore(run.store)
    try:
        return render_report(st, run.run_id, **kw).html
    finally:
        st.close()


def _details(html: str) -> dict[str, tuple[dict[str, str], dict]]:  # type: ignore[type-arg]
    """uid -> (the unit's data-* attributes, its detail JSON)."""
    out = {}
    for m in re.finditer(r'<details class="unit" ([^>]*)>.*?<script type="application/json" class="detail">(.*?)</script>',
                         html, re.S):
        attrs = {k: htmlmod.unescape(v) for k, v in re.findall(r'data-([a-z]+)="([^"]*)"', m.group(1))}
        out[attrs["uid"]] = (attrs, json.loads(m.group(2)))
    return out


def test_summary_tables_hold_the_show_numbers(mixed_run: BuiltRun) -> None:
    html = _render(mixed_run)
    st = RunStore(mixed_run.store)
    results = [u.result for u in st.units(mixed_run.run_id) if u.result]
    st.close()
    rows = summarize(results)
    tables = re.findall(r'<table class="data summary" data-model="([^"]*)" data-task="([^"]*)">(.*?)</table>', html, re.S)
    assert [(m, t) for m, t, _ in tables] == [("fake", "toy_add"), ("fake", "igsm"), ("fake", "gsm8k_sample")]
    body = dict(((m, t), b) for m, t, b in tables)
    # columns by header: fields the summary gains (CL, CS, RSS...) come after the fixed ones
    heads = {(t.model, t.task): [h for h, _ in t.columns] for t in summary_tables(rows)}
    for r in rows:
        cells = [htmlmod.unescape(re.sub("<[^>]+>", " ", c)).split() for c in
                 re.findall(r"<td[^>]*>(.*?)</td>", [row for row in body[(r.model, r.task)].split("<tr>")
                                                      if f">{r.strategy}" in row][0], re.S)]
        assert cells[1] == [str(r.n)]
        assert cells[2][0] == f"{100 * r.accuracy:.1f}" and cells[2][1] == f"[{100 * r.ci[0]:.1f},"
        assert cells[4] == [str(r.wrong_to_right)] and cells[5] == [str(r.right_to_wrong)]
        head = heads[(r.model, r.task)]
        assert cells[head.index("failed")] == [str(r.failed)]
        assert cells[head.index("oracle")] == ["yes" if r.oracle else "no"]
    assert sum(r.failed for r in rows) == 3  # toy_add problem 3: cot, self_refine and the retry failed
    assert "test_report_retry [oracle-assisted]" in html and "contains oracle-assisted results" in html


def test_later_summary_fields_become_columns() -> None:
    """Fields StrategySummary gains (CL, CS, RSS) show as columns where some row has a value."""
    from mistakelab.core.types import Result

    rs = [Result(problem_id=str(i), strategy="cot", model="m", task="t", final_answer="1", correct=i < 2,
                 first_correct=i < 2) for i in range(3)]
    base = summarize(rs)[0]
    row = dataclasses.replace(base, cl=0.25, cl_ci=(0.1, 0.5), rss=None)
    table = summary_tables([row])[0]
    headers = [h for h, _ in table.columns]
    assert "CL" in headers and "RSS" not in headers  # no row has an RSS: no column
    cell = table.rows[0][headers.index("CL")]
    assert (cell.text, cell.sub) == ("0.250", "[0.100, 0.500]")


def _svgs(html: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind, uri in re.findall(r'<figure class="plot" data-kind="([^"]+)"><img src="data:image/svg\+xml;base64,([^"]+)"',
                                html):
        out.setdefault(kind, []).append(base64.b64decode(uri).decode("utf-8"))
    return out


def test_plots_are_static_svg_with_the_strategies(mixed_run: BuiltRun) -> None:
    html = _render(mixed_run)
    svgs = _svgs(html)
    assert len(svgs["accuracy-tokens"]) == 3 and len(svgs["transitions"]) == 3
    assert len(svgs["first-error"]) == 1  # only igsm has an exact step verifier
    for s in svgs["accuracy-tokens"]:
        assert s.lstrip().startswith("<?xml") and "<script" not in s
        assert "maj@m of self_consistency(k=3)" in s and "test_report_retry [oracle]" in s
    assert "right→wrong" in svgs["transitions"][0]  # toy_add: self_refine broke problem 0
    # nothing the page loads comes from elsewhere
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_majority_curve_enumerates_subsets_and_ends_at_the_vote() -> None:
    # problem 1: right answer "4" in 2 of 3 samples; problem 2: every sample wrong
    pts = majority_curve([[("4", True), ("5", False), ("4", True)], [("1", False)] * 3], tokens=[30.0, 60.0])
    assert [p.m for p in pts] == [1, 2, 3]
    # m=1: 2/3 and 0; m=2: pairs (4,5)->4 (tie: first), (4,4)->4, (5,4)->5 -> 2/3; m=3: 1
    assert [round(p.accuracy, 4) for p in pts] == [round(1 / 3, 4), round(1 / 3, 4), 0.5]
    assert pts[-1].tokens == 45.0 and pts[0].tokens == 15.0
    assert all(p.low <= p.accuracy <= p.high for p in pts)


def test_first_wrong_steps_match_the_task_verifier(mixed_run: BuiltRun) -> None:
    html = _render(mixed_run)
    units = _details(html)
    task = mixed_run.tasks["igsm"]
    problems = {p.id: p for p in mixed_run.problems["igsm"]}
    st = RunStore(mixed_run.store)
    checked = 0
    for row in st.units(mixed_run.run_id):
        if row.task != "igsm" or row.result is None or row.result.status != "done":
            continue
        trace = st.trace(mixed_run.run_id, row.unit_key)
        uid = next(k for k, (a, _) in units.items() if a["strategy"] == row.strategy and
                   re.search(rf'data-pid="{re.escape(row.problem_id)}"[^§]*?data-uid="{k}"', html))
        calls = units[uid][1]["calls"]
        assert len(calls) == len(trace.calls)
        for c, rec in zip(calls, trace.calls):
            steps = c["steps"]
            if steps is None:
                continue
            verdict = task.verify_steps(problems[row.problem_id], rec.completion.text)
            assert steps["checker"] == "exact" and steps["first_error"] == verdict.first_error
            segs = [dict(zip(SCHEMA["segment"], row)) for row in c["segments"]]
            firsts = [s for s in segs if s["cls"] == "step first"]
            if verdict.first_error >= 0:
                assert len(firsts) == 1 and firsts[0]["text"] == verdict.steps[verdict.first_error].text
                checked += 1
            assert "".join(s["text"] for s in segs) == rec.completion.text  # the text, whole, in order
    st.close()
    assert checked >= 3
    # the errors table: igsm cot has 2 wrong, both located at step 1 (the injected error)
    row = re.search(r"<tr><td>igsm</td><td>cot</td>(.*?)</tr>", html).group(1)  # type: ignore[union-attr]
    assert "1: 2" in row and "wrong_value: 2" in row


def test_messages_repeated_in_a_unit_are_shown_once(mixed_run: BuiltRun) -> None:
    units = _details(_render(mixed_run))
    refine = [d for a, d in units.values() if a["strategy"] == "self_refine(rounds=1)" and len(d["calls"]) == 3][0]
    first, critique, rewrite = refine["calls"]
    assert first["messages"][0]["content"] is None and "prompt" in first["messages"][0]["same_as"]  # shown above
    solution = "".join(row[SCHEMA["segment"].index("text")] for row in first["segments"])
    assert critique["messages"][0]["content"] is None  # first time shown as a message:
    assert critique["messages"][1] == {"role": "assistant", "content": solution, "same_as": ""}
    assert [m["content"] is None for m in rewrite["messages"]] == [True, True, True, False, False]
    assert rewrite["messages"][1]["same_as"] == "same as call 1, message 1"
    assert rewrite["messages"][2]["same_as"] == "same as call 1, message 2"


def test_the_viewer_script_reads_the_records_by_the_schema_the_python_side_writes(mixed_run: BuiltRun) -> None:
    """One schema for both sides: every record in the page has exactly its SCHEMA fields (a
    segment row its columns), the page carries the schema, and viewer.js reads exactly those
    fields (by name) of each kind of record."""
    html = _render(mixed_run)
    page_schema = re.search(r'<script type="application/json" id="viewer-schema">(.*?)</script>', html)
    assert page_schema and json.loads(page_schema.group(1)) == {k: list(v) for k, v in SCHEMA.items()}
    for _, detail in _details(html).values():
        assert tuple(detail) == SCHEMA["detail"]
        for kind, records in [("call", detail["calls"]), ("answer", detail["answers"]), ("event", detail["events"]),
                              ("message", [m for c in detail["calls"] for m in c["messages"]]),
                              ("steps", [c["steps"] for c in detail["calls"] if c["steps"]])]:
            assert all(tuple(r) == SCHEMA[kind] for r in records), kind
        assert all(len(row) == len(SCHEMA["segment"]) for c in detail["calls"] for row in c["segments"])
    js = (Path(mistakelab.report.html.__file__).parent / "assets" / "viewer.js").read_text()
    names = {"data": "detail", "c": "call", "a": "answer", "m": "message", "steps": "steps", "ev": "event",
             "SEG": "segment"}
    for var, kind in names.items():
        read = set(re.findall(rf"\b{var}\.([a-z_]+)\b", js)) - {"length", "forEach"}
        assert read == set(SCHEMA[kind]), (kind, sorted(read ^ set(SCHEMA[kind])))
    assert not re.search(r"\b[acms]\[\d+\]", js), "a record read by position"


def test_calibration_from_votes_critiques_and_token_data(tmp_path: Path) -> None:
    run = build_run(tmp_path / "r.db", tasks=[{"name": "gsm8k_sample", "n": 8}],
                    strategies=[{"name": "cot"}, {"name": "self_consistency", "k": 3}], logprobs=True)
    html = _render(run)
    st = RunStore(run.store)
    rows = [(u.result.correct, st.trace(run.run_id, u.unit_key)) for u in st.units(run.run_id)
            if u.strategy == "cot" and u.result and u.result.status == "done"]
    st.close()
    want = auroc([t.calls[0].completion.logprobs[0].logprob for _, t in rows], [c for c, _ in rows])
    section = html.split('id="calibration"')[1].split("</section>")[0]
    cot = section.split("cot on gsm8k_sample")[1].split("</table>")[0]
    assert re.search(rf'<td[^>]*>mean_logprob</td><td class="num">{len(rows)}</td><td class="num">{want:.3f} \[', cot)
    assert "agreement" in section.split("self_consistency(k=3) on gsm8k_sample")[1]
    assert section.count('data-kind="calibration"') == 2


def test_runs_without_signals_say_what_is_missing(tmp_path: Path) -> None:
    run = build_run(tmp_path / "r.db", tasks=[{"name": "toy_add", "n": 3}], strategies=[{"name": "cot"}])
    html = _render(run)
    assert "No confidence signals in this run" in html and "logprobs" in html


def test_step_budget_leaves_solutions_unchecked_and_says_so(mixed_run: BuiltRun) -> None:
    st = RunStore(mixed_run.store)
    rendered = render_report(st, mixed_run.run_id, step_budget=3)
    st.close()
    html = rendered.html
    assert rendered.steps_checked == 3 and rendered.steps_skipped > 0
    assert f"{rendered.steps_skipped} solutions were left unchecked" in html
    units = _details(html)
    steps = [c["steps"] for _, d in units.values() for c in d["calls"] if c["steps"] is not None]
    assert any("budget" in s["note"] for s in steps) and any(s["checker"] for s in steps)
    judged = re.findall(r"<tr><td>(?:toy_add|igsm|gsm8k_sample)</td><td>[^<]*</td><td class=\"num\">\d+</td>"
                        r"<td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td>", html)
    assert sum(int(j) for _, j in judged) == 3 < sum(int(w) for w, _ in judged)  # a sample of the wrong ones


def test_the_command_writes_the_file_and_refuses_unknown_runs(mixed_run: BuiltRun, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "report.html"
    res = runner.invoke(app, ["report", mixed_run.run_id[:6], "-o", str(out), "--store", str(mixed_run.store)])
    assert res.exit_code == 0, res.output
    assert out.exists() and str(out.resolve()) in res.output.replace("\n", "")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    bad = runner.invoke(app, ["report", "nope", "--store", str(mixed_run.store)])
    assert bad.exit_code == 2 and "no run 'nope'" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(app, ["report", "x", "--store", str(tmp_path / "none.db")])
    assert missing.exit_code == 2 and "no run store" in missing.output


def test_locate_runs_keep_and_render_their_predictions(tmp_path: Path) -> None:
    data = tmp_path / "pb.jsonl"
    rows = [
        {"id": "r-early", "problem": "p", "steps": ["2 + 2 = 4", "4 * 3 = 13", "so 13"], "label": 2,
         "final_answer_correct": False},
        {"id": "r-exact", "problem": "p", "steps": ["2 + 2 = 5", "so 5"], "label": 0, "final_answer_correct": False},
        {"id": "r-cor", "problem": "p", "steps": ["2 + 2 = 4", "so 4"], "label": -1, "final_answer_correct": True},
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows))
    store = tmp_path / "r.db"
    res = runner.invoke(app, ["locate", "--data", str(data), "-l", "arithmetic", "-l", "arithmetic:label=again",
                              "--store", str(store)])
    assert res.exit_code == 0, res.output
    st = RunStore(store)
    preds = locate_predictions(st, "locate-0")
    assert [(p.locator, p.record_id, p.first_error, p.pred) for p in preds] == [
        ("arithmetic", "r-early", 2, 1), ("arithmetic", "r-exact", 0, 0), ("arithmetic", "r-cor", -1, -1),
        ("again", "r-early", 2, 1), ("again", "r-exact", 0, 0), ("again", "r-cor", -1, -1)]
    out = tmp_path / "loc.html"
    write_report(st, "locate-0", out)
    st.close()
    html = out.read_text(encoding="utf-8")
    scores = html.split('id="locate-scores"')[1].split("</table>")[0]
    # columns after locator and group: n, acc_err, acc_cor, F1, early, exact, late, missed, ...
    first = re.findall(r"<td[^>]*>(.*?)</td>", scores.split("<tr>")[2])
    assert first[0] == "arithmetic" and first[2] == "2/1" and first[3].startswith("50.0")
    assert first[6:10] == ["1", "1", "0", "0"]  # early, exact, late, missed
    records = html.split('id="locate-records"')[1].split("</table>")[0]
    assert records.count("<tr>") == 1 + 3 and 'class="num pred early">1<' in records
    assert 'id="summary"' not in html  # a locate run has no units


def test_broken_text_in_a_store_still_writes_a_clean_file(tmp_path: Path) -> None:
    from mistakelab.core.trace import AnswerRecord, CallRecord, Trace
    from mistakelab.core.types import Completion, GenParams, Message, Problem, Result

    st = RunStore(tmp_path / "r.db")
    bad = "ok" + b"\xff\xfe".decode("utf-8", "replace") + "\x00\x1b[31m\uffff <b>"
    st.create_run("r", "r", {"strategies": [{"name": "cot"}], "tasks": [{"name": "toy_add"}]})
    st.save_problems("r", "toy_add", [Problem(id=bad, question=bad, answer="1")])
    trace = Trace(strategy="cot", problem_id=bad, model="m",
                  calls=[CallRecord(index=0, purpose=bad, model="m", messages=[Message(role="user", content=bad)],
                                    params=GenParams(), completion=Completion(text=bad))],
                  answers=[AnswerRecord(kind="final", call=0, extracted=bad, method="boxed")])
    st.save_unit("r", "u", Result(problem_id=bad, strategy="cot", model="m", task="toy_add", final_answer=bad,
                                  correct=False), trace)
    out = tmp_path / "r.html"
    write_report(st, "r", out)
    st.close()
    page_text = out.read_text(encoding="utf-8")
    assert "\x00" not in page_text and "\x1b" not in page_text and "\uffff" not in page_text
    assert "ok\ufffd\ufffd\ufffd\ufffd[31m\ufffd &lt;b&gt;" in page_text
