"""Choosing the strategy through the model name.

Grammar of a request's ``model`` (``served`` is a model the proxy serves)::

    model      := selection "/" served      self_consistency-k8/qwen2.5-coder-0.5b
                | name "-" served           self_consistency-qwen2.5-coder-0.5b (optillm's habit)
                | served                    the server's default strategy
    selection  := name ("-" key value)*     self_consistency-k8-temperature0.5
                | name ":" key=value,...    self_consistency:k=8,temperature=0.5 (the CLI's grammar)

``name`` is a registered strategy or ``none`` (send the request unchanged). In ``-key value``
segments the key is the leading letters and underscores and the value the rest (``k8``:
k=8); ``-key=value`` works too. A string value that holds ``-`` or ``/`` (a role model's
name) needs the ``:`` form or ``extra_body``. When the model is not one the proxy knows, a
``selection/rest`` whose selection names a strategy still splits there, so an upstream's own
``org/model`` names pass unchanged.

Example:
    >>> split_model("self_consistency-k8/qwen2.5-coder-0.5b", ["qwen2.5-coder-0.5b"], {"self_consistency"})
    ('self_consistency-k8', 'qwen2.5-coder-0.5b')
    >>> split_model("Qwen/Qwen2.5-7B", [], {"cot"})
    (None, 'Qwen/Qwen2.5-7B')
    >>> parse_selection("self_consistency-k8-temperature0.5")
    {'name': 'self_consistency', 'k': 8, 'temperature': 0.5}
"""

from __future__ import annotations

import re
from typing import Any, Collection, Iterable

from mistakelab.core.specs import parse_named, parse_value

_SEGMENT = re.compile(r"([A-Za-z_]+)(.+)")


def selection_name(selection: str) -> str:
    """The strategy name a selection starts with.

    Example:
        >>> selection_name("self_consistency-k8"), selection_name("cot:temperature=0")
        ('self_consistency', 'cot')
    """
    return selection.split(":", 1)[0].split("-", 1)[0].strip()


def split_model(model: str, served: Iterable[str], strategies: Collection[str]) -> tuple[str | None, str]:
    """``(selection or None, served model name)`` of a request's model string."""
    known = sorted(served, key=len, reverse=True)
    if model in known:
        return None, model
    for m in known:
        if model.endswith("/" + m):
            return model[: -len(m) - 1], m
        if model.endswith("-" + m) and model[: -len(m) - 1] in strategies:
            return model[: -len(m) - 1], m
    head, slash, tail = model.partition("/")
    if slash and selection_name(head) in strategies:
        return head, tail
    for name in sorted(strategies, key=len, reverse=True):
        if model.startswith(name + "-") and len(model) > len(name) + 1:
            return name, model[len(name) + 1:]
    return None, model


def parse_selection(selection: str) -> dict[str, Any]:
    """A selection as a strategy spec: ``{"name": ..., param: value, ...}``; ValueError if
    a segment is not ``key value`` (see the module docstring)."""
    if ":" in selection:
        return parse_named(selection)
    name, *segments = selection.split("-")
    out: dict[str, Any] = {"name": name.strip()}
    for seg in segments:
        key, eq, value = seg.partition("=")
        if not eq:
            m = _SEGMENT.fullmatch(seg)
            if m is None:
                raise ValueError(f"model prefix {selection!r}: expected -<parameter><value> (e.g. -k8), got -{seg}")
            key, value = m.groups()
        out[key] = parse_value(value)
    return out


def served_names(models: Iterable[str], strategies: Iterable[str]) -> list[str]:
    """The model names ``/v1/models`` lists: each model alone (the default strategy), then
    ``strategy/model`` for every servable strategy.

    Example:
        >>> served_names(["m"], ["cot", "none"])
        ['m', 'cot/m', 'none/m']
    """
    models, names = list(models), list(strategies)
    return [*models, *(f"{s}/{m}" for m in models for s in names)]
