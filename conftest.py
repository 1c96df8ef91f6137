"""Collection that survives missing optional extras.

``pytest`` collects the doctests of every module under ``src`` (``--doctest-modules``). A
module that imports an optional extra at module level (``starlette`` for ``serve``,
``llama_cpp`` for ``local``), directly or through another of our modules, cannot be imported
without that extra: it is left out of collection, and the summary says which extra would
bring it back. Test files that need an extra skip themselves with ``pytest.importorskip``,
naming the extra.
"""

from __future__ import annotations

import ast
import importlib.util
from functools import lru_cache
from pathlib import Path

#: top-level module -> the extra (``pip install mistakelab[<extra>]``) that installs it
EXTRA_OF = {"starlette": "serve", "uvicorn": "serve", "llama_cpp": "local", "torch": "train",
            "transformers": "train", "trl": "train", "peft": "train", "datasets": "train", "gguf": "train"}
SRC = Path(__file__).parent / "src"
_left_out: dict[str, str] = {}


def _module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.exists():
            return p
    return None


def _direct(path: Path) -> tuple[set[str], set[Path]]:
    """Top-level modules ``path`` imports at module level, and our module files it runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    tops: set[str] = set()
    ours: set[Path] = set()
    for node in tree.body:
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
        for name in names:
            tops.add(name.split(".")[0])
            parts = name.split(".")
            if parts[0] == "mistakelab":
                for i in range(1, len(parts) + 1):  # the package __init__s on the way run too
                    own = _module_file(".".join(parts[:i]))
                    if own is not None:
                        ours.add(own)
    return tops, ours


@lru_cache(maxsize=None)
def _imports(path: Path) -> frozenset[str]:
    """Top-level modules imported at module level by ``path`` or by our modules it imports."""
    # importing a module runs its packages' __init__s first
    packages = [d / "__init__.py" for d in path.parents if SRC in d.parents and (d / "__init__.py").exists()]
    seen, todo, tops = {path, *packages}, [path, *packages], set()
    while todo:
        more, ours = _direct(todo.pop())
        tops |= more
        todo += [p for p in ours if p not in seen]
        seen |= ours
    return frozenset(tops)


@lru_cache(maxsize=None)
def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    path = Path(collection_path)
    if path.is_dir() and (path / "__init__.py").exists():
        path = path / "__init__.py"  # a package none of whose modules imports without its __init__
    if path.suffix != ".py" or SRC not in path.parents:
        return None
    missing = sorted({EXTRA_OF[m] for m in _imports(path) if m in EXTRA_OF and not _installed(m)})
    if missing:
        _left_out[str(path.relative_to(SRC.parent))] = ", ".join(missing)
        return True
    return None


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _left_out:
        terminalreporter.write_line(f"doctests left out for missing extras ({len(_left_out)} modules): " + "; ".join(
            f"{p} (needs [{extra}])" for p, extra in sorted(_left_out.items())))
