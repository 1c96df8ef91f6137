"""Export formats: training data from a run, in the dataset types TRL reads (METHODS §3.3).

Each format is registered with :func:`export_format`: its parameters, the TRL dataset type it
produces, its exact columns, and the trainer that reads it. ``build(source, params)`` yields
:class:`Row` s: ``data`` holds exactly the TRL columns, ``meta`` where the row came from
(problem, unit, kind), kept beside the dataset rather than in it so that every trainer takes
the dataset as it is.

Example:
    >>> import mistakelab.learn  # registers the built-in formats
    >>> sorted(export_formats.names())
    ['correction', 'preference', 'prefix_fix', 'retry', 'sft', 'stepwise', 'unpaired']
    >>> fmt = export_formats.get("unpaired")
    >>> fmt.columns(fmt.params()), fmt.trainer
    (('prompt', 'completion', 'label'), 'KTOTrainer')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from pydantic import BaseModel, ValidationError

from mistakelab.core.registry import Registry
from mistakelab.core.types import Message


@dataclass(frozen=True)
class Row:
    data: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Skip:
    """A candidate the format could not use, and why (counted on the dataset card)."""

    reason: str


Build = Callable[[Any, Any], Iterator["Row | Skip"]]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    build: Build
    params: type[BaseModel]
    #: TRL dataset type and form, e.g. "prompt-completion (conversational)"
    trl_type: str | Callable[[Any], str]
    #: exact column names, given the parameters
    column_fn: Callable[[Any], tuple[str, ...]]
    trainer: str
    method: str = ""
    doc: str = ""

    def columns(self, params: Any) -> tuple[str, ...]:
        return self.column_fn(params)

    def type_of(self, params: Any) -> str:
        return self.trl_type(params) if callable(self.trl_type) else self.trl_type

    def parse(self, options: dict[str, Any]) -> BaseModel:
        """Validated parameters; errors name the format and the field."""
        return parse_options(self.params, options, f"export format {self.name!r}")


export_formats: Registry[ExportFormat] = Registry("export format", listed_as="formats")


def parse_options(params: type[BaseModel], options: dict[str, Any], what: str) -> BaseModel:
    """``options`` validated as ``params``; a ValueError names ``what`` and each bad field.

    Example:
        >>> from pydantic import BaseModel
        >>> class P(BaseModel):
        ...     k: int = 1
        >>> parse_options(P, {"k": "x"}, "recipe 'r'")
        Traceback (most recent call last):
        ...
        ValueError: recipe 'r': bad options: k: Input should be a valid integer, unable to parse string as an integer
    """
    try:
        return params.model_validate(options)
    except ValidationError as exc:
        bad = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(options)'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{what}: bad options: {bad}") from None


def export_format(name: str, params: type[BaseModel], *, columns: Sequence[str] | Callable[[Any], Sequence[str]],
                  trl_type: str | Callable[[Any], str], trainer: str,
                  method: str = "") -> Callable[[Build], Build]:
    """Register ``build(source, params)`` as export format ``name``."""
    column_fn = columns if callable(columns) else (lambda _p, c=tuple(columns): c)

    def deco(fn: Build) -> Build:
        export_formats.register(name, ExportFormat(name, fn, params, trl_type, lambda p: tuple(column_fn(p)),
                                                   trainer, method, (fn.__doc__ or "").strip()))
        return fn

    return deco


def chat(messages: Sequence[Message]) -> list[dict[str, str]]:
    """Messages as TRL's conversational form: ``[{"role": ..., "content": ...}]``."""
    return [{"role": m.role, "content": m.content} for m in messages]


def assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]
