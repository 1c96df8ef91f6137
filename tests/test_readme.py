"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

from mistakelab.strategies import strategies

README = Path(__file__).parent.parent / "README.md"


def test_readme_python_blocks_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has a Python example"
    before = set(strategies.names())
    try:
        for code in blocks:
            exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    finally:
        for name in set(strategies.names()) - before:
            strategies.unregister(name)
