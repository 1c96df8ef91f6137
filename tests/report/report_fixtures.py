"""Stores for the report tests, built with the real runner and the scripted model, so the
report is tested on real typed traces, and a headless Chromium for the browser tests.

Import the fixtures by name (``from report_fixtures import browser, mixed_run``): a
conftest.py here would shadow the root one (``from conftest import ToyAdd``)."""

from __future__ import annotations

import asyncio
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from pydantic import BaseModel

from mistakelab.backends import ScriptedBackend
from mistakelab.core.events import StopEvent
from mistakelab.core.types import Completion, GenParams, Message, Problem, TokenLogprob
from mistakelab.runner import parse_config, run_experiment
from mistakelab.store import RunStore
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.tasks import create_task
from mistakelab.tasks.base import Task, tasks


class _NoParams(BaseModel):
    pass


@strategy("test_report_retry", _NoParams, oracle=True, method="tests: retry once when the oracle says wrong")
async def _retry(ctx: StrategyContext, params: _NoParams) -> None:
    """Solve; when the gold answer says wrong, try once more (oracle-assisted)."""
    conv = ctx.question()
    c = await ctx.generate(conv, purpose="turn-0")
    answer = ctx.record_answer(c, label="turn-0")
    rounds = 1
    if not ctx.oracle_check(c.text):
        c = await ctx.generate(conv.assistant(c.text).user("That is incorrect. Try again."), purpose="turn-1")
        answer = ctx.record_answer(c, label="turn-1")
        rounds = 2
    ctx.emit(StopEvent(reason="oracle says correct" if rounds == 1 else "second turn", rounds=rounds))
    ctx.final(answer, method="last")


@strategy("test_report_notes", _NoParams, method="tests: one solution, and notes that echo it")
async def _notes(ctx: StrategyContext, params: _NoParams) -> None:
    """One solution; notes carrying the solution's text (untrusted text in events)."""
    c = await ctx.generate(ctx.question(), purpose="solve")
    answer = ctx.record_answer(c, label=c.text[:60])
    ctx.note(c.text, label=c.text[:40], echo=c.text, n=len(c.text))
    ctx.final(answer, method="only")


def _arith(gold: str, wrong: bool) -> str:
    """A free-text solution whose arithmetic is right, or wrong at step 1 (0-based)."""
    if wrong:
        return f"Step 1: Read the problem.\nStep 2: 2 + 2 = 5.\nStep 3: So the answer is \\boxed{{{int(gold) + 1}}}."
    return f"Step 1: Read the problem.\nStep 2: 2 + 2 = 4.\nStep 3: So the answer is \\boxed{{{gold}}}."


class Solver:
    """A scripted model that answers by rule, per problem index ``i``:

    * greedy solve: wrong when ``i`` is odd; samples: wrong when ``seed % 3 == 0``;
    * critique: ``VERDICT: CORRECT`` when ``i % 3 == 0``, else INCORRECT;
    * a revision (refine, retry): right, except wrong when ``i % 4 == 0`` (right→wrong);
    * toy_add problem 3, greedy: the call fails (a failed unit).

    igsm solutions are the gold solution or the gold one with an error injected at step 1;
    others are short arithmetic texts. ``logprobs``: completions carry per-token data.
    """

    def __init__(self, tasks: dict[str, Any], problems: dict[str, list[Problem]], logprobs: bool = False) -> None:
        self.by_prompt: dict[str, tuple[str, int, Problem]] = {}
        self.tasks = tasks
        self.logprobs = logprobs
        for label, ps in problems.items():
            for i, p in enumerate(ps):
                self.by_prompt[tasks[label].prompt(p)[0].content] = (label, i, p)

    def text(self, label: str, p: Problem, wrong: bool) -> str:
        task = self.tasks[label]
        if label.startswith("igsm"):
            return task.inject_error(p, 1, seed=0).text if wrong else task.gold_solution(p)
        return _arith(p.answer, wrong)

    def __call__(self, messages: list[Message], params: GenParams) -> Any:
        label, i, p = self.by_prompt[messages[0].content]
        last = messages[-1].content
        if "VERDICT" in last:
            return "Let me check.\nVERDICT: " + ("CORRECT" if i % 3 == 0 else "INCORRECT")
        if len(messages) > 1:
            out = self.text(label, p, wrong=i % 4 == 0)
        elif params.seed is None:
            if label == "toy_add" and i == 3:
                return RuntimeError("scripted failure")
            out = self.text(label, p, wrong=i % 2 == 1)
        else:
            out = self.text(label, p, wrong=params.seed % 3 == 0)
        if not self.logprobs:
            return out
        sure = -0.05 if str(p.answer) in out.split("boxed{")[-1] else -1.5
        words = out.split()
        return Completion(text=out, prompt_tokens=len(last.split()), completion_tokens=len(words),
                          logprobs=[TokenLogprob(token=w, logprob=sure, entropy=-sure, kl_from_uniform=5 + sure)
                                    for w in words])


@dataclass
class BuiltRun:
    store: Path
    run_id: str
    tasks: dict[str, Any]
    problems: dict[str, list[Problem]]


TASKS = [{"name": "toy_add", "n": 5}, {"name": "igsm", "n": 4, "options": {"min_ops": 2, "max_ops": 3}},
         {"name": "gsm8k_sample", "n": 4}]
STRATEGIES = [{"name": "cot"}, {"name": "self_consistency", "k": 3}, {"name": "self_refine", "rounds": 1},
              {"name": "test_report_retry"}]


