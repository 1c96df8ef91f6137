"""Third-party plugins: a real package, built and pip-installed by the test into a temporary
folder (no network), adds a strategy and a scorer through the registries' entry-point groups."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "mistakelab-plugin-demo"
version = "0.0.1"

[tool.setuptools]
py-modules = ["mistakelab_plugin_demo"]

[project.entry-points."mistakelab.strategies"]
first_line = "mistakelab_plugin_demo"

[project.entry-points."mistakelab.scorers"]
always_half = "mistakelab_plugin_demo:AlwaysHalf"
"""

MODULE = '''\
"""A demo plugin: a strategy (registered by importing the module) and a scorer (an attr)."""
from pydantic import BaseModel

from mistakelab.scorers import Scorer
from mistakelab.strategies import strategy


class NoParams(BaseModel):
    pass


@strategy("first_line", NoParams)
async def first_line(ctx, params):
    """Answer with the first line of one completion."""
    c = await ctx.generate(ctx.question())
    ctx.final(c.text.splitlines()[0] if c.text else None, method="first_line")


class AlwaysHalf(Scorer):
    name = "always_half"
    kind = "outcome"

    async def rate_outcome(self, ctx, text, completion):
        return 0.5, ""
'''

CHECK = """\
import asyncio
from mistakelab.backends import ScriptedBackend
from mistakelab.core import Problem
from mistakelab.runner import solve
from mistakelab.scorers import build_scorer
from mistakelab.strategies import strategies
from mistakelab.tasks import create_task

assert "first_line" in strategies.names() and strategies.group == "mistakelab.strategies"
_, r = asyncio.run(solve("first_line", ScriptedBackend(["4\\nbecause"]), Problem(id="p", question="2+2?", answer="4"),
                         create_task("gsm8k_sample")))
assert r.final_answer == "4" and r.correct, r
assert build_scorer("always_half").name == "always_half"
print("plugin ok")
"""


def test_an_installed_plugin_package_registers_a_strategy_and_a_scorer(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "pyproject.toml").write_text(PYPROJECT)
    (pkg / "mistakelab_plugin_demo.py").write_text(MODULE)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(pkg)], check=True, capture_output=True, text=True, timeout=300)
    assert list(target.glob("mistakelab_plugin_demo-0.0.1.dist-info/entry_points.txt"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(SRC)])}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(CHECK)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "plugin ok"
