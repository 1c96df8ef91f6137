"""The report in a real browser (headless Chromium through Playwright): tables and plots are
there, the filters and the side-by-side view change what is shown, a unit's detail renders,
the page works without JavaScript, and the XSS corpus runs nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from report_fixtures import XSS, BuiltRun, browser, build_xss_run, mixed_run  # noqa: F401

from mistakelab.locate.records import LocateRecord
from mistakelab.report.html import write_report
from mistakelab.store import LocatePrediction, RunStore, save_locate

VISIBLE = "Array.from(document.querySelectorAll('.unit')).filter(u => !u.hidden && !u.closest('.problem').hidden).length"


def _page(browser: Any, path: Path, **ctx: Any) -> tuple[Any, Any, dict[str, list[str]]]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, **ctx)
    page = context.new_page()
    seen: dict[str, list[str]] = {"dialogs": [], "console": [], "errors": []}
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("console", lambda m: seen["console"].append(m.text))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(path.as_uri())
    return context, page, seen


def _write(run: BuiltRun, out: Path) -> list[Any]:
    st = RunStore(run.store)
    write_report(st, run.run_id, out)
    units = st.units(run.run_id)
    st.close()
    return units


@pytest.fixture(scope="module")
def mixed_page(mixed_run: BuiltRun, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    out = tmp_path_factory.mktemp("page") / "report.html"
    return out, _write(mixed_run, out)


def test_tables_plots_and_counts(browser: Any, mixed_page: tuple[Path, list[Any]], tmp_path: Path) -> None:
    path, units = mixed_page
    context, page, seen = _page(browser, path)
    assert page.locator("table.summary").count() == 3
    assert page.locator("table.summary tbody tr").count() == 12  # 3 tasks x 4 strategies
    kinds = page.evaluate("Array.from(document.querySelectorAll('figure.plot')).map(f => f.dataset.kind)")
    # per task: accuracy against tokens, transitions, and calibration of the voting and the
    # critiquing strategy; one histogram (igsm has the only step verifier)
    assert sorted(kinds) == sorted(["accuracy-tokens"] * 3 + ["transitions"] * 3 + ["calibration"] * 6 + ["first-error"])
    assert page.evaluate("Array.from(document.querySelectorAll('figure.plot img')).every(i => i.complete && i.naturalWidth > 100)")
    assert page.inner_text("#f-count") == f"{len(units)} units in 13 problems shown"
    page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
    assert seen["errors"] == [] and not [c for c in seen["console"] if "Content Security Policy" in c]
    context.close()


def test_filters_count_what_they_show(browser: Any, mixed_page: tuple[Path, list[Any]]) -> None:
    path, units = mixed_page
    done = [u for u in units if u.result.status == "done"]
    context, page, _ = _page(browser, path)
    page.click("#f-wrong")
    assert page.evaluate(VISIBLE) == sum(not u.result.correct for u in done) > 0
    page.click("#f-wrong")
    page.click("#f-changed")
    changed = [u for u in done if u.result.first_correct is not None and u.result.first_correct != u.result.correct]
    assert page.evaluate(VISIBLE) == len(changed) > 0
    page.click("#f-changed")
    page.click("#f-failed")
    assert page.evaluate(VISIBLE) == sum(u.result.status == "failed" for u in units) == 3
    page.click("#f-failed")
    page.select_option("#f-strategy", "self_consistency(k=3)")
    assert page.evaluate(VISIBLE) == sum(u.strategy == "self_consistency(k=3)" for u in units)
    page.select_option("#f-task", "igsm")
    assert page.evaluate(VISIBLE) == sum(u.strategy == "self_consistency(k=3)" and u.task == "igsm" for u in units)
    page.click("#f-reset")
    assert page.evaluate(VISIBLE) == len(units)
    page.fill("#f-search", "igsm-0-1")
    assert page.evaluate(VISIBLE) == 4
    context.close()


def test_side_by_side_shows_two_strategies_per_problem(browser: Any, mixed_page: tuple[Path, list[Any]]) -> None:
    path, units = mixed_page
    context, page, _ = _page(browser, path)
    page.select_option("#f-cmp-a", "cot")
    page.select_option("#f-cmp-b", "self_refine(rounds=1)")
    shown = page.evaluate("Array.from(document.querySelectorAll('.unit')).filter(u => !u.hidden)"
                          ".map(u => [u.dataset.strategy, u.classList.contains('side-a'), u.classList.contains('side-b')])")
    assert len(shown) == 2 * 13
    assert all((s == "cot" and a and not b) or (s == "self_refine(rounds=1)" and b and not a) for s, a, b in shown)
    assert page.evaluate("document.getElementById('viewer').classList.contains('compare')")
    page.click("#f-differ")
    ok = {(u.task, u.problem_id, u.strategy): (u.result.status, u.result.correct) for u in units}
    differ = {(t, p) for t, p, s in ok if s == "cot" and ok[(t, p, "cot")] != ok.get((t, p, "self_refine(rounds=1)"))
              and ok[(t, p, "cot")][0] == "done" and ok[(t, p, "self_refine(rounds=1)")][0] == "done"}
    assert page.evaluate(VISIBLE) == 2 * len(differ) > 0
    context.close()


def test_opening_a_unit_renders_its_calls_and_steps(browser: Any, mixed_page: tuple[Path, list[Any]],
                                                    mixed_run: BuiltRun) -> None:
    path, units = mixed_page
    wrong = next(u for u in units if u.task == "igsm" and u.strategy == "cot" and not u.result.correct)
    st = RunStore(mixed_run.store)
    trace = st.trace(mixed_run.run_id, wrong.unit_key)
    st.close()
    context, page, seen = _page(browser, path)
    unit = page.locator(f'section.problem[data-pid="{wrong.problem_id}"] details.unit[data-strategy="cot"]')
    assert unit.locator(".call").count() == 0  # nothing built before it is opened
    unit.locator("summary").click()
    assert unit.locator(".call").count() == len(trace.calls)
    first = unit.locator(".step.first")
    assert first.count() == 1 and "first wrong step 1" in unit.inner_text()
    assert first.get_attribute("title").startswith("step 1: wrong (wrong_value)")
    assert unit.locator("table.answers tbody tr").count() == len(trace.answers)
    assert seen["errors"] == []
    context.close()


def test_without_javascript_the_summary_and_tables_are_all_there(browser: Any, mixed_page: tuple[Path, list[Any]]) -> None:
    path, units = mixed_page
    context, page, _ = _page(browser, path, java_script_enabled=False)
    assert page.locator("table.summary").first.is_visible()
    assert page.locator("#errors-table").is_visible() and page.locator("figure.plot img").first.is_visible()
    assert not page.locator("#filters").is_visible()
    assert "The filters need JavaScript" in page.inner_text("#traces")
    assert page.locator("details.unit").count() == len(units)
    context.close()


def _locate_store(store: Path) -> None:
    st = RunStore(store)
    st.create_run("locate-0", "locate", {"kind": "locate"})
    recs = [LocateRecord(id=f"{i}{p}", problem=p, steps=[p, f"1 + 1 = 3 {p}"], label=1, final_answer_correct=False,
                         source=p) for i, p in enumerate(XSS)]
    preds = [LocatePrediction(XSS[3], XSS[4], r.id, XSS[5], XSS[6], 1, i % 3 - 1, False, 1, 10,
                              {"note": XSS[i], "raw": [XSS[-1 - i]]}) for i, r in enumerate(recs)]
    save_locate(st, "locate-0", [r.model_dump(mode="json") for r in recs], preds)
    st.close()


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with CSP", "escaping alone"])
def test_the_xss_corpus_runs_nothing(browser: Any, tmp_path: Path, bypass_csp: bool) -> None:
    run = build_xss_run(tmp_path / "x.db")
    _locate_store(run.store)
    pages = [tmp_path / "run.html", tmp_path / "locate.html"]
    st = RunStore(run.store)
    write_report(st, run.run_id, pages[0])
    write_report(st, "locate-0", pages[1])
    st.close()
    for path in pages:
        context, page, seen = _page(browser, path, bypass_csp=bypass_csp)
        title = page.title()
        # open everything, twice (opening a unit builds its inner details), and hover and focus all
        for _ in range(2):
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        page.evaluate("document.querySelectorAll('*').forEach(e => { e.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); })")
        page.wait_for_timeout(200)
        assert page.evaluate("window.__pwned") is None
        assert page.title() == title and title.startswith("mistakelab report: ")
        assert seen["dialogs"] == [] and seen["errors"] == []
        assert not [c for c in seen["console"] if "Content Security Policy" in c]  # nothing even tried
        # no payload became an element: the only script that runs is the viewer's, and no
        # image, frame, svg, form, link or meta came from the text
        assert page.evaluate("document.querySelectorAll('script:not([type=\"application/json\"])').length") <= 1
        assert page.evaluate("document.querySelectorAll('iframe, svg, math, form, object, embed, base, a[href^=javascript],"
                             " meta[http-equiv=refresh], style:not(head style), img:not(figure.plot img)').length") == 0
        body = page.evaluate("document.body.textContent")
        for payload in (XSS[0], XSS[1], XSS[4], XSS[7]):
            assert payload in body  # shown, as text
        context.close()
