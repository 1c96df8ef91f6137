"""Recipes: the training data one improvement round builds from its own graded solutions.

A recipe (METHODS §3.2, §3.4) is registered by name with :func:`recipe`, in a module of its
own, with the same decorator style as everything else (:mod:`mistakelab.core.registry`). It
reads a :class:`RecipeInput` (the round's solved train run and, for recipes that ask for one,
a second run that re-solved the failed problems with a hint) and yields :class:`Row` s and
:class:`Skip` s, like the export formats it reuses. Every row of one recipe has the same
columns, and a recipe says which trainer reads them (``sft``: TRL prompt-completion,
conversational; ``dpo``: preference; ``gkd``: conversational ``messages``), so recipes that
share a trainer can be mixed in one dataset (:func:`mix`).

Labels come from the runner's grading against the gold answers, so every recipe's data is
oracle-labelled; a recipe marked ``oracle_built`` also *showed* the gold answer to the model
while the data was written (STaR's rationalization), and says so wherever it is reported.

Example:
    >>> import mistakelab.learn.recipes  # registers the built-in recipes
    >>> sorted(recipes.names())
    ['correction', 'gkd', 'preference', 'prefix_fix', 'rationalize', 'retry', 'rft']
    >>> r = recipes.get("preference")
    >>> r.trainer, r.columns
    ('dpo', ('prompt', 'chosen', 'rejected'))
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.registry import Registry
from mistakelab.learn.formats import Row, Skip, parse_options
from mistakelab.learn.source import RunSource

Trainer = Literal["sft", "dpo", "gkd"]
SFT_COLUMNS = ("prompt", "completion")
COLUMNS: dict[str, tuple[str, ...]] = {"sft": SFT_COLUMNS, "dpo": ("prompt", "chosen", "rejected"),
                                       "gkd": ("messages",)}


@dataclass(frozen=True)
class RecipeInput:
    """What a recipe reads: the round's train run, and the hinted re-solve where asked."""

    train: RunSource
    hinted: RunSource | None = None


Build = Callable[[RecipeInput, Any], Iterator["Row | Skip"]]


@dataclass(frozen=True)
class Recipe:
    name: str
    build: Build
    params: type[BaseModel]
    trainer: Trainer
    method: str = ""
    #: the gold answer was shown to the model while the data was written
    oracle_built: bool = False
    #: a strategy (spec mapping) that re-solves the train problems no solution got right
    hint_strategy: dict[str, Any] | None = None
    doc: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        return COLUMNS[self.trainer]

    def parse(self, options: dict[str, Any]) -> BaseModel:
        """Validated parameters; errors name the recipe and the field."""
        return parse_options(self.params, options, f"recipe {self.name!r}")


recipes: Registry[Recipe] = Registry("recipe")


def recipe(name: str, params: type[BaseModel], *, trainer: Trainer, method: str = "", oracle_built: bool = False,
           hint_strategy: dict[str, Any] | None = None) -> Callable[[Build], Build]:
    """Register ``build(input, params)`` as recipe ``name``."""
    def deco(fn: Build) -> Build:
        recipes.register(name, Recipe(name, fn, params, trainer, method, oracle_built, hint_strategy,
                                      (fn.__doc__ or "").strip()))
        return fn

    return deco


class RecipeSpec(BaseModel):
    """A recipe named in a loop config, its weight in the mix and its options.

    Example:
        >>> RecipeSpec.parse_text("correction:per_problem=1,weight=0.5")
        RecipeSpec(name='correction', weight=0.5, options={'per_problem': 1})
    """

    model_config = ConfigDict(extra="forbid")
    name: str
    weight: float = Field(default=1.0, gt=0)
    options: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def parse_text(cls, text: str) -> "RecipeSpec":
        """``name:key=value,...``; ``weight`` is the spec's own, the rest are options."""
        from mistakelab.core.specs import parse_named

        d = parse_named(text)
        name, weight = d.pop("name"), d.pop("weight", 1.0)
        return cls(name=name, weight=weight, options=d)

    def resolve(self) -> tuple[Recipe, BaseModel]:
        r = recipes.get(self.name)
        return r, r.parse(self.options)


@dataclass
class RecipeCount:
    """What one recipe gave in one round."""

    recipe: str
    built: int = 0  # rows the recipe made
    kept: int = 0  # rows in the dataset after the weight
    skipped: Counter[str] = field(default_factory=Counter)
    oracle_built: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"recipe": self.recipe, "built": self.built, "kept": self.kept, "skipped": dict(self.skipped),
                "oracle_built": self.oracle_built}


def run_recipe(spec: RecipeSpec, inp: RecipeInput) -> tuple[list[Row], RecipeCount]:
    """Every row ``spec``'s recipe builds from ``inp``, and the counts by skip reason.

    A row with other columns than the recipe's trainer reads is a bug and raises."""
    r, params = spec.resolve()
    rows: list[Row] = []
    count = RecipeCount(r.name, oracle_built=r.oracle_built)
    for item in r.build(inp, params):
        if isinstance(item, Skip):
            count.skipped[item.reason] += 1
            continue
        if tuple(item.data) != r.columns:
            raise AssertionError(f"recipe {r.name!r} made a row with columns {tuple(item.data)}, not {r.columns}")
        rows.append(Row(item.data, {**item.meta, "recipe": r.name}))
    count.built = len(rows)
    return rows, count


def weighted(rows: list[Row], weight: float, seed: int) -> list[Row]:
    """``rows`` repeated ``int(weight)`` times plus a seeded share ``weight % 1`` of them.

    Example:
        >>> rs = [Row({"i": i}) for i in range(4)]
        >>> len(weighted(rs, 1.0, 0)), len(weighted(rs, 2.0, 0)), len(weighted(rs, 0.5, 0))
        (4, 8, 2)
    """
    whole, part = int(weight), weight - int(weight)
    out = [r for _ in range(whole) for r in rows]
    if part > 0:
        picked = sorted(random.Random(f"weight-{seed}").sample(range(len(rows)), round(part * len(rows))))
        out += [rows[i] for i in picked]
    return out


def trainer_of(specs: Sequence[RecipeSpec]) -> Trainer:
    """The one trainer that reads every recipe of a mix (a ValueError names the clash)."""
    kinds = {s.name: recipes.get(s.name).trainer for s in specs}
    if not kinds:
        raise ValueError("give at least one recipe")
    if len(set(kinds.values())) > 1:
        shown = ", ".join(f"{n} ({k})" for n, k in kinds.items())
        raise ValueError(f"recipes in one mix must share a trainer; these do not: {shown}")
    return next(iter(kinds.values()))


def mix(specs: Sequence[RecipeSpec], inp: RecipeInput, seed: int = 0) -> tuple[list[Row], list[RecipeCount]]:
    """The rows of every recipe in ``specs``, each weighted, in spec order, and their counts."""
    trainer_of(specs)
    out: list[Row] = []
    counts = []
    for i, spec in enumerate(specs):
        rows, count = run_recipe(spec, inp)
        kept = weighted(rows, spec.weight, seed * 1000 + i)
        count.kept = len(kept)
        out += kept
        counts.append(count)
    return out, counts
