"""Step splitter: modes, spans, display blocks kept whole and attached to their sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mistakelab.steps import split_steps
from mistakelab.steps.split import display_spans

DATA = Path(__file__).parents[1] / "data"
REAL = [DATA / "real_outputs_qwen05.jsonl", DATA / "real_outputs_smollm135.jsonl"]

CASES = [
    (
        "step markers, multi-line sections",
        "Step 1: Find the cost.\nApples cost $2.\nStep 2: Multiply.\n2 × 3 = 6",
        ["Step 1: Find the cost.\nApples cost $2.", "Step 2: Multiply.\n2 × 3 = 6"],
    ),
    (
        "bold and header markers with preamble and conclusion",
        "Let's solve it.\n\n**Step 1:** Add 2 and 3.\n\n2 + 3 = 5\n\n### Step 2. Double\n"
        "5 × 2 = 10\n\nTherefore, the answer is \\boxed{10}.",
        ["Let's solve it.", "**Step 1:** Add 2 and 3.\n\n2 + 3 = 5",
         "### Step 2. Double\n5 × 2 = 10", "Therefore, the answer is \\boxed{10}."],
    ),
    (
        "bold marker without colon",
        "**Step 1**\nAdd.\n**Step 2**\nStop.",
        ["**Step 1**\nAdd.", "**Step 2**\nStop."],
    ),
    (
        "'in step 2' inside a sentence is not a marker",
        "We add.\nIn step 2 we stop.\nDone.",
        ["We add.", "In step 2 we stop.", "Done."],
    ),
    (
        "numbered list with nested bullets and an indented display block",
        "To find it:\n\n1. **Cost**:\n   - apples: 3\n   - pears: 4\n\n   \\[\n   3 + 4 = 7\n   \\]\n"
        "2) Double: 7 × 2 = 14\n\nSo the answer is 14.",
        ["To find it:", "1. **Cost**:\n   - apples: 3\n   - pears: 4\n\n   \\[\n   3 + 4 = 7\n   \\]",
         "2) Double: 7 × 2 = 14", "So the answer is 14."],
    ),
    (
        "bullets of three kinds",
        "- first\n* second\n• third",
        ["- first", "* second", "• third"],
    ),
    (
        "a lone display block after a blank line joins the step that introduces it",
        "1. Compute the total:\n\n\\[\n5 \\times 3 = 15\n\\]\n\n2. Add 2: 17.",
        ["1. Compute the total:\n\n\\[\n5 \\times 3 = 15\n\\]", "2. Add 2: 17."],
    ),
    (
        "paragraphs, $$ block attached to its sentence",
        "First compute:\n\n$$\n5 \\cdot 3 = 15\n$$\n\nThen add 2: 17.",
        ["First compute:\n\n$$\n5 \\cdot 3 = 15\n$$", "Then add 2: 17."],
    ),
    (
        "a blank line inside an align block does not split it",
        "\\begin{align}\na &= 1 \\\\\n\nb &= 2\n\\end{align}\n\nnext para",
        ["\\begin{align}\na &= 1 \\\\\n\nb &= 2\n\\end{align}", "next para"],
    ),
    (
        "single paragraph falls back to lines",
        "  2 + 2 = 4\n4 × 3 = 12\n\n",
        ["2 + 2 = 4", "4 × 3 = 12"],
    ),
    (
        "lines mode keeps a multi-line display with its opener line",
        "We get\n\\[\n1 + 1\n= 2\n\\]\nDone",
        ["We get\n\\[\n1 + 1\n= 2\n\\]", "Done"],
    ),
    (
        "a step marker inside a display block is ignored",
        "Step 1: go\n$$\nStep 2: no\n$$\nStep 2: yes",
        ["Step 1: go\n$$\nStep 2: no\n$$", "Step 2: yes"],
    ),
    (
        "decimal at line start is not a list item",
        "1.5 + 2 = 3.5\n2.5 + 1 = 3.5",
        ["1.5 + 2 = 3.5", "2.5 + 1 = 3.5"],
    ),
    ("empty text", "", []),
    ("whitespace only", " \n\n \t", []),
]


@pytest.mark.parametrize("name,text,expected", CASES, ids=[c[0] for c in CASES])
def test_split_table(name: str, text: str, expected: list[str]) -> None:
    steps = split_steps(text)
    assert [s.text for s in steps] == expected
    assert [s.index for s in steps] == list(range(len(steps)))
    for s in steps:
        assert text[s.start:s.end] == s.text == s.text.strip()


def test_forced_modes() -> None:
    text = "Step 1: a\nb\n\nStep 2: c"
    assert [s.text for s in split_steps(text, mode="lines")] == ["Step 1: a", "b", "Step 2: c"]
    assert [s.text for s in split_steps(text, mode="paragraphs")] == ["Step 1: a\nb", "Step 2: c"]
    assert [s.text for s in split_steps(text)] == ["Step 1: a\nb", "Step 2: c"]
    with pytest.raises(ValueError):
        split_steps(text, mode="sentences")  # type: ignore[arg-type]


def test_markers_win_over_lists() -> None:
    text = "Step 1: list\n1. a\n2. b\nStep 2: end"
    assert [s.text for s in split_steps(text)] == ["Step 1: list\n1. a\n2. b", "Step 2: end"]


def test_display_spans_ignore_unclosed_block() -> None:
    text = "a \\[ 1 + 1 = 2 \\] b \\[ unclosed"
    assert display_spans(text) == [(2, 17)]
    # the unclosed opener must not glue the remaining lines together
    assert len(split_steps("x\n\\[ open\ny\nz")) == 4


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_real_outputs_spans_and_displays(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path.name} not generated")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert rows
    for row in rows:
        text = row["output"]
        steps = split_steps(text)
        assert steps, row["id"]
        spans = display_spans(text)
        for s in steps:
            assert text[s.start:s.end] == s.text
        for ds, de in spans:
            # every display block lies inside exactly one step, and never is a step alone
            owners = [s for s in steps if s.start <= ds and de <= s.end]
            assert len(owners) == 1, (row["id"], text[ds:de])
            owner = owners[0]
            if owner.index > 0:
                assert owner.text.strip() != text[ds:de].strip(), row["id"]


_PIECES = ["Step 1: a", "**Step 2**", "1. x", "- y", "\n", "\n\n", "  ", "\\[", "\\]", "$$",
           "\\begin{align}", "\\end{align}", "2 + 2 = 4", "Therefore, 4.", "```", "text"]


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(_PIECES) | st.text(max_size=8), max_size=25),
       mode=st.sampled_from(["auto", "markers", "list", "paragraphs", "lines"]))
def test_every_visible_char_is_in_exactly_one_step(parts: list[str], mode: str) -> None:
    text = "".join(parts)
    steps = split_steps(text, mode=mode)  # type: ignore[arg-type]
    owner = [0] * len(text)
    for s in steps:
        assert text[s.start:s.end] == s.text == s.text.strip() and s.text
        for i in range(s.start, s.end):
            owner[i] += 1
    for ch, n in zip(text, owner):
        assert n == 1 or (ch.isspace() and n == 0), (ch, n)
    assert [s.start for s in steps] == sorted(s.start for s in steps)
