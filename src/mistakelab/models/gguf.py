"""A minimal GGUF header reader: just enough to read string/number metadata keys.

Used to sanity-check assembled model files (``general.name``) without importing llama.cpp.

Example:
    >>> import io, struct
    >>> def s(b): return struct.pack("<Q", len(b)) + b
    >>> kv = s(b"general.name") + struct.pack("<I", 8) + s(b"Tiny")
    >>> blob = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + kv
    >>> read_metadata(io.BytesIO(blob), {"general.name"})
    {'general.name': 'Tiny'}
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import IO, Any, Iterable

MAGIC = b"GGUF"

# GGUF value type id -> struct format of a scalar of that type.
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?",
            10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


class GGUFError(ValueError):
    """The file is not a readable GGUF file."""


def _read(f: IO[bytes], n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise GGUFError("truncated GGUF header")
    return data


def _unpack(f: IO[bytes], fmt: str) -> Any:
    return struct.unpack("<" + fmt, _read(f, struct.calcsize(fmt)))[0]


def _string(f: IO[bytes]) -> str:
    n = _unpack(f, "Q")
    if n > 1 << 30:
        raise GGUFError("implausible string length in GGUF header")
    return _read(f, n).decode("utf-8", errors="replace")


def _value(f: IO[bytes], vtype: int, keep: bool) -> Any:
    if vtype in _SCALARS:
        return _unpack(f, _SCALARS[vtype])
    if vtype == _STRING:
        return _string(f)
    if vtype == _ARRAY:
        itype, count = _unpack(f, "I"), _unpack(f, "Q")
        if not keep and itype in _SCALARS:  # skip fixed-size arrays without reading them
            f.seek(count * struct.calcsize(_SCALARS[itype]), 1)
            return None
        items = [_value(f, itype, keep) for _ in range(count)]
        return items if keep else None
    raise GGUFError(f"unknown GGUF value type {vtype}")


def read_metadata(f: IO[bytes], keys: Iterable[str] | None = None) -> dict[str, Any]:
    """Read metadata key/values from an open GGUF file (all, or only ``keys``).

    Stops as soon as every requested key was found, so reading ``general.*`` keys is cheap.
    """
    wanted = set(keys) if keys is not None else None
    if _read(f, 4) != MAGIC:
        raise GGUFError("not a GGUF file (bad magic)")
    version = _unpack(f, "I")
    if version not in (1, 2, 3):
        raise GGUFError(f"unsupported GGUF version {version}")
    count = "I" if version == 1 else "Q"  # v1 used 32-bit counts
    _unpack(f, count)  # tensor count: not needed
    n_kv = _unpack(f, count)
    out: dict[str, Any] = {}
    for _ in range(n_kv):
        key = _string(f)
        vtype = _unpack(f, "I")
        keep = wanted is None or key in wanted
        value = _value(f, vtype, keep)
        if keep:
            out[key] = value
        if wanted is not None and wanted <= out.keys():
            break
    return out


def read_file_metadata(path: str | Path, keys: Iterable[str] | None = None) -> dict[str, Any]:
    """:func:`read_metadata` on a file path."""
    with open(path, "rb") as f:
        return read_metadata(f, keys)
