"""The data behind one iGSM problem and the arithmetic of its quantities.

A :class:`Spec` is stored in ``Problem.metadata["igsm"]`` so the step verifier and the error
injector need nothing but the problem (it survives a JSON round trip through the run store).

Quantities are *instance* parameters ("the number of Lions in each Savanna Enclosure", one per
edge of the hierarchy) or *abstract* ones ("the total number of Animals in each Riverside Zoo",
an aggregate over lower layers).

Example:
    >>> evaluate("more", 3, [5]), evaluate("agg_prod", None, [3, 8, 2, 5]), evaluate("diff", None, [2, 5], 23)
    (8, 34, 20)
    >>> expression("agg_prod", None, ["q", "r", "s", "t"]), op_count("agg_prod", 4)
    ('q * r + s * t', 3)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

#: Operations of a quantity's definition. ``agg_sum``/``agg_prod`` define abstract quantities:
#: a sum of child counts, or a sum of (child count) * (child's aggregate).
Op = Literal["const", "more", "fewer", "times", "sum", "diff", "prod", "agg_sum", "agg_prod"]


class Item(BaseModel):
    """A named item of one layer (0 = top of the problem's hierarchy)."""

    name: str
    plural: str
    layer: int


class Category(BaseModel):
    """The category of one layer, e.g. ``Animal``/``Animals``."""

    name: str
    plural: str


class Quantity(BaseModel):
    """One parameter of the problem.

    ``container`` is an item name; ``content`` is an item name (instance) or a category name
    (abstract); ``layer`` is the layer of the content. ``deps`` are keys of other quantities in
    the order the expression uses them.
    """

    key: str
    kind: Literal["instance", "abstract"]
    container: str
    content: str
    layer: int
    op: Op = "const"
    const: int | None = None
    deps: list[str] = Field(default_factory=list)
    value: int = 0


class Spec(BaseModel):
    """Everything a checker needs about one generated problem."""

    world: str
    modulo: int | None = None
    categories: list[Category]
    items: list[Item]
    quantities: list[Quantity]  # stated instance quantities + abstracts over the stated graph
    stated: list[str]  # keys of the instance quantities the question states, in text order
    question: str  # key of the asked quantity
    necessary: list[str]  # keys the answer needs, in topological order (the gold steps)
    variables: dict[str, str]  # key -> variable name in the gold solution

    def by_key(self) -> dict[str, Quantity]:
        return {q.key: q for q in self.quantities}

    @property
    def distractors(self) -> list[str]:
        """Stated quantities the answer does not need."""
        need = set(self.necessary)
        return [k for k in self.stated if k not in need]

    @property
    def ops(self) -> int:
        """Arithmetic operations in the necessary solution (the difficulty)."""
        qs = self.by_key()
        return sum(op_count(qs[k].op, len(qs[k].deps)) for k in self.necessary)


def instance_key(container: str, content_plural: str) -> str:
    return f"number of {content_plural} in each {container}"


def abstract_key(container: str, category_plural: str) -> str:
    return f"total number of {category_plural} in each {container}"


def evaluate(op: str, const: int | None, xs: list[int], modulo: int | None = None) -> int:
    """Value of a definition given its dependency values (reduced mod ``modulo`` if set)."""
    if op == "const":
        v = int(const or 0)
    elif op == "more":
        v = xs[0] + int(const or 0)
    elif op == "fewer":
        v = xs[0] - int(const or 0)
    elif op == "times":
        v = int(const or 0) * xs[0]
    elif op in ("sum", "agg_sum"):
        v = sum(xs)
    elif op == "diff":
        v = xs[0] - xs[1]
    elif op == "prod":
        v = xs[0] * xs[1]
    elif op == "agg_prod":
        v = sum(xs[i] * xs[i + 1] for i in range(0, len(xs), 2))
    else:
        raise ValueError(f"unknown op {op!r}")
    return v % modulo if modulo else v


def op_count(op: str, n_deps: int) -> int:
    """Binary arithmetic operations a definition takes."""
    if op == "const":
        return 0
    if op in ("sum", "agg_sum"):
        return max(n_deps - 1, 0)
    if op == "agg_prod":
        pairs = n_deps // 2
        return pairs + pairs - 1
    return 1


def expression(op: str, const: int | None, xs: list[str]) -> str:
    """The right-hand side of a definition with ``xs`` (variables or numbers) as operands."""
    if op == "const":
        return str(const)
    if op == "more":
        return f"{xs[0]} + {const}"
    if op == "fewer":
        return f"{xs[0]} - {const}"
    if op == "times":
        return f"{const} * {xs[0]}"
    if op in ("sum", "agg_sum"):
        return " + ".join(xs)
    if op == "diff":
        return f"{xs[0]} - {xs[1]}"
    if op == "prod":
        return f"{xs[0]} * {xs[1]}"
    if op == "agg_prod":
        return " + ".join(f"{xs[i]} * {xs[i + 1]}" for i in range(0, len(xs), 2))
    raise ValueError(f"unknown op {op!r}")


def propagate(spec: Spec, overrides: dict[str, int]) -> dict[str, int]:
    """Values of the necessary quantities when some are forced to other values.

    Later quantities are recomputed from the forced ones, as a solver that made those slips
    but otherwise computed correctly would.
    """
    qs = spec.by_key()
    vals: dict[str, int] = {}
    for key in spec.necessary:
        q = qs[key]
        if key in overrides:
            vals[key] = overrides[key]
        else:
            vals[key] = evaluate(q.op, q.const, [vals[d] for d in q.deps], spec.modulo)
    return vals
