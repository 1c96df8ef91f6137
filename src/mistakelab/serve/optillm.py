"""optillm's request conventions, in mistakelab's terms.

- **Approach slugs**: optillm's names (``bon``, ``moa``, ``re2``, ``cot_decoding``,
  ``deepconf``, ...) in a model prefix (``moa-gpt-4o``), in ``optillm_approach`` or in the
  prompt tag name the strategy of :data:`APPROACHES`; an approach mistakelab does not offer
  is a 400 that says why (:data:`NOT_OFFERED`). mistakelab's own names work everywhere too.
- **Combinations**: ``a&b`` runs the strategies as a ``pipeline`` (each answer is the next
  stage's draft); ``a|b`` answers with one choice per strategy (:data:`ALTERNATIVES`). Mixing
  ``&`` and ``|`` is a 400.
- **The prompt tag** ``<optillm_approach>re2</optillm_approach>`` in a system or user
  message chooses the approach when neither the model name nor the body does; the tag is
  removed from the message before any model sees it.

Example:
    >>> expand("bon")
    {'name': 'best_of_n'}
    >>> expand("re2&moa-k2")
    {'name': 'pipeline', 'label': 're2&moa-k2', 'stages': [{'name': 're2'}, {'name': 'moa', 'k': 2}]}
    >>> split("re2|bon-gpt-4o", [], {"re2", "best_of_n"})
    ('re2|bon', 'gpt-4o')
    >>> find_tag([{"role": "user", "content": "<optillm_approach>re2</optillm_approach> 2+2?"}])
    're2'
"""

from __future__ import annotations

import re
from typing import Any, Collection, Iterable

from mistakelab.core.types import Message
from mistakelab.serve.naming import parse_selection, selection_name, split_model

#: the spec name of ``a|b`` (one choice per alternative, in ``choices``)
ALTERNATIVES = "|"

#: optillm slug -> mistakelab strategy spec (the same name where mistakelab spells it so)
APPROACHES: dict[str, str] = {
    "re2": "re2",
    "self_consistency": "self_consistency",
    "majority_voting": "self_consistency:k=6",
    "bon": "best_of_n",
    "moa": "moa",
    "mcts": "mcts",
    "rstar": "mcts:verify=mutual",
    "cot_decoding": "cot_decoding",
    "deepconf": "deepconf",
    "thinkdeeper": "wait",
    "coc": "pal",
}

#: optillm slug -> why mistakelab does not offer it
NOT_OFFERED: dict[str, str] = {
    "cot_reflection": "a single prompt format (<thinking>/<reflection>/<output>) with no measured method behind "
                      "it; self_refine and wait are the reflection strategies",
    "plansearch": "a search over plans for code generation; mistakelab's tasks are math and logic "
                  "(plan_solve is the plan-then-solve prompt)",
    "leap": "optillm's leap learns principles from the request's own examples; mistakelab's principles "
            "strategy reads a memory learned from graded runs",
    "rto": "round-trip optimization targets code",
    "z3": "needs a theorem prover; pal runs model-written Python in the sandbox instead",
    "pvg": "prover-verifier game: not implemented",
    "cepo": "a fixed mix of best-of-n, planning and self-reflection; combine strategies with & instead",
    "mars": "a multi-agent system with its own verification loop: not implemented",
    "entropy_decoding": "a sampler inside the decoder (adaptive temperature per token): not implemented",
    "autothink": "needs steering vectors of the served model",
    "genselect": "a generative selection prompt: not implemented (best_of_n with scorer=critic_verdict selects)",
    "deepthink": "a reasoning-model plugin: not implemented",
    "spl": "system prompt learning keeps state between requests; served strategies keep none",
    "longcepo": "long-context document processing, outside mistakelab's tasks",
    "memory": "a context-memory plugin, not a reasoning strategy",
    "privacy": "a PII plugin, not a reasoning strategy",
    "readurls": "fetches URLs: the proxy makes no outside requests",
    "web_search": "searches the web: the proxy makes no outside requests",
    "deep_research": "web research: the proxy makes no outside requests",
    "executecode": "runs code found in the request; pal runs model-written code in the sandbox",
    "json": "structured output: pass the request on with strategy none",
    "mcp": "tool use: pass the request on with strategy none",
    "router": "needs optillm's classifier model",
}

_TAG = re.compile(r"<optillm_approach>\s*(.*?)\s*</optillm_approach>\s*", re.S)


def expand(selection: str) -> dict[str, Any]:
    """A selection (an optillm slug or expression, or a mistakelab selection) as a strategy
    spec; ValueError for an approach not offered or a mix of ``&`` and ``|``."""
    selection = selection.strip()
    if "&" in selection and "|" in selection:
        raise ValueError(f"approach {selection!r} mixes '&' and '|'; use one of them")
    if "&" in selection:
        return {"name": "pipeline", "label": selection, "stages": [expand(p) for p in selection.split("&")]}
    if "|" in selection:
        return {"name": ALTERNATIVES, "choices": [expand(p) for p in selection.split("|")]}
    name = selection_name(selection)
    if name in NOT_OFFERED:
        raise ValueError(f"optillm approach {name!r} is not offered here: {NOT_OFFERED[name]}")
    spec = parse_selection(selection)
    if name in APPROACHES and APPROACHES[name] != name:
        spec = {**parse_selection(APPROACHES[name]), **{k: v for k, v in spec.items() if k != "name"}}
    return spec


def split(model: str, served: Iterable[str], names: Collection[str]) -> tuple[str | None, str]:
    """:func:`~mistakelab.serve.naming.split_model` that also knows optillm's slugs and
    ``a&b`` / ``a|b`` selections (the model follows the last part: ``re2&moa-gpt-4o``)."""
    known = {*names, *APPROACHES, *NOT_OFFERED}
    served = list(served)
    cut = max(model.rfind("&"), model.rfind("|"))
    if cut < 0:
        return split_model(model, served, known)
    selection, rest = split_model(model[cut + 1:], served, known)
    return (None, model) if selection is None else (model[: cut + 1] + selection, rest)


def find_tag(messages: Any) -> str | None:
    """The approach named by an ``<optillm_approach>`` tag in a system or user message of a
    request's raw ``messages`` (the first one found), else None."""
    for m in messages if isinstance(messages, list) else []:
        if isinstance(m, dict) and m.get("role") in ("system", "developer", "user") and isinstance(m.get("content"), str):
            found = _TAG.search(m["content"])
            if found:
                return found.group(1)
    return None


def strip_tag(messages: list[Message]) -> list[Message]:
    """The messages with every ``<optillm_approach>`` tag removed.

    Example:
        >>> strip_tag([Message(role="user", content="<optillm_approach>re2</optillm_approach> 2+2?")])[0].content
        '2+2?'
    """
    return [m.model_copy(update={"content": _TAG.sub("", m.content)}) if _TAG.search(m.content) else m
            for m in messages]
