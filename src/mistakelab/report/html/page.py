"""Render a stored run as one self-contained HTML file: no network, opens from disk.

Every value goes through Jinja's autoescaping after :func:`~mistakelab.report.html.text.clean`;
plots are ``data:`` SVG images; the only script is the viewer's own, allowed by its hash in
the page's Content-Security-Policy (so even a markup bug could not run injected script).
The summary, the tables and the plots need no JavaScript.

Example:
    >>> import asyncio, tempfile
    >>> from mistakelab.runner import parse_config, run_experiment
    >>> from mistakelab.store import RunStore
    >>> cfg = parse_config({"store": tempfile.mkdtemp() + "/r.db", "n_problems": 2,
    ...     "models": [{"backend": "scripted", "model": "fake", "options": {"outputs": ["\\\\boxed{1}"] * 2}}],
    ...     "tasks": [{"name": "gsm8k_sample"}], "strategies": [{"name": "cot"}]})
    >>> run = asyncio.run(run_experiment(cfg)).run_id
    >>> html = render_report(RunStore(cfg.store), run).html
    >>> html.startswith("<!DOCTYPE html>") and 'id="summary"' in html and "http://" not in html.split("</head>")[1]
    True
"""

from __future__ import annotations

import base64
import gc
import random
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from mistakelab.metrics import summarize
from mistakelab.report.errors import final_solution_text, profile_units
from mistakelab.report.html import plots
from mistakelab.report.html.calib import calibration_groups, signal_rows
from mistakelab.report.html.curves import majority_curve, transitions, vote_samples
from mistakelab.report.html.data import RunData, load_run
from mistakelab.report.html.locate import CONFUSION, locate_section
from mistakelab.report.html.stepmarks import Job, StepChecker
from mistakelab.report.html.summary import summary_tables
from mistakelab.report.html.text import clean
from mistakelab.report.html.viewer import ViewBuilder
from mistakelab.report.html.viewer_html import problems_html
from mistakelab.store import RunStore

#: most solutions whose steps a report checks (1-4 ms each: the bulk of a large run's rendering)
DEFAULT_STEP_BUDGET = 1000

LEGEND = ("acc: final answer correct, 95% Wilson interval, over n problems with an answer. Δ: paired difference "
          "to the first strategy on the same problems, in percentage points (Newcombe interval; +problems only "
          "this one solved / −only the first solved). w→r / r→w: first solution in the trace vs the final answer. "
          "pass@k: any sample correct. tok: prompt + completion tokens per problem, cache hits included (the "
          "strategy's own cost), split by model role when a strategy uses several. failed: units whose model "
          "calls failed (not counted in n; run again to retry them). oracle: the gold answer was used while "
          "solving; such results are labeled oracle-assisted.")


@dataclass(frozen=True)
class Rendered:
    html: str
    units: int
    problems: int
    steps_checked: int
    steps_skipped: int
    seconds: float
    phases: dict[str, float]  # seconds per phase: load, steps, summary+plots, viewer, page


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):  # our own assets, marked safe in the template
        return value
    if isinstance(value, str):
        return clean(value)
    return "" if value is None else value


