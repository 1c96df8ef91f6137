"""Split a free-text solution into steps with character spans.

Every step keeps its place in the original: ``text[step.start:step.end] == step.text`` and the
text is stripped. The mode is picked from what the text contains:

1. ``Step k:`` / ``Step k.`` / ``**Step k**`` / ``### Step k`` markers: one step per marked
   section (a section may span many lines); text before the first marker is split into
   paragraphs, and a closing paragraph after the last section that opens with a conclusion cue ("Therefore",
   "The final answer", ...) is split off as the last step.
2. two or more top-level list items (``1.``, ``2)``, ``-``, ``*``, ``•``, ``+``): one step per
   item (indented continuation lines and nested items stay with it); other paragraphs are steps.
3. several blank-line-separated paragraphs: one step per paragraph.
4. a single paragraph: one step per line.

LaTeX display blocks (``\\[ ... \\]``, ``$$ ... $$``, ``\\begin{env} ... \\end{env}``) and code
fences are never cut, and a display block standing alone is attached to the step before it,
since it almost always finishes the sentence that introduces it ("the total is:").

Example:
    >>> [s.text for s in split_steps("Step 1: 2 + 2 = 4.\\nSo four.\\nStep 2: Done.")]
    ['Step 1: 2 + 2 = 4.\\nSo four.', 'Step 2: Done.']
    >>> [s.text for s in split_steps("a\\nb", mode="paragraphs")]
    ['a\\nb']
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Literal

from mistakelab.steps.types import Step

SplitMode = Literal["auto", "markers", "list", "paragraphs", "lines"]

_DISPLAY_OPEN = re.compile(r"\\\[|\$\$|\\begin\{([A-Za-z]+\*?)\}|```")
_STEP_MARKER = re.compile(
    r"^[ \t]*(?:[-*•+][ \t]+|\d{1,3}[.)][ \t]+)?"  # optional list prefix ("1. Step 1:")
    r"(?:(?P<hdr>#{1,6}[ \t]*|\*\*|__)[ \t]*)?"  # optional markdown header / bold
    r"step[ \t]+\d{1,3}\b(?P<tail>[ \t]*(?:[:.)\-–—]|\*\*|__|$))?",
    re.IGNORECASE | re.MULTILINE,
)
_LIST_ITEM = re.compile(r"^([ \t]*)(?:\d{1,3}[.)]|[-*•+])[ \t]+\S", re.MULTILINE)
_BLANK_LINE = re.compile(r"\n(?:[ \t]*\n)+")
_CONCLUSION = re.compile(
    r"(?:\*\*)?(?:therefore|thus|hence|so,|in conclusion|in summary|finally|the final answer|"
    r"final answer|the answer is|answer:)",
    re.IGNORECASE,
)


def display_spans(text: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of LaTeX display blocks and code fences, in order.

    An unclosed block is ignored (truncated output), so it never swallows the rest.

    Example:
        >>> display_spans("a \\\\[x\\\\] b")
        [(2, 7)]
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    while True:
        m = _DISPLAY_OPEN.search(text, pos)
        if m is None:
            return spans
        opener = m.group(0)
        if opener == "\\[":
            close = "\\]"
        elif opener in ("$$", "```"):
            close = opener
        else:
            close = "\\end{" + m.group(1) + "}"
        end = text.find(close, m.end())
        if end < 0:
            pos = m.end()
            continue
        spans.append((m.start(), end + len(close)))
        pos = end + len(close)


def in_spans(pos: int, spans: list[tuple[int, int]]) -> bool:
    """True if ``pos`` lies strictly inside one of the sorted, disjoint ``spans``.

    Example:
        >>> in_spans(3, [(2, 7)]), in_spans(2, [(2, 7)])
        (True, False)
    """
    i = bisect_left(spans, (pos,)) - 1  # last span starting before pos
    return i >= 0 and pos < spans[i][1]


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer(r"\n", text)]


def _paragraph_starts(text: str) -> list[int]:
    # Start of the first non-blank line after each run of blank lines.
    return [0] + [m.end() for m in _BLANK_LINE.finditer(text)]


def _marker_cuts(text: str, spans: list[tuple[int, int]]) -> list[int]:
    cuts = []
    for m in _STEP_MARKER.finditer(text):
        # Bare "Step 3 ..." needs punctuation after the number; a header or bold prefix does not.
        if m.group("hdr") is None and m.group("tail") is None:
            continue
        if not in_spans(m.start(), spans):
            cuts.append(m.start())
    if not cuts:
        return []
    # The preamble (intro, plan) splits into paragraphs; a trailing conclusion paragraph
    # is split off the last section.
    cuts += [p for p in _paragraph_starts(text) if p < cuts[0] and not in_spans(p, spans)]
    last = max(cuts)
    for p in _paragraph_starts(text):
        if p > last and not in_spans(p, spans):
            rest = text[p:].lstrip()
            if _CONCLUSION.match(rest):
                cuts.append(p)
                break
    return sorted(set(cuts) | {0})


def _list_cuts(text: str, spans: list[tuple[int, int]]) -> list[int]:
    items = [m for m in _LIST_ITEM.finditer(text) if not in_spans(m.start(), spans)]
    if not items:
        return []
    top = min(len(m.group(1).expandtabs(4)) for m in items)
    tops = [m.start() for m in items if len(m.group(1).expandtabs(4)) == top]
    if len(tops) < 2:
        return []
    cuts = set(tops)
    # A paragraph indented no deeper than the items is not a continuation of the item above.
    for p in _paragraph_starts(text):
        if in_spans(p, spans):
            continue
        line = text[p:].split("\n", 1)[0]
        if line.strip() and len(line) - len(line.lstrip(" \t")) <= top:
            cuts.add(p)
    return sorted(cuts | {0})


def _cuts_to_steps(text: str, cuts: list[int]) -> list[tuple[int, int]]:
    bounds = sorted(set(cuts) | {0}) + [len(text)]
    pieces = []
    for a, b in zip(bounds, bounds[1:]):
        chunk = text[a:b]
        stripped = chunk.strip()
        if stripped:
            s = a + (len(chunk) - len(chunk.lstrip()))
            pieces.append((s, s + len(stripped)))
    return pieces


def _is_lone_display(text: str, span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    s, e = span
    parts, pos = [], s
    for ds, de in spans[bisect_left(spans, (s,)):]:
        if ds >= e:
            break
        if de <= e:
            parts.append(text[pos:ds])
            pos = de
    if pos == s:  # no display block inside
        return False
    parts.append(text[pos:e])
    return not re.search(r"\w", "".join(parts))


def _attach_displays(text: str, pieces: list[tuple[int, int]],
                     spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for piece in pieces:
        if out and _is_lone_display(text, piece, spans):
            out[-1] = (out[-1][0], piece[1])
        else:
            out.append(piece)
    return out


def _pick_mode(text: str, spans: list[tuple[int, int]]) -> SplitMode:
    if len(_marker_cuts(text, spans)) > 1:
        return "markers"
    if _list_cuts(text, spans):
        return "list"
    paragraphs = _attach_displays(text, _cuts_to_steps(text, _free(_paragraph_starts(text), spans)),
                                  spans)
    return "paragraphs" if len(paragraphs) > 1 else "lines"


def _free(cuts: list[int], spans: list[tuple[int, int]]) -> list[int]:
    return [c for c in cuts if not in_spans(c, spans)]


def split_steps(text: str, mode: SplitMode = "auto") -> list[Step]:
    """Split ``text`` into :class:`Step` objects whose spans reproduce the stripped step text.

    ``mode`` forces a splitting mode (``"markers"``, ``"list"``, ``"paragraphs"``,
    ``"lines"``); ``"auto"`` picks one from the text (see the module docstring). A forced
    mode that finds nothing to split on falls back to one step for the whole text.

    Example:
        >>> [s.text for s in split_steps("1. Add: 2 + 3 = 5\\n2. Double: 5 × 2 = 10")]
        ['1. Add: 2 + 3 = 5', '2. Double: 5 × 2 = 10']
    """
    spans = display_spans(text)
    if mode == "auto":
        mode = _pick_mode(text, spans)
    if mode == "markers":
        cuts = _marker_cuts(text, spans)
    elif mode == "list":
        cuts = _list_cuts(text, spans)
    elif mode == "paragraphs":
        cuts = _free(_paragraph_starts(text), spans)
    elif mode == "lines":
        cuts = _free(_line_starts(text), spans)
    else:
        raise ValueError(f"unknown split mode: {mode!r}")
    pieces = _attach_displays(text, _cuts_to_steps(text, cuts or [0]), spans)
    return [Step(index=i, text=text[s:e], start=s, end=e) for i, (s, e) in enumerate(pieces)]
