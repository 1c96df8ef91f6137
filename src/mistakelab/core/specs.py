"""Named specs in one string: ``self_consistency:k=4``, ``critic:model=x,n=5``.

The CLI's ``--strategy``/``--task``/``--locator`` shorthands, and specs in configs.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Callable, Literal, Mapping, Sequence, get_args, get_origin


def parse_value(raw: str) -> Any:
    """``4`` -> 4, ``0.7`` -> 0.7, ``true`` -> True, anything else stays a string."""
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def spec_label(spec: Mapping[str, Any]) -> str:
    """The display label of a named spec table (a strategy in a config): its ``label``, else
    its name with its parameters sorted (a model table shows its name or model).

    Example:
        >>> spec_label({"name": "self_consistency", "k": 8, "temperature": 0.7})
        'self_consistency(k=8,temperature=0.7)'
        >>> spec_label({"name": "cot", "label": "baseline"}), spec_label({"name": "cot"})
        ('baseline', 'cot')
    """
    if spec.get("label"):
        return str(spec["label"])
    params = {k: v for k, v in spec.items() if k not in ("name", "label")}
    if not params:
        return str(spec["name"])
    inner = ",".join(f"{k}={_short(v)}" for k, v in sorted(params.items()))
    return f"{spec['name']}({inner})"


def _short(v: Any) -> str:
    if isinstance(v, dict):
        return str(v.get("name") or v.get("model") or v)
    return str(v)


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


class PartSpec:
    """Marks a parameter field whose value names a registered part (a locator, a scorer), so
    facts about a strategy's parameters (does it use the gold answer? which capabilities do
    its models need?) come from the field's type, never from the spelling of its value.

    ``build(value)`` returns the part; the part says ``oracle`` (bool) and, optionally,
    ``needs()`` (role -> capabilities). Used as ``Annotated[str | dict, PartSpec(...)]``
    (see :data:`mistakelab.locate.LocatorSpec`, :data:`mistakelab.scorers.ScorerSpec`).

    Example:
        >>> from typing import Annotated
        >>> from pydantic import BaseModel
        >>> class Part:
        ...     def __init__(self, name): self.oracle = name == "gold"
        >>> Spec = Annotated[str, PartSpec("part", Part)]
        >>> class Params(BaseModel):
        ...     check: Spec | None = None
        ...     also: list[Spec] = []
        >>> spec_oracle(Params(check="length")), spec_oracle(Params(also=["length", "gold"]))
        (False, True)
    """

    def __init__(self, kind: str, build: Callable[[Any], Any]) -> None:
        self.kind, self.build = kind, build

    def __repr__(self) -> str:
        return f"PartSpec({self.kind!r})"


def spec_parts(params: Any) -> list[Any]:
    """The parts (built) that the typed spec fields of a parameter model name, in field order.
    A value that matches a ``Literal`` arm of its field (``locator="feedback"``) is no part."""
    out: list[Any] = []
    for name, info in type(params).model_fields.items():
        marks, literals = _marks(info.annotation, info.metadata)
        if not marks:
            continue
        value = getattr(params, name)
        for v in (value if isinstance(value, (list, tuple)) else [value]):
            if v is None or (isinstance(v, str) and v in literals):
                continue
            out.append(marks[0].build(v))
    return out


def spec_oracle(params: Any) -> bool:
    """Whether any part named by a typed spec field uses the gold answer (see :class:`PartSpec`)."""
    return any(bool(getattr(p, "oracle", False)) for p in spec_parts(params))


def spec_needs(params: Any) -> dict[str, frozenset[str]]:
    """Role -> capabilities that the parts named by typed spec fields need, merged."""
    out: dict[str, frozenset[str]] = {}
    for p in spec_parts(params):
        needs = p.needs() if callable(getattr(p, "needs", None)) else {}
        for role, caps in needs.items():
            out[role] = out.get(role, frozenset()) | frozenset(caps)
    return out


def _marks(annotation: Any, metadata: Sequence[Any] = ()) -> tuple[list[PartSpec], set[Any]]:
    """PartSpec marks anywhere in a field's type (inside Optional, unions, lists), and the
    values of its Literal arms."""
    marks = [m for m in metadata if isinstance(m, PartSpec)]
    literals: set[Any] = set()
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        marks += [m for m in extra if isinstance(m, PartSpec)]
        more, lits = _marks(base)
        return marks + more, literals | lits
    if origin is Literal:
        return marks, set(get_args(annotation))
    for arg in get_args(annotation):
        more, lits = _marks(arg)
        marks += more
        literals |= lits
    return marks, literals
