"""Program extraction never fails on arbitrary text, and what it returns is runnable syntax."""

from __future__ import annotations

import ast

from hypothesis import given, settings
from hypothesis import strategies as st

from mistakelab.sandbox import extract_program

PIECES = ["```python\n", "```\n", "```py\n", "\n```\n", "def solution():\n", "    return 3\n",
          "x = 5\n", "print(x)\n", "solution()\n", "The answer is 18.\n", "if __name__ == '__main__':\n",
          "    main()\n", "Output:\n", "18\n", "    ", "(", ")", ":", "\n", "é", "\x00", "'''"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=25) | st.text(max_size=300))
def test_extraction_is_total_and_gives_valid_source(parts) -> None:
    text = parts if isinstance(parts, str) else "".join(parts)
    program = extract_program(text)
    if program is not None and program.syntax_error is None:
        ast.parse(program.source)  # what we would run parses
        # the model's lines are kept: the source has at least as many as the code found
        assert len(program.source.splitlines()) >= len(program.code.splitlines())
