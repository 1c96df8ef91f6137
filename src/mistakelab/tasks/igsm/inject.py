"""Inject one error into a gold iGSM solution, carried consistently through later steps.

``wrong_value`` (default): the chosen step states a wrong value, either as an arithmetic slip
(``5 + 3 = 9``) or a miscopied operand (``6 + 3 = 9``); a miscopied constant for constant
steps. ``wrong_dependency``: the step's expression uses an earlier quantity in place of one
of its real dependencies. Every later step is recomputed from the wrong value, so the chosen
step is the earliest error, and the final answer changes.

Example:
    >>> import random
    >>> from mistakelab.tasks.igsm.graph import GenConfig, generate
    >>> from mistakelab.tasks.igsm.solve import gold_text
    >>> spec = generate(random.Random("0-2"), GenConfig())
    >>> bad = inject(spec, "igsm-0-2", 1)
    >>> bad.first_error, bad.kind, bad.text.splitlines()[0] == gold_text(spec).splitlines()[0]
    (1, 'wrong_value', True)
"""

from __future__ import annotations

import random

from mistakelab.steps.types import InjectedSolution
from mistakelab.tasks.igsm.align import split_solution
from mistakelab.tasks.igsm.model import Spec, evaluate, propagate
from mistakelab.tasks.igsm.solve import answer_line, step_text

KINDS = ("wrong_value", "wrong_dependency")


def inject(spec: Spec, problem_id: str, step: int, seed: int = 0, kind: str | None = None) -> InjectedSolution:
    """The gold solution with an error at gold step ``step`` (also its ``first_error``)."""
    kind = kind or "wrong_value"
    if kind not in KINDS:
        raise ValueError(f"unknown error kind {kind!r}; known: {', '.join(KINDS)}")
    if not 0 <= step < len(spec.necessary):
        raise IndexError(f"step {step} out of range (0..{len(spec.necessary) - 1})")
    rng = random.Random(f"{problem_id}-{step}-{seed}-{kind}")
    key = spec.necessary[step]
    if kind == "wrong_value":
        line, vals, what = _wrong_value(spec, key, rng)
    else:
        line, vals, what = _wrong_dependency(spec, key, step, rng)
    lines = [line if i == step else step_text(spec, k, vals) for i, k in enumerate(spec.necessary)]
    text = "\n".join(lines + [answer_line(vals[spec.question])])
    return InjectedSolution(problem_id=problem_id, text=text, steps=[s.text for s in split_solution(text)],
                            first_error=step, kind=kind,
                            description=f"step {step}: {what}; later steps carry it, answer {vals[spec.question]}")


def _changes_answer(spec: Spec, key: str, w: int, base_answer: int) -> tuple[dict[str, int], bool] | None:
    vals = propagate(spec, {key: w})
    if vals[spec.question] == base_answer:
        return None
    return vals, spec.modulo is not None or min(vals.values()) >= 0


def _wrong_value(spec: Spec, key: str, rng: random.Random) -> tuple[str, dict[str, int], str]:
    q = spec.by_key()[key]
    base = propagate(spec, {})
    v, p = base[key], spec.modulo
    if p:
        options = [(v + d) % p for d in range(1, p)]
    else:
        options = [v + d for d in (1, 2, 3, 4, 5, -1, -2, -3, -4, -5) if v + d >= 0]
    rng.shuffle(options)
    tried = [(w, _changes_answer(spec, key, w, base[spec.question])) for w in options]
    usable = [(w, r) for w, r in tried if r is not None]
    if not usable:
        raise ValueError(f"no wrong value for {key!r} changes the answer")
    w, (vals, _) = next(((w, r) for w, r in usable if r[1]), usable[0])  # prefer no negatives
    shown = _miscopied_operands(q.op, q.const, [base[d] for d in q.deps], v, w, p, rng)
    if q.op == "const":
        what = f"misreads the constant {v} as {w}"
    elif shown:
        what = f"miscopies an operand, so the {key} becomes {w} instead of {v}"
    else:
        what = f"arithmetic slip: the {key} is given as {w} instead of {v}"
    return step_text(spec, key, vals, shown=shown), vals, what


def _miscopied_operands(op: str, const: int | None, xs: list[int], v: int, w: int, p: int | None,
                        rng: random.Random) -> list[int] | None:
    """Operands that make the printed arithmetic add up to ``w`` (half the time, where additive)."""
    if op not in ("more", "fewer", "sum", "agg_sum", "diff") or rng.random() < 0.5:
        return None
    i = rng.randrange(len(xs))
    delta = w - v
    shown = list(xs)
    shown[i] += -delta if (op == "diff" and i == 1) else delta
    if p:
        shown[i] %= p
    if shown[i] < 0 or evaluate(op, const, shown, p) != w:
        return None
    return shown


def _wrong_dependency(spec: Spec, key: str, step: int, rng: random.Random) -> tuple[str, dict[str, int], str]:
    q = spec.by_key()[key]
    base = propagate(spec, {})
    earlier = [k for k in spec.necessary[:step] if k not in q.deps]
    swaps = [(i, r) for i in range(len(q.deps)) for r in earlier]
    rng.shuffle(swaps)
    options = []
    for i, r in swaps:
        xs = [base[d] for d in q.deps]
        xs[i] = base[r]
        w = evaluate(q.op, q.const, xs, spec.modulo)
        vals = propagate(spec, {key: w})
        changed = vals[spec.question] != base[spec.question]
        options.append((changed, i, r, xs, vals, w))
        if changed:  # prefer a swap that also changes the answer
            break
    if not options:
        raise ValueError(f"step {step} ({key!r}) has no dependency that an earlier quantity could replace")
    best = next((o for o in options if o[0]), options[0])
    _, i, r, xs, vals, w = best
    names = dict(spec.variables)
    names[q.deps[i]] = spec.variables[r]
    line = step_text(spec, key, vals, shown=xs, result=w, var_of=names)
    return line, vals, f"uses the {r} in place of the {q.deps[i]}"
