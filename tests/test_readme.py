"""The README's Python examples run as written (```python blocks; ```py blocks need a
running server and are shown only)."""

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


def test_no_merge_conflict_markers_in_tracked_files() -> None:
    import subprocess

    root = README.parent
    files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True).stdout.split()
    marked = []
    for name in files:
        path = root / name
        if path.suffix not in {".py", ".md", ".toml", ".txt", ""} or not path.is_file():
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======":
                marked.append(f"{name}:{i}")
    assert not marked, marked
