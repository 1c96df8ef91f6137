"""Finding the program in a model's output, with ``ast`` (parsing only; nothing runs here).

Accepted: a fenced block labeled python/py (or unlabeled), several blocks (the last one that
can print an answer, joined with earlier blocks it needs names from), an unclosed final fence,
plain code without fences, and code embedded in prose. How the answer gets printed is then
decided by :func:`~mistakelab.sandbox.entry.plan_output`.

>>> p = extract_program("Here you go:\\n```python\\ndef solve():\\n    return 16 - 3 - 4\\n```")
>>> p.found, p.output, p.entry
('fence', 'call', 'solve')
>>> extract_program("The answer is 9.") is None
True
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from mistakelab.sandbox.entry import defined_names, free_names, plan_output

_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:^[ \t]*```|\Z)", re.S | re.M)
_PYTHON_LABELS = frozenset({"", "python", "py", "python3", "py3", "ipython"})
_CODE_START = re.compile(
    r"^(def |async def |class |import |from \S+ import |@|if |for |while |with |try:|print\(|#"
    r"|[A-Za-z_][\w.\[\]'\"]*\s*(=|\+=|-=|\*=|/=|//=))")
_CONTINUES = re.compile(r"^(else:|elif |except|finally:|return\b|[A-Za-z_][\w.]*\()")
_MAX_LINES = 400  # bounds on the search for code embedded in prose
_MAX_STARTS = 8
_MAX_SHRINK = 40

Found = Literal["fence", "fences", "plain", "embedded"]


class Program(BaseModel):
    """A program found in model text. ``source`` is what to run; ``code`` is the model's code
    as found; ``output`` says how the answer gets printed (see ``plan_output``)."""

    model_config = ConfigDict(frozen=True)

    source: str
    code: str
    found: Found
    output: str
    entry: str | None = None
    label: str | None = None  # the fence's language label ("" when unlabeled)
    syntax_error: str | None = None  # set when the only code found does not parse


@dataclass
class _Block:
    code: str
    label: str | None
    tree: ast.Module | None


def _parse(code: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escape sequences in model strings
            return ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def _substantive(tree: ast.Module, strict: bool = False) -> bool:
    """More than constants, ``pass`` or bare annotations (``Output: 18`` parses as one).
    ``strict`` (text without fences): a lone name or sum is not a program either."""
    def trivial(node: ast.stmt) -> bool:
        if isinstance(node, ast.Expr):
            return isinstance(node.value, ast.Constant) or (
                strict and not isinstance(node.value, ast.Call))
        bare_annotation = isinstance(node, ast.AnnAssign) and node.value is None
        return isinstance(node, ast.Pass) or bare_annotation
    return any(not trivial(node) for node in tree.body)


def _fenced_blocks(text: str) -> list[_Block]:
    blocks = []
    for match in _FENCE.finditer(text):
        label = match.group(1).lower()
        if label not in _PYTHON_LABELS:
            continue
        code = textwrap.dedent(match.group(2)).strip("\n") + "\n"
        if code.strip():
            blocks.append(_Block(code, label, _parse(code)))
    return blocks


def _strong_output(code: str, tree: ast.Module) -> bool:
    return plan_output(code, tree)[1] in ("prints", "expression", "call", "call_prints")


def _choose(blocks: list[_Block]) -> tuple[str, ast.Module, list[_Block]] | None:
    """The last block that can print an answer (else the last parsing one), joined with the
    earlier blocks that define names it uses."""
    good = [b for b in blocks if b.tree is not None and _substantive(b.tree)]
    if not good:
        return None
    for i in range(len(good) - 1, -1, -1):
        parts = [good[i]]
        needed = free_names(good[i].tree)  # type: ignore[arg-type]
        for earlier in reversed(good[:i]):
            provides = defined_names(earlier.tree) & needed  # type: ignore[arg-type]
            if provides:
                parts.insert(0, earlier)
                needed = (needed - provides) | free_names(earlier.tree)  # type: ignore[arg-type]
        code = "\n\n".join(p.code.rstrip("\n") for p in parts) + "\n"
        tree = _parse(code)
        if tree is not None and (_strong_output(code, tree) or i == 0):
            return code, tree, parts
    last = good[-1]
    return last.code, last.tree, [last]  # type: ignore[return-value]


def _code_like(line: str) -> bool:
    """A line that may continue a program: blank, indented, code-shaped or a closing bracket."""
    return (not line.strip() or line[0] in " \t)]}" or bool(_CODE_START.match(line))
            or bool(_CONTINUES.match(line)))


def _embedded(text: str) -> tuple[str, ast.Module] | None:
    """The longest parsing run of code-like lines, in prose without fences."""
    lines = text.splitlines()[:_MAX_LINES]
    starts = [i for i, line in enumerate(lines) if _CODE_START.match(line)][:_MAX_STARTS]
    best: tuple[str, ast.Module] | None = None
    for start in starts:
        end = start + 1
        while end < len(lines) and _code_like(lines[end]):
            end += 1
        for stop in range(end, max(start, end - _MAX_SHRINK), -1):
            code = "\n".join(lines[start:stop]).strip("\n") + "\n"
            tree = _parse(code)
            if tree is not None:
                if _substantive(tree, strict=True) and (best is None or len(code) > len(best[0])):
                    best = (code, tree)
                break
    return best


def _syntax_error(code: str) -> str:
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return f"{exc.msg} (line {exc.lineno})"
    except ValueError as exc:  # e.g. null bytes
        return str(exc)
    return "does not parse"


def extract_program(text: str) -> Program | None:
    """The program in ``text``, or None when there is no code at all.

    A python (or unlabeled) fence whose code does not parse still gives a Program, with
    ``syntax_error`` set: running it shows the model Python's own SyntaxError to fix.
    """
    blocks = _fenced_blocks(text)
    chosen = _choose(blocks)
    if chosen is not None:
        code, tree, parts = chosen
        source, output, entry = plan_output(code, tree)
        return Program(source=source, code=code, found="fences" if len(parts) > 1 else "fence",
                       output=output, entry=entry, label=parts[-1].label)
    broken = [b for b in blocks if b.tree is None and (b.label or _CODE_START.match(b.code))]
    if broken:  # code in a fence, and none of the fenced code parses
        last = broken[-1]
        return Program(source=last.code, code=last.code, found="fence", output="none",
                       label=last.label, syntax_error=_syntax_error(last.code))
    plain = textwrap.dedent(text).strip("\n") + "\n"
    tree = _parse(plain)
    found: Found = "plain"
    if tree is None or not _substantive(tree, strict=True):
        embedded = _embedded(text)
        if embedded is None:
            return None
        (plain, tree), found = embedded, "embedded"
    source, output, entry = plan_output(plain, tree)
    return Program(source=source, code=plain, found=found, output=output, entry=entry)
