"""How fast is `mistakelab report` on a large run, and how heavy is the page?

Builds a synthetic store of 10,000 units through the real runner with the scripted model
(igsm problems × cot, self_consistency k=4, self_refine, and cot with a critic-free retry
label), so the traces are real typed traces with real solutions (gold or with one injected
error), then renders the report and prints the render time and the file size. With
Chromium installed (Debian's `chromium`, driven by Playwright) it also opens the page and
prints the time to load it and to apply filters.

    python bench/report_render.py                  # 10,000 units (2,500 problems × 4 strategies)
    python bench/report_render.py --problems 250   # a quicker look
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from mistakelab.backends import ScriptedBackend
from mistakelab.core.types import GenParams, Message
from mistakelab.report.html import write_report
from mistakelab.runner import parse_config, run_experiment
from mistakelab.store import RunStore
from mistakelab.tasks import create_task

TASK = {"name": "igsm", "options": {"min_ops": 3, "max_ops": 6}}
STRATEGIES = [{"name": "cot"}, {"name": "self_consistency", "k": 4}, {"name": "self_refine", "rounds": 1},
              {"name": "cot", "label": "cot-again"}]


def solver(n: int, seed: int):  # type: ignore[no-untyped-def]
    """A scripted model that writes the gold solution, or one with an error (about 40%)."""
    task = create_task(TASK["name"], TASK["options"])
    problems = {task.prompt(p)[0].content: p for p in task.load(n, seed)}

    def answer(messages: list[Message], params: GenParams) -> str:
        p = problems[messages[0].content]
        rng = random.Random(f"{p.id}|{params.seed}|{len(messages)}")
        if "VERDICT" in messages[-1].content:
            ok = rng.random() < 0.6
            return f"I checked each step.\nVERDICT: {'CORRECT' if ok else 'INCORRECT'}"
        if rng.random() < 0.6:
            return task.gold_solution(p)
        steps = len(p.steps or []) or 1
        return task.inject_error(p, rng.randrange(steps), seed=rng.randrange(1000)).text

    return answer


def build(store: Path, problems: int, seed: int = 0) -> str:
    cfg = parse_config({"name": "bench", "store": str(store), "n_problems": problems, "seed": seed,
                        "concurrency": 64, "models": [{"backend": "scripted", "model": "fake"}],
                        "tasks": [TASK], "strategies": STRATEGIES})
    fn = solver(problems, seed)
    summary = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: ScriptedBackend(fn)))
    return summary.run_id


def browser(path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("browser: skipped (pip install playwright)")
        return
    if chromium is None:
        print("browser: skipped (apt-get install chromium)")
        return
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = b.new_page(viewport={"width": 1400, "height": 900})
        t0 = time.perf_counter()
        page.goto(path.as_uri(), wait_until="load", timeout=120_000)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        opened = time.perf_counter() - t0
        nodes = page.evaluate("document.getElementsByTagName('*').length")
        print(f"browser: open {opened:.2f} s (load + first paint), {nodes} elements")
        for what, action in (("wrong only", lambda: page.click("#f-wrong")),
                             ("strategy", lambda: page.select_option("#f-strategy", index=2)),
                             ("reset", lambda: page.click("#f-reset")),
                             ("side by side", lambda: (page.select_option("#f-cmp-a", index=1),
                                                       page.select_option("#f-cmp-b", index=2)))):
            t0 = time.perf_counter()
            action()
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            took = time.perf_counter() - t0
            ms = page.evaluate("document.getElementById('viewer').dataset.filterMs")
            print(f"browser: {what}: {took:.2f} s to the next paint (filter itself {ms} ms); "
                  f"{page.inner_text('#f-count')}")
        b.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=2500, help="problems (units = 4 x problems)")
    ap.add_argument("--keep", type=Path, help="write the store and the page here instead of a temp dir")
    ap.add_argument("--reuse", action="store_true", help="render the store in --keep again without rebuilding it")
    args = ap.parse_args()
    where = args.keep or Path(tempfile.mkdtemp(prefix="report-bench-"))
    where.mkdir(parents=True, exist_ok=True)
    store = where / "bench.db"
    if args.reuse and store.exists():
        run_id = RunStore(store).list_runs()[-1].id
    else:
        if store.exists():
            store.unlink()
        t0 = time.perf_counter()
        run_id = build(store, args.problems)
        print(f"store: {4 * args.problems} units built in {time.perf_counter() - t0:.1f} s")
    out = where / "report.html"
    st = RunStore(store)
    t0 = time.perf_counter()
    rendered = write_report(st, run_id, out)
    took = time.perf_counter() - t0
    st.close()
    print(f"render: {rendered.units} units, {rendered.problems} problems in {took:.2f} s "
          f"({rendered.steps_checked} solutions step-checked, {rendered.steps_skipped} left unchecked); "
          f"file {out.stat().st_size / 1e6:.1f} MB; cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    print("render phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in rendered.phases.items()))
    browser(out)
    if not args.keep:
        shutil.rmtree(where)


if __name__ == "__main__":
    main()
