"""The house plan, checked: rooms import only the rooms below them; library code never
imports the CLI; no module-level import cycles."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "mistakelab"

#: lowest first: a room may import itself and the rooms before it, never one after it
ROOMS = ["core", "answers", "steps", "tasks", "models", "backends", "store", "sandbox", "metrics",
         "confidence", "context", "scorers", "locate", "strategies", "runner", "experiments", "learn",
         "report", "serve", "cli"]


def _imports(path: Path, module_level_only: bool = False, type_checking: bool = False) -> list[tuple[int, str]]:
    """Our modules ``path`` imports: anywhere, or at module level only (with ``type_checking``,
    also those under a module-level ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    if module_level_only and type_checking:
        nodes = [*nodes, *(n for node in tree.body if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                           for n in node.body)]
    out = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return [(n, m) for n, m in out if m == "mistakelab" or m.startswith("mistakelab.")]


def _room(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else "(package)"


def test_every_room_is_in_the_plan() -> None:
    rooms = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    unknown = rooms - set(ROOMS) - {"data", "configs"}
    assert not unknown, f"add {sorted(unknown)} to ROOMS (and to the README's map)"


def test_rooms_import_only_rooms_below_them() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        room = _room(path)
        if room not in ROOMS:
            continue
        for line, module in _imports(path):
            other = module.split(".")[1] if "." in module else "(package)"
            if other in ROOMS and ROOMS.index(other) > ROOMS.index(room):
                wrong.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_library_code_never_imports_the_cli() -> None:
    wrong = [f"{p.relative_to(SRC)}:{n} imports {m}" for p in SRC.rglob("*.py") if _room(p) != "cli"
             for n, m in _imports(p) if m.startswith("mistakelab.cli")]
    assert not wrong, "\n".join(wrong)


def test_context_imports_neither_the_store_nor_the_local_engine() -> None:
    """What strategies see (context/) stays below the runner's plumbing: the caller, its
    completion cache and call log live in runner/, and backends are reached through gateways."""
    wrong = [f"{p.relative_to(SRC)}:{n} imports {m}" for p in (SRC / "context").rglob("*.py")
             for n, m in _imports(p) if m.startswith(("mistakelab.store", "mistakelab.backends.local"))]
    assert not wrong, "\n".join(wrong)


def test_no_module_level_import_cycles() -> None:
    _assert_no_cycles(type_checking=False)


def test_no_cycles_even_through_type_checking_imports() -> None:
    """A handle gets the narrow scope it needs, not its whole context: context/base.py and
    context/handle.py import each other in neither direction's type hints."""
    _assert_no_cycles(type_checking=True)


def _assert_no_cycles(type_checking: bool) -> None:
    def name(p: Path) -> str:
        rel = p.relative_to(SRC.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        return ".".join(parts)

    modules = {name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for mod, path in modules.items():
        if path.name == "__init__.py":
            continue  # a package re-exporting its own modules is not a cycle between them
        for _, target in _imports(path, module_level_only=True, type_checking=type_checking):
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != mod and modules[target].name != "__init__.py":
                graph[mod].add(target)
    seen: dict[str, int] = {}
    cycle: list[str] = []

    def visit(m: str, stack: list[str]) -> bool:
        seen[m] = 1
        for n in graph[m]:
            if seen.get(n) == 1:
                cycle.extend(stack[stack.index(n):] + [n] if n in stack else [m, n])
                return True
            if n not in seen and visit(n, stack + [n]):
                return True
        seen[m] = 2
        return False

    for m in list(graph):
        if m not in seen and visit(m, [m]):
            break
    assert not cycle, " -> ".join(cycle)
