"""Generate the structure and dependency graph of one iGSM problem.

Steps of one attempt (all randomness from the caller's ``random.Random``):

1. pick a world, 2-4 consecutive layers and a few items per layer; connect each layer to the
   next (every item gets a parent and every parent a child);
2. one instance quantity per edge, defined in a random order as a constant or from quantities
   defined before it (instance ones, or abstract ones whose whole subtree is already defined,
   which keeps the graph acyclic);
3. ask about the quantity whose necessary solution has the op count closest to a target drawn
   from the configured range;
4. drop unneeded statements (never one that a kept statement relies on) until exactly the
   requested number of distractors is left, and recompute the aggregates over what is stated.

Attempts that miss a constraint are redrawn.

Example:
    >>> import random
    >>> spec = generate(random.Random("7-0"), GenConfig(min_ops=4, max_ops=6, distractors=(3, 3)))
    >>> 4 <= spec.ops <= 6, len(spec.distractors)
    (True, 3)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mistakelab.tasks.igsm.model import (
    Category,
    Item,
    Quantity,
    Spec,
    abstract_key,
    evaluate,
    instance_key,
    op_count,
    propagate,
)
from mistakelab.tasks.igsm.vocab import WORLDS, plural

MAX_ATTEMPTS = 500
P_CONST = 0.3  # share of instance quantities that are plain constants
# Relation types and their weights; "prod" is rare because it makes numbers grow fast.
_OPS = (("more", 3), ("fewer", 1), ("times", 2), ("sum", 3), ("diff", 1), ("prod", 1))
_VAR_LETTERS = "bcdefghjkmnpqrstuvwyz"  # no a/i (English words), l/o (look like 1/0), x (times)


@dataclass(frozen=True)
class GenConfig:
    """Generator settings; ranges are inclusive ``(lo, hi)``."""

    min_ops: int = 2
    max_ops: int = 12
    distractors: tuple[int, int] = (2, 5)
    modulo: int | None = None
    layers: tuple[int, int] = (2, 4)
    max_value: int = 999  # plain mode: every stated or needed value is in 1..max_value


def generate(rng: random.Random, cfg: GenConfig) -> Spec:
    """A problem spec meeting ``cfg``; raises RuntimeError if none is found."""
    for _ in range(MAX_ATTEMPTS):
        spec = _Attempt(rng, cfg).run()
        if spec is not None:
            return spec
    raise RuntimeError(f"no iGSM problem met {cfg} in {MAX_ATTEMPTS} attempts")


def build_abstracts(items: list[Item], edges: list[tuple[str, str]], categories: list[Category],
                    n_layers: int) -> list[Quantity]:
    """Abstract quantities over a structure, children before parents (values left at 0)."""
    plural_of = {it.name: it.plural for it in items}
    children: dict[str, list[str]] = {it.name: [] for it in items}
    for parent, child in edges:
        children[parent].append(child)
    out: dict[tuple[str, int], Quantity] = {}
    # Bottom-up so a child's aggregate exists before its parent's refers to it.
    for it in sorted(items, key=lambda i: -i.layer):
        for j in range(it.layer + 1, n_layers):
            cat = categories[j]
            if j == it.layer + 1:
                deps = [instance_key(it.name, plural_of[c]) for c in children[it.name]]
                op = "agg_sum"
            else:
                deps = []
                for c in children[it.name]:
                    if (c, j) in out:
                        deps += [instance_key(it.name, plural_of[c]), out[(c, j)].key]
                op = "agg_prod"
            if deps:
                out[(it.name, j)] = Quantity(key=abstract_key(it.name, cat.plural), kind="abstract",
                                             container=it.name, content=cat.name, layer=j, op=op, deps=deps)
    return list(out.values())


class _Attempt:
    def __init__(self, rng: random.Random, cfg: GenConfig) -> None:
        self.rng, self.cfg = rng, cfg
        self.mod = cfg.modulo

    # -- structure ---------------------------------------------------------------------------
    def _structure(self) -> None:
        rng = self.rng
        world = rng.choice(WORLDS)
        self.n_layers = n = rng.randint(*self.cfg.layers)
        start = rng.randint(0, len(world.layers) - n)
        layers = world.layers[start:start + n]
        self.world = world.name
        self.categories = [Category(name=lay.category, plural=plural(lay.category)) for lay in layers]
        # Enough edges for the target op count plus the distractors (about 1.3 edges per item
        # and layer gap), so hard targets are reachable without huge easy problems.
        want_edges = 0.6 * self.target + self.n_distr + 2
        m = max(2, min(7, round(want_edges / (1.3 * (n - 1)))))
        self.items: list[Item] = []
        by_layer: list[list[str]] = []
        for k, lay in enumerate(layers):
            names = rng.sample(lay.items, rng.randint(max(2, m - 1), m + 1))
            by_layer.append(names)
            self.items += [Item(name=s, plural=plural(s), layer=k) for s in names]
        self.edges: list[tuple[str, str]] = []
        for k in range(n - 1):
            parents, kids = by_layer[k], by_layer[k + 1]
            pairs = {(rng.choice(parents), c) for c in kids}
            pairs |= {(p, c) for p in parents for c in kids if rng.random() < 0.3}
            for p in parents:
                if not any(pp == p for pp, _ in pairs):
                    pairs.add((p, rng.choice(kids)))
            self.edges += sorted(pairs, key=lambda e: (parents.index(e[0]), kids.index(e[1])))

    # -- dependencies ------------------------------------------------------------------------
    def _dependencies(self) -> None:
        rng, cfg = self.rng, self.cfg
        plural_of = {it.name: it.plural for it in self.items}
        self.q: dict[str, Quantity] = {}
        self.inst_keys = []
        for p, c in self.edges:
            key = instance_key(p, plural_of[c])
            self.inst_keys.append(key)
            self.q[key] = Quantity(key=key, kind="instance", container=p, content=c,
                                   layer=self._layer(c))
        abstracts = build_abstracts(self.items, self.edges, self.categories, self.n_layers)
        for a in abstracts:
            self.q[a.key] = a
        self.subtree = {a.key: self._inst_closure(a.key) for a in abstracts}
        pending = sorted((a.key for a in abstracts), key=lambda k: len(self.subtree[k]))
        defined: list[str] = []
        done: set[str] = set()
        usable_abstracts: list[str] = []
        for key in rng.sample(self.inst_keys, len(self.inst_keys)):
            self._define(self.q[key], defined + usable_abstracts)
            defined.append(key)
            done.add(key)
            for a in [a for a in pending if self.subtree[a] <= done]:
                pending.remove(a)
                qa = self.q[a]
                qa.value = evaluate(qa.op, None, [self.q[d].value for d in qa.deps], self.mod)
                if self.mod or qa.value <= cfg.max_value:
                    usable_abstracts.append(a)

    def _define(self, q: Quantity, pool: list[str]) -> None:
        rng, mod, top = self.rng, self.mod, self.cfg.max_value
        q.op, q.deps = "const", []
        q.const = rng.randint(0, mod - 1) if mod else rng.randint(1, 10)
        q.value = q.const
        if not pool or rng.random() < P_CONST:
            return
        for _ in range(4):
            op = rng.choices([o for o, _ in _OPS], weights=[w for _, w in _OPS])[0]
            const = None
            if op in ("more", "fewer", "times"):
                deps = self._pick(pool, 1)
                const = rng.randint(2, 4 if not mod else 9) if op == "times" else rng.randint(1, 10)
            elif op == "sum":
                deps = self._pick(pool, min(len(pool), rng.choice((2, 2, 3))))
            else:
                if len(pool) < 2:
                    continue
                deps = self._pick(pool, 2)
            xs = [self.q[d].value for d in deps]
            if op == "diff" and not mod:
                if xs[0] == xs[1]:
                    continue
                if xs[0] < xs[1]:  # plain mode never goes negative: bigger operand first
                    deps.reverse()
                    xs.reverse()
            value = evaluate(op, const, xs, mod)
            if not mod and not 1 <= value <= top:
                continue
            q.op, q.const, q.deps, q.value = op, const, deps, value
            return

    def _pick(self, pool: list[str], k: int) -> list[str]:
        """``k`` distinct dependencies; half the time favouring costly ones, to grow long chains."""
        if self.rng.random() < 0.5:
            return self.rng.sample(pool, k)
        out: list[str] = []
        rest = list(pool)
        for _ in range(k):
            got = self.rng.choices(rest, weights=[1 + self._cost(d) for d in rest])[0]
            out.append(got)
            rest.remove(got)
        return out

    def _cost(self, key: str) -> int:
        return sum(op_count(self.q[k].op, len(self.q[k].deps)) for k in self._closure(key))

    # -- helpers -----------------------------------------------------------------------------
    def _layer(self, name: str) -> int:
        return next(it.layer for it in self.items if it.name == name)

    def _closure(self, key: str) -> set[str]:
        seen: set[str] = set()
        stack = [key]
        while stack:
            k = stack.pop()
            if k not in seen:
                seen.add(k)
                stack += self.q[k].deps
        return seen

    def _inst_closure(self, key: str) -> set[str]:
        return {k for k in self._closure(key) if self.q[k].kind == "instance"}

    def _topological(self, key: str) -> list[str]:
        order: list[str] = []
        seen: set[str] = set()

        def visit(k: str) -> None:
            if k not in seen:
                seen.add(k)
                for d in self.q[k].deps:
                    visit(d)
                order.append(k)

        visit(key)
        return order

    # -- question, distractors, final spec -----------------------------------------------------
    def _pick_question(self) -> str | None:
        best: list[tuple[int, str]] = []
        for key, q in self.q.items():
            if q.op == "const" or (not self.mod and not 1 <= q.value <= self.cfg.max_value):
                continue
            ops = self._cost(key)
            if self.cfg.min_ops <= ops <= self.cfg.max_ops:
                best.append((abs(ops - self.target), key))
        if not best:
            return None
        gap = min(d for d, _ in best)
        return self.rng.choice([k for d, k in best if d == gap])

    def _prune(self, need: set[str]) -> set[str] | None:
        stated = set(self.inst_keys)
        spare = [k for k in self.inst_keys if k not in need]
        if len(spare) < self.n_distr:
            return None
        while len(spare) > self.n_distr:
            pinned: set[str] = set()
            for r in stated:
                for d in self.q[r].deps:
                    pinned |= self.subtree[d] if self.q[d].kind == "abstract" else {d}
            free = [k for k in spare if k not in pinned]
            if not free:
                return None
            k = self.rng.choice(free)
            stated.discard(k)
            spare.remove(k)
        return stated

    def run(self) -> Spec | None:
        rng, cfg = self.rng, self.cfg
        self.target = rng.randint(cfg.min_ops, cfg.max_ops)
        self.n_distr = rng.randint(*cfg.distractors)
        self._structure()
        self._dependencies()
        question = self._pick_question()
        if question is None:
            return None
        necessary = self._topological(question)
        need = set(necessary)
        stated = self._prune(need)
        if stated is None:
            return None
        edges = [(p, c) for p, c in self.edges if instance_key(p, plural(c)) in stated]
        present = {n for e in edges for n in e}
        items = [it for it in self.items if it.name in present]
        quantities = [self.q[k] for k in self.inst_keys if k in stated]
        by_key = {q.key: q for q in quantities}
        for a in build_abstracts(items, edges, self.categories, self.n_layers):
            a.value = evaluate(a.op, None, [by_key[d].value for d in a.deps], self.mod)
            if a.key in need:  # its whole subtree is stated, so pruning cannot change it
                assert a.deps == self.q[a.key].deps and a.value == self.q[a.key].value
            by_key[a.key] = a
            quantities.append(a)
        order = [k for k in self.inst_keys if k in stated]
        rng.shuffle(order)
        letters = list(_VAR_LETTERS)
        rng.shuffle(letters)
        names = letters + [f"{c}{i}" for i in range(1, 9) for c in letters]
        spec = Spec(world=self.world, modulo=self.mod, categories=self.categories, items=items,
                    quantities=quantities, stated=order, question=question, necessary=necessary,
                    variables={k: names[i] for i, k in enumerate(necessary)})
        return spec if _injectable(spec) else None


def _injectable(spec: Spec) -> bool:
    """Whether changing any one necessary value can change the answer.

    Rejects problems where a difference cancels a quantity out, so an injected error always
    shows in the final answer.
    """
    base = propagate(spec, {})
    final = base[spec.question]
    for key in spec.necessary:
        for d in (1, 2, 3, -1, -2):
            w = base[key] + d
            if spec.modulo:
                w %= spec.modulo
            elif w < 0:
                continue
            if propagate(spec, {key: w})[spec.question] != final:
                break
        else:
            return False
    return True