def _env() -> Environment:
    return Environment(loader=PackageLoader("mistakelab.report.html", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       finalize=_finalize, undefined=StrictUndefined, trim_blocks=False)


def _asset(name: str) -> str:
    return resources.files("mistakelab.report.html").joinpath("assets", name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _figure(kind: str, fig: Any, alt: str, caption: str) -> dict[str, str]:
    return {"kind": kind, "uri": plots.svg_uri(fig), "alt": clean(alt), "caption": caption}


def _plots(data: RunData, rows: list[Any]) -> list[dict[str, str]]:
    out = []
    groups: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        groups.setdefault((r.model, r.task), []).append(r)
    for (model, task), group in groups.items():
        units = [u for u in data.units if u.row.model == model and u.row.task == task]
        key = data.tasks[task].answer_key if task in data.tasks else (lambda a: a)
        curves = {}
        for s in group:
            sets = [(vote_samples(u), u.row.result.tokens) for u in units if u.row.strategy == s.strategy]  # type: ignore[union-attr]
            sets = [(smp, tok) for smp, tok in sets if smp]
            if sets:
                curves[s.strategy] = majority_curve([smp for smp, _ in sets], [float(t) for _, t in sets], key)
        points = [{"strategy": s.strategy, "tokens": s.mean_tokens, "accuracy": s.accuracy, "low": s.ci[0],
                   "high": s.ci[1], "oracle": s.oracle, "tokens_ci": getattr(s, "tokens_ci", None)} for s in group]
        title = f"{model} on {task}"
        cap = ("Accuracy against mean tokens per problem (95% Wilson intervals; horizontal bars: 95% interval "
               "of the tokens). " +
               ("maj@m: majority vote over m of the stored samples, averaged over subsets, 95% interval over problems."
                if curves else "No voting strategy in this group, so no maj@m curve."))
        out.append(_figure("accuracy-tokens", plots.accuracy_tokens_figure(points, curves, title),
                           f"accuracy against tokens, {title}", cap))
        counts = {s.strategy: transitions([u for u in units if u.row.strategy == s.strategy]) for s in group}
        out.append(_figure("transitions", plots.transitions_figure(counts, title), f"transitions, {title}",
                           "First solution in the trace → final answer, per strategy (problems)."))
    return out


def _errors(data: RunData, checker: StepChecker, sample: set[int] | None) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The first-wrong-step table and histograms; with ``sample`` (unit indices), only those
    wrong units are judged and the table says how many were."""
    pairs = [(u.row, u.trace) for i, u in enumerate(data.units)
             if sample is None or not (u.done and not u.row.result.correct) or i in sample]  # type: ignore[union-attr]
    profiles = profile_units(pairs, data.problems, {label: checker.as_task(label) for label in data.tasks})
    tasks, order = list(data.problems), {s: i for i, s in enumerate(data.strategy_order)}
    profiles.sort(key=lambda p: (tasks.index(p.task) if p.task in tasks else len(tasks), order.get(p.strategy, len(order))))
    wrong: dict[tuple[str, str], int] = {}
    for u in data.units:
        if u.done and not u.row.result.correct:  # type: ignore[union-attr]
            wrong[(u.row.task, u.row.strategy)] = wrong.get((u.row.task, u.row.strategy), 0) + 1
    rows = [{"task": p.task, "strategy": p.strategy, "n": p.n + wrong.get((p.task, p.strategy), 0) - p.wrong,
             "wrong": wrong.get((p.task, p.strategy), 0), "judged": p.wrong, "with_step": p.with_step,
             "final_only": p.final_only, "no_verifier": p.no_verifier,
             "hist": ", ".join(f"{k}: {v}" for k, v in sorted(p.first_error.items())) or "–",
             "kinds": ", ".join(f"{k}: {v}" for k, v in p.kinds.most_common()) or "–"} for p in profiles]
    figs = []
    for task in dict.fromkeys(p.task for p in profiles):
        hists = {p.strategy: dict(p.first_error) for p in profiles if p.task == task and p.with_step}
        if hists:
            note = "" if sample is None else " (a seeded sample of them: see the table)"
            figs.append(_figure("first-error", plots.first_error_figure(hists, f"first wrong steps on {task}"),
                                f"histogram of first wrong steps on {task}",
                                f"Wrong final solutions on {task}{note} by their first wrong step (exact step "
                                "verifier)."))
    return rows, figs


def _histogram_units(data: RunData, budget: int | None, seed: int = 0) -> tuple[list[Job], set[int] | None]:
    """The final solutions of wrong units that the histogram judges: all of them, or a seeded
    sample of ``budget`` when there are more (None: no sample was needed)."""
    wrong = [i for i, u in enumerate(data.units)
             if u.done and not u.row.result.correct and u.row.task in data.tasks  # type: ignore[union-attr]
             and final_solution_text(u.trace) is not None]
    sample = None
    if budget is not None and len(wrong) > budget:
        sample = set(random.Random(seed).sample(wrong, budget))
        wrong = [i for i in wrong if i in sample]
    jobs = [(data.units[i].row.task, data.units[i].problem, final_solution_text(data.units[i].trace)) for i in wrong]
    return jobs, sample  # type: ignore[return-value]


def _calibration(data: RunData) -> list[dict[str, Any]]:
    out = []
    for g in calibration_groups(signal_rows(data.units)):
        rows, curves = [], {}
        for name, rep in g.reports.items():
            sel = {round(p.coverage, 2): p for p in rep.selective}
            au = "– (one class)" if rep.auroc is None else f"{rep.auroc:.3f}" + (
                f" [{rep.auroc_ci[0]:.3f}, {rep.auroc_ci[1]:.3f}]" if rep.auroc_ci else " [too few to say]")
            rows.append([name, str(rep.n), au, f"{rep.ece.ece:.3f}" if rep.ece else "–", rep.ece_scaling,
                         *(_selective(sel.get(c)) for c in (0.25, 0.5, 1.0))])
            if rep.ece and rep.ece.bins:
                curves[f"{name} (AUROC {au.split(' ')[0]}, n={rep.n})"] = [
                    (b.mean_confidence, b.accuracy, b.n) for b in rep.ece.bins]
        plot = _figure("calibration", plots.calibration_figure(curves, g.strategy), f"calibration, {g.strategy}",
                       "Accuracy per confidence bin (10 equal-width bins); the dotted diagonal is perfect calibration.") \
            if curves else None
        out.append({"strategy": g.strategy, "n": g.n, "rows": rows, "missing": g.missing, "plot": plot})
    return out


def _selective(p: Any) -> str:
    if p is None:
        return "–"
    from mistakelab.metrics.stats import wilson_interval

    lo, hi = wilson_interval(round(p.accuracy * p.n), p.n)
    return f"{100 * p.accuracy:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] n={p.n}"


def render_report(store: RunStore, run_id: str, step_budget: int | None = DEFAULT_STEP_BUDGET) -> Rendered:
    """The report of run ``run_id`` as HTML text (see the module docs). ``step_budget``: most
    solutions whose steps are checked (None: all)."""
    # A large run makes millions of objects that all live to the end: the cyclic collector
    # would walk them again and again (it doubled the rendering time of 10,000 units).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _render(store, run_id, step_budget)
    finally:
        if enabled:
            gc.enable()


def _render(store: RunStore, run_id: str, step_budget: int | None) -> Rendered:
    t0 = time.perf_counter()
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = time.perf_counter() - t0 - sum(phases.values())

    data = load_run(store, run_id)
    phase("load")
    checker = StepChecker(data.tasks)
    ctx: dict[str, Any] = {"run": data.info, "tables": [], "locate": None, "problems": []}
    if data.units:
        rows = summarize(data.results, data.strategy_order)
        builder = ViewBuilder(data, checker)
        # the budget goes to the histogram first (a sample when it cannot judge every wrong
        # solution), then to the viewer, most telling solutions first
        required, sample = _histogram_units(data, step_budget)
        checker.budget = step_budget
        checker.prefetch(required, builder.solution_jobs())
        phase("steps")
        errors, error_plots = _errors(data, checker, sample)
        ctx.update(tables=summary_tables(rows), legend=LEGEND, plots=_plots(data, rows), errors=errors,
                   error_plots=error_plots, calibration=_calibration(data))
        phase("summary, plots, calibration")
        problems = builder.problems()
        ctx.update(problems=problems, viewer_html=Markup(problems_html(problems)),
                   strategies=list(dict.fromkeys([*data.strategy_order, *(u.row.strategy for u in data.units)])),
                   task_labels=list(dict.fromkeys(u.row.task for u in data.units)),
                   models=list(dict.fromkeys(u.row.model for u in data.units)))
    if data.locate_predictions or data.locate_records:
        ctx["locate"] = locate_section(data.locate_records, data.locate_predictions)
        ctx["locate_columns"] = ["n err/cor", "acc_err %", "acc_cor %", "F1 %", *CONFUSION,
                                 "Δ exact-match vs first", "calls/rec", "tokens/rec"]
    css, js = _asset("report.css"), _asset("viewer.js")
    results = data.results
    ctx.update(
        css=css, js=js, csp={"style": _csp_hash(css), "script": _csp_hash(js)},
        created=datetime.fromtimestamp(data.info.created_at, timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        n_units=len(data.units), n_failed=sum(r.status == "failed" for r in results),
        calls_made=data.calls_made, calls_cached=data.calls_cached,
        any_oracle=any(r.used_gold for r in results),
        task_notes=data.task_notes, config=json.dumps(data.info.config, indent=2, ensure_ascii=False),
        steps_note=_steps_note(checker), servers=store.server_stats(run_id),
    )
    phase("viewer")
    html = _env().get_template("report.html.j2").render(**ctx)
    phase("page")
    return Rendered(html, len(data.units), len(ctx["problems"]), checker.checked, checker.skipped,
                    time.perf_counter() - t0, phases)


def _steps_note(checker: StepChecker) -> str:
    note = ("Solutions are split into steps; the first wrong step is marked (the task's exact step verifier where "
            "it has one, else the arithmetic checker). Hover a step for its verdict.")
    if checker.skipped:
        note += (f" {checker.skipped} solutions were left unchecked: a report checks at most "
                 f"{checker.checked} (--step-budget; the histogram's first, then wrong and changed units).")
    return note


def write_report(store: RunStore, run_id: str, out: str | Path,
                 step_budget: int | None = DEFAULT_STEP_BUDGET) -> Rendered:
    """Render and write the report to ``out`` (UTF-8); returns what was rendered."""
    rendered = render_report(store, run_id, step_budget)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rendered.html, encoding="utf-8")
    return rendered