def build_run(store: Path, name: str = "mix", tasks: list[dict[str, Any]] | None = None,
              strategies: list[dict[str, Any]] | None = None, models: list[dict[str, Any]] | None = None,
              solver: type[Solver] = Solver, **solver_kw: Any) -> BuiltRun:
    tasks = tasks or TASKS
    cfg = parse_config({"name": name, "store": str(store), "n_problems": 4, "seed": 0,
                        "models": models or [{"backend": "scripted", "model": "fake"}],
                        "tasks": tasks, "strategies": strategies or STRATEGIES})
    built = {t.label: create_task(t.name, t.options) for t in cfg.tasks}
    problems = {t.label: built[t.label].load(t.n or cfg.n_problems, cfg.seed) for t in cfg.tasks}
    fn = solver(built, problems, **solver_kw)
    # in a thread of its own: a running Playwright session holds this thread's event loop
    with ThreadPoolExecutor(1) as pool:
        summary = pool.submit(asyncio.run, run_experiment(
            cfg, backend_factory=lambda spec: ScriptedBackend(fn, model_id=spec.model))).result()
    return BuiltRun(store, summary.run_id, built, problems)


def units_of(run: BuiltRun) -> list[Any]:
    st = RunStore(run.store)
    try:
        return [u for u in st.units(run.run_id)]
    finally:
        st.close()




# -- the XSS corpus ----------------------------------------------------------------------------
# Each payload would set window.__pwned, change the title, open a dialog or add an element if
# it ever ran or parsed as markup.
XSS = [
    '<script>window.__pwned=1;document.title="pwned"</script>',
    '<img src=x onerror="window.__pwned=2">',
    '<svg onload="window.__pwned=3"><script>window.__pwned=4</script></svg>',
    "javascript:window.__pwned=5",
    '"><script>window.__pwned=6</script>',
    "' onmouseover='window.__pwned=7' autofocus onfocus='window.__pwned=7' x='",
    "</script><script>window.__pwned=8</script>",
    "</pre></details></section><img src=x onerror=window.__pwned=9>",
    '<iframe srcdoc="<script>parent.__pwned=10</script>"></iframe>',
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned=11>",
    '<a href="javascript:window.__pwned=12">click</a>',
    "<!-- <script>window.__pwned=13</script> -->",
    "<style>body{display:none}</style>",
    "{{ 7*7 }} ${window.__pwned=14} {% raw %}",
    b"\xff\xfe<scr\xc0ipt>broken utf-8".decode("utf-8", "replace"),
    "\u202e<b>bidi</b>\u2028\u2029",
    "$\\alpha$ <b>not bold</b> &amp; &lt; **markdown**",
    '<form action="javascript:window.__pwned=15"><button>x</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:window.__pwned=16">',
    '<base href="javascript:window.__pwned=17//">',
    "<img src=x onerror=alert(18)>",
    '<object data="javascript:window.__pwned=19"></object><embed src="javascript:window.__pwned=20">',
]


class XssTask(Task):
    """Problems whose ids and questions carry the XSS corpus (answer: 2)."""

    name = "test_report_xss"

    def load(self, n, seed):  # type: ignore[no-untyped-def]
        return [Problem(id=f"{i}{XSS[i % len(XSS)]}", question=f"{XSS[i % len(XSS)]} What is 1 + 1?", answer="2")
                for i in range(len(XSS) if n is None else n)]


tasks.register("test_report_xss", XssTask)


class XssSolver(Solver):
    """Outputs that carry the corpus: in the text, in the boxed answer, in critiques."""

    def __call__(self, messages: list[Message], params: GenParams) -> Any:
        label, i, p = self.by_prompt[messages[0].content]
        payload = XSS[(i + len(messages) + (params.seed or 0)) % len(XSS)]
        if "VERDICT" in messages[-1].content:
            return f"{payload}\nVERDICT: INCORRECT"
        boxed = payload.replace("{", "(").replace("}", ")")
        answer = "2" if i % 2 else boxed
        return f"Step 1: {payload}\nStep 2: 1 + 1 = 3 {payload}\nSo the answer is \\boxed{{{answer}}}."


def build_xss_run(store: Path) -> BuiltRun:
    """Every label, id, problem text and model output carries the corpus."""
    return build_run(
        store, name="xss", solver=XssSolver,
        tasks=[{"name": "test_report_xss", "n": len(XSS), "label": XSS[1]}],
        models=[{"backend": "scripted", "model": "fake", "name": XSS[0]}],
        strategies=[{"name": "cot", "label": XSS[2]}, {"name": "test_report_notes", "label": XSS[6]},
                    {"name": "self_consistency", "k": 2, "label": XSS[7]},
                    {"name": "self_refine", "rounds": 1, "label": XSS[19]}])


# -- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> BuiltRun:
    """toy_add / igsm / gsm8k_sample × cot, self_consistency(k=3), self_refine(rounds=1), an
    oracle-assisted retry; toy_add problem 3 fails for the greedy-first strategies."""
    return build_run(tmp_path_factory.mktemp("mixed") / "runs.db")


# -- the browser ---------------------------------------------------------------------------

def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's package) driven by Playwright; skipped, saying why, when
    either is missing. Module-scoped: a running Playwright holds the thread's event loop,
    which the other modules' asyncio.run needs."""
    exe = _chromium()
    if exe is None:
        pytest.skip("browser tests need Chromium: apt-get install -y chromium (make test installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need Playwright: pip install -e '.[test]'")
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        except Exception as exc:  # noqa: BLE001 - a Chromium that cannot start here: skip, say why
            pytest.skip(f"Chromium at {exe} did not start: {exc}")
        yield b
        b.close()
