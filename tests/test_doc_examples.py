"""Every module below keeps at least one docstring example.

The examples themselves run through pytest's ``--doctest-modules`` (pyproject.toml adds
``src`` to the test paths); this only guards against a module losing all of them.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    *(f"mistakelab.scorers.{m}" for m in ("base", "certainty", "checks", "critic", "prm")),
    *(f"mistakelab.serve.{m}" for m in ("app", "config", "errors", "naming", "passon", "request", "responses",
                                        "service", "summary", "upstream")),
    *(f"mistakelab.report.html.{m}" for m in ("calib", "curves", "data", "locate", "page", "plots", "stepmarks",
                                              "summary", "text", "viewer", "viewer_html")),
    *(f"mistakelab.strategies.{m}" for m in ("try_again", "prp", "wait", "revision", "step_fix", "demos",
                                             "kit.voting")),
    "mistakelab.metrics.rounds", "mistakelab.metrics.selfcorrect",
    *(f"mistakelab.experiments.blindspot.{m}" for m in ("facts", "items", "report", "run")),
    "mistakelab.experiments.equal_tokens", "mistakelab.experiments.compare_run",
    *(f"mistakelab.models.{m}" for m in ("embedded", "gguf", "hub")),
    *(f"mistakelab.steps.{m}" for m in ("split", "numbers", "expr", "arithmetic")),
    *(f"mistakelab.backends.local.{m}" for m in ("output", "sampling", "scheduler", "scoring", "state",
                                                 "template")),
    "mistakelab.store.sqlite",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_keeps_an_example(name: str) -> None:
    if name.startswith("mistakelab.backends.local."):
        pytest.importorskip("llama_cpp", reason="needs the local extra: pip install mistakelab[local]")
    if name == "mistakelab.serve.app":
        pytest.importorskip("starlette", reason="needs the serve extra: pip install mistakelab[serve]")
    module = importlib.import_module(name)
    examples = sum(len(t.examples) for t in doctest.DocTestFinder().find(module))
    assert examples > 0, f"{name} has no docstring example"
