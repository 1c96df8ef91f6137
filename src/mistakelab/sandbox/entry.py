"""How a program's answer gets printed, decided from its syntax tree (never by running it).

Small models write programs that print, that only ``return`` from a function they never call,
or that end in a bare expression or an assignment. :func:`plan_output` finds which, and gives
the source to run: the model's code untouched (line numbers kept, so tracebacks match what the
model wrote) plus, where needed, a call or a ``print`` added at the end.

>>> plan_output("def solution():\\n    return 3 * 6\\n")
('def solution():\\n    return 3 * 6\\n\\nprint(solution())\\n', 'call', 'solution')
>>> plan_output("eggs = 16 - 3 - 4\\neggs * 2\\n")[0]
'eggs = 16 - 3 - 4\\nprint(eggs * 2)\\n'
"""

from __future__ import annotations

import ast
import builtins

# Entry names, most likely first, when several functions are never called.
ENTRY_NAMES = ("solution", "solve", "main", "compute", "answer", "calculate", "get_answer",
               "find_answer", "result", "calc", "run")
_BUILTINS = frozenset(dir(builtins))


def _is_main_guard(node: ast.stmt) -> bool:
    """``if __name__ == "__main__":``"""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left, *node.test.comparators]
    return (any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def _executed(tree: ast.Module) -> list[ast.stmt]:
    """Module-level statements that run (the main guard's body included), defs left out."""
    out: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if _is_main_guard(node):
            out.extend(n for n in node.body  # type: ignore[attr-defined]
                       if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
        else:
            out.append(node)
    return out


def _called_names(nodes: list[ast.AST]) -> set[str]:
    return {n.func.id for node in nodes for n in ast.walk(node)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def _prints(nodes: list[ast.AST]) -> bool:
    """A print(...), pprint(...) or sys.stdout.write(...) call somewhere in ``nodes``."""
    for node in nodes:
        for n in ast.walk(node):
            if not isinstance(n, ast.Call):
                continue
            f = n.func
            if isinstance(f, ast.Name) and f.id in ("print", "pprint"):
                return True
            if isinstance(f, ast.Attribute) and (
                    f.attr == "pprint" or (f.attr == "write" and "stdout" in ast.unparse(f.value))):
                return True
    return False


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            funcs[node.name] = node
        elif _is_main_guard(node):
            funcs.update({n.name: n for n in node.body  # type: ignore[attr-defined]
                          if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))})
    return funcs


def _reachable(funcs: dict, roots: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = [name for name in roots if name in funcs]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(c for c in _called_names([funcs[name]]) if c in funcs and c not in seen)
    return seen


def _referenced_outside(tree: ast.Module, func: ast.AST, name: str) -> bool:
    inside = {id(n) for n in ast.walk(func)}
    return any(isinstance(n, ast.Name) and n.id == name and id(n) not in inside
               for n in ast.walk(tree))


def _callable_without_args(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    a = func.args
    required = len(a.posonlyargs) + len(a.args) - len(a.defaults)
    return (required == 0 and not isinstance(func, ast.AsyncFunctionDef)
            and all(d is not None for d in a.kw_defaults))


def _returns_value(func: ast.AST) -> bool:
    return any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(func))


def _entry(tree: ast.Module, funcs: dict) -> str | None:
    """The function to call: never referenced outside itself, callable with no arguments."""
    uncalled = [name for name, f in funcs.items()
                if not _referenced_outside(tree, f, name) and _callable_without_args(f)]
    for name in ENTRY_NAMES:
        if name in uncalled:
            return name
    return uncalled[-1] if uncalled else None


def _wrap_in_print(code: str, expr: ast.expr) -> str:
    """``code`` with ``print(`` ... ``)`` around ``expr``, in place (col offsets are UTF-8)."""
    lines = code.splitlines(keepends=True)

    def offset(lineno: int, col: int) -> int:
        before = sum(len(line) for line in lines[:lineno - 1])
        return before + len(lines[lineno - 1].encode()[:col].decode(errors="ignore"))

    start = offset(expr.lineno, expr.col_offset)
    end = offset(expr.end_lineno or expr.lineno, expr.end_col_offset or 0)
    return code[:start] + "print(" + code[start:end] + ")" + code[end:]


def _with_epilogue(code: str, line: str) -> str:
    return code.rstrip() + "\n\n" + line + "\n"


def plan_output(code: str, tree: ast.Module | None = None) -> tuple[str, str, str | None]:
    """``(source to run, how the answer is printed, entry name)``. The second item is one of
    ``prints`` (as written), ``expression`` (a final bare expression, now printed), ``call``
    (an uncalled function, now called and its value printed), ``call_prints`` (an uncalled
    function that prints, now called), ``assignment`` (the last assigned name, now printed),
    ``none`` (nothing found that would print an answer)."""
    tree = tree or ast.parse(code)
    executed, funcs = _executed(tree), _functions(tree)
    reachable = _reachable(funcs, _called_names(executed))
    prints = _prints(executed) or _prints([funcs[name] for name in reachable])
    last = executed[-1] if executed else None
    if isinstance(last, ast.Expr) and not (isinstance(last.value, ast.Constant)
                                           or (prints and isinstance(last.value, ast.Call))):
        return _wrap_in_print(code, last.value), "expression", None
    entry = _entry(tree, funcs)
    returns = entry is not None and _returns_value(funcs[entry])
    # A never-called solution() that returns is the program's point, even if the script
    # prints other things; an unknown name only when nothing else prints.
    if returns and (not prints or entry in ENTRY_NAMES):
        return _with_epilogue(code, f"print({entry}())"), "call", entry
    if prints:
        return code, "prints", None
    if entry is not None:
        if _prints([funcs[name] for name in _reachable(funcs, {entry})]):
            return _with_epilogue(code, f"{entry}()"), "call_prints", entry
        return _with_epilogue(code, f"print({entry}())"), "call", entry
    target = None
    if isinstance(last, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        targets = last.targets if isinstance(last, ast.Assign) else [last.target]
        if len(targets) == 1 and isinstance(targets[0], ast.Name):
            target = targets[0].id
    if target is not None:
        return _with_epilogue(code, f"print({target})"), "assignment", target
    return code, "none", None


def defined_names(tree: ast.Module) -> set[str]:
    """Names a module binds at top level (defs, classes, imports, assignments)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def free_names(tree: ast.Module) -> set[str]:
    """Names read but bound nowhere in the module (nor builtins): what an earlier code block
    must have defined.

    >>> sorted(free_names(ast.parse("print(solution() + rate)")))
    ['rate', 'solution']
    """
    loaded = {n.id for n in ast.walk(tree)
              if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loaded - defined_names(tree) - _BUILTINS
