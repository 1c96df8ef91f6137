"""Untrusted text made safe to write: every string the page shows passes through :func:`clean`
(before the template escapes it), so broken UTF-8 and control characters cannot break the
file or the parser.

Example:
    >>> clean("ok\\x00\\ud800 <b>")
    'ok\\ufffd\\ufffd <b>'
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")


def clean(text: str) -> str:
    """Lone surrogates (text decoded from broken UTF-8), control characters and noncharacters
    become U+FFFD; tabs and newlines stay. Escaping is the template's job, not this one's."""
    return _CONTROL.sub("\ufffd", text)
