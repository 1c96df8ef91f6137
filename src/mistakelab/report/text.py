"""Print untrusted text literally: ids, names, labels, paths, questions and model output.

Two dangers: rich markup (``[bold]`` is styled, ``[/x]`` crashes the printer) and characters
that act on the terminal instead of showing (ANSI escape sequences, carriage returns,
backspaces, NUL, bidirectional overrides that reorder what is shown). :func:`literal` makes
a :class:`rich.text.Text` (never parsed as markup) in which every such character is shown as
its escape: ``ESC`` as ``\\x1b``, NUL as ``\\x00``, U+202E as ``\\u202e``. Newlines and tabs
stay, unless ``one_line`` (then they show as ``\\n`` and ``\\t`` too). Ordinary right-to-left
text (Arabic, Hebrew) prints as it is.

Example:
    >>> visible("[bold]p1[/bold]\\x1b[31m red\\u202e")
    '[bold]p1[/bold]\\\\x1b[31m red\\\\u202e'
    >>> literal("[/x]").plain
    '[/x]'
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text

# C0 controls except tab and newline, DEL, C1 controls (U+009B is an 8-bit CSI), the
# bidirectional embeddings, overrides and isolates, and lone surrogates (unprintable).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_CONTROL_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    code = ord(ch)
    return _NAMED.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: Any, one_line: bool = False) -> str:
    """``text`` (any value, as ``str``) with terminal-controlling characters escaped."""
    return (_CONTROL_LINE if one_line else _CONTROL).sub(_escape, str(text))


def literal(text: Any, style: str = "", one_line: bool = False) -> Text:
    """A rich Text that shows ``text`` exactly (no markup, controls escaped)."""
    return Text(visible(text, one_line), style=style)
