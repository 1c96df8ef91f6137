"""Gold solutions: one defined quantity per step, in topological order.

A step reads ``Define the number of Lions in each Savanna Enclosure as p; so p = r + 3 =
5 + 3 = 8.``: the quantity, its variable, the symbolic expression, the numbers, the value.

Example:
    >>> import random
    >>> from mistakelab.tasks.igsm.graph import GenConfig, generate
    >>> spec = generate(random.Random("0-1"), GenConfig())
    >>> text = gold_text(spec)
    >>> text.splitlines()[-1] == f"The answer is \\\\boxed{{{spec.by_key()[spec.question].value}}}."
    True
"""

from __future__ import annotations

from mistakelab.core.types import ReferenceStep
from mistakelab.tasks.igsm.model import Spec, expression, propagate


def step_text(spec: Spec, key: str, values: dict[str, int], shown: list[int] | None = None,
              result: int | None = None, var_of: dict[str, str] | None = None) -> str:
    """The sentence that defines ``key``.

    ``values`` holds the dependency values to print; ``shown`` overrides the printed operands
    and ``result`` the printed value (the error injector uses both); ``var_of`` overrides the
    variables the expression names (for a wrong dependency).
    """
    q = spec.by_key()[key]
    names = var_of or spec.variables
    var = spec.variables[key]
    value = values[key] if result is None else result
    head = f"Define the {q.key} as {var}; so {var} = "
    if q.op == "const":
        return f"{head}{value}."
    sym = expression(q.op, q.const, [names[d] for d in q.deps])
    nums = expression(q.op, q.const, [str(v) for v in (shown or [values[d] for d in q.deps])])
    if sym == names[q.deps[0]]:  # a one-term total: "p = q = 3"
        return f"{head}{sym} = {value}."
    return f"{head}{sym} = {nums} = {value}."


def answer_line(value: int) -> str:
    return f"The answer is \\boxed{{{value}}}."


def gold_lines(spec: Spec) -> list[str]:
    """The gold steps as sentences, without the final answer line."""
    values = propagate(spec, {})
    return [step_text(spec, k, values) for k in spec.necessary]


def gold_text(spec: Spec) -> str:
    """The full gold solution, one step per line, ending with the boxed answer."""
    values = propagate(spec, {})
    return "\n".join(gold_lines(spec) + [answer_line(values[spec.question])])


def reference_steps(spec: Spec) -> list[ReferenceStep]:
    """``Problem.steps``: text, quantity key, symbolic expression, value and dependencies."""
    qs = spec.by_key()
    values = propagate(spec, {})
    return [
        ReferenceStep(text=step_text(spec, k, values), quantity=k,
                      expression=expression(qs[k].op, qs[k].const, [spec.variables[d] for d in qs[k].deps]),
                      value=values[k], depends_on=list(qs[k].deps))
        for k in spec.necessary
    ]
