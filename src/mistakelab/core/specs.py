"""Named specs in one string: ``self_consistency:k=4``, ``critic:model=x,n=5``.

The CLI's ``--strategy``/``--task``/``--locator`` shorthands, and specs in configs.
"""

from __future__ import annotations

import json
from typing import Any


def parse_value(raw: str) -> Any:
    """``4`` -> 4, ``0.7`` -> 0.7, ``true`` -> True, anything else stays a string."""
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_named(spec: str) -> dict[str, Any]:
    """``name:key=value,key=value`` -> ``{"name": name, key: value, ...}``.

    Example:
        >>> parse_named("self_consistency:k=4,temperature=0.7")
        {'name': 'self_consistency', 'k': 4, 'temperature': 0.7}
    """
    name, _, rest = spec.partition(":")
    out: dict[str, Any] = {"name": name.strip()}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            raise ValueError(f"expected key=value in {spec!r}, got {part!r}")
        out[key.strip()] = parse_value(value.strip())
    return out
