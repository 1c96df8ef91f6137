"""Long texts stored once: content-addressed chunks in the ``texts`` table.

A run repeats the same long texts in many rows: a question sits in its problem, in every
request that asks it (call log and completion cache) and in every trace. Before a JSON
document is written, each string of at least :data:`INLINE_MAX` characters is cut into
content-defined chunks (boundaries depend only on the nearby characters, so a question
quoted inside a longer prompt shares all but its edge chunks with the question itself);
each chunk is stored once under its SHA-256 and the string becomes a reference
``{"$mistakelab.text": [hash, ...]}``. Readers put the strings back; documents written
before this table existed have no references and read as they are.

Example:
    >>> doc, chunks = pack({"question": "x" * 5000, "id": "p1"})
    >>> len(doc) < 200, "".join(chunks.values()) == "x" * 5000
    (True, True)
    >>> unpack(doc, chunks.__getitem__) == json.dumps({"question": "x" * 5000, "id": "p1"}, ensure_ascii=False)
    True
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

import numpy as np

#: Strings shorter than this stay inline in their JSON document.
INLINE_MAX = 2048
REF = "$mistakelab.text"

_WINDOW = 48  # characters that decide a boundary
_MASK = (1 << 14) - 1  # a boundary every ~16 K characters on average
_MIN_CHUNK, _MAX_CHUNK = 4096, 131072


def chunk_bounds(text: str) -> list[int]:
    """End offsets of the content-defined chunks of ``text`` (the last is ``len(text)``).

    A boundary falls after a character where a hash of the preceding :data:`_WINDOW`
    characters has its low bits zero, at least ``_MIN_CHUNK`` and at most ``_MAX_CHUNK``
    characters after the previous one.
    """
    n = len(text)
    if n <= _MIN_CHUNK:
        return [n]
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    # a per-character pseudo-random value (multiply-xorshift), summed over a sliding window
    g = (cps * np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    g ^= g >> np.uint64(29)
    g = (g * np.uint64(0xBF58476D1CE4E5B9)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    g >>= np.uint64(20)
    csum = np.cumsum(g, dtype=np.uint64)
    window = csum[_WINDOW:] - csum[:-_WINDOW]
    candidates = np.nonzero((window & np.uint64(_MASK)) == 0)[0] + _WINDOW + 1
    bounds, last = [], 0
    for pos in candidates.tolist():
        while pos - last > _MAX_CHUNK:
            last += _MAX_CHUNK
            bounds.append(last)
        if pos - last >= _MIN_CHUNK and n - pos >= _MIN_CHUNK // 4:
            bounds.append(pos)
            last = pos
    while n - last > _MAX_CHUNK:
        last += _MAX_CHUNK
        bounds.append(last)
    bounds.append(n)
    return bounds


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def pack(value: Any) -> tuple[str, dict[str, str]]:
    """``value`` as JSON with its long strings replaced by chunk references, and the chunks
    (hash -> text) to store."""
    chunks: dict[str, str] = {}

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            if len(v) < INLINE_MAX:
                return v
            refs, start = [], 0
            for end in chunk_bounds(v):
                body = v[start:end]
                h = _digest(body)
                chunks[h] = body
                refs.append(h)
                start = end
            return {REF: refs}
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return json.dumps(walk(value), ensure_ascii=False), chunks


def pack_json(doc: str) -> tuple[str, dict[str, str]]:
    """:func:`pack` for a JSON document (a short one cannot hold a long string: kept as is)."""
    if len(doc) < INLINE_MAX:
        return doc, {}
    return pack(json.loads(doc))


def unpack(doc: str, fetch: Callable[[str], str]) -> str:
    """The JSON document with every chunk reference replaced by its text (``fetch(hash)``)."""
    if REF not in doc:
        return doc

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            if len(v) == 1 and isinstance(v.get(REF), list):
                return "".join(fetch(h) for h in v[REF])
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return json.dumps(walk(json.loads(doc)), ensure_ascii=False)
