"""Strategy registry and the spec that names a strategy, its parameters and its role models.

A strategy is an async function ``(ctx, params) -> None`` over a
:class:`~mistakelab.strategies.StrategyContext`, registered with :func:`strategy` together
with its parameter model, the extra model roles it uses (e.g. ``critic``), its named prompt
templates, the backend capabilities it needs, and whether it uses the gold answer. It keeps
no state between problems.

Example:
    >>> from pydantic import BaseModel
    >>> class NoParams(BaseModel): pass
    >>> @strategy("first_line", NoParams, prompts={"ask": "{question} One line."})
    ... async def first_line(ctx, params):
    ...     c = await ctx.generate(ctx.question())
    ...     ctx.final(c)
    >>> StrategySpec(name="first_line").label
    'first_line'
    >>> strategies.unregister("first_line")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mistakelab.core.registry import Registry
from mistakelab.core.specs import spec_label, spec_needs, spec_oracle

StrategyFn = Callable[[Any, Any], Awaitable[None]]
#: role -> capabilities its model's backend must declare, given the parameters
Needs = Callable[[Any], Mapping[str, frozenset[str] | set[str]]]
#: ``check(params, problems)``: raise ValueError when the strategy must not run on these problems
ProblemCheck = Callable[[Any, Sequence[Any]], None]


@dataclass(frozen=True)
class StrategyDef:
    name: str
    fn: StrategyFn
    params: type[BaseModel]
    #: True (or ``oracle(params)`` True) when the strategy itself uses the gold answer while
    #: solving; the parts its typed spec fields name (locators, scorers) add their own use
    oracle: bool | Callable[[Any], bool] = False
    doc: str = ""
    #: the longest run of sequential model calls for given params (scheduling only)
    depth: Callable[[Any], int] | None = None
    #: model roles besides the solver that a spec may assign (``self_refine:critic=...``)
    roles: tuple[str, ...] = ()
    #: named prompt templates (``str.format``; ``{question}`` always available)
    prompts: Mapping[str, str] = field(default_factory=dict)
    needs: Needs | None = None
    #: the method it implements (METHODS.md section, paper)
    method: str = ""
    #: run over each task's problems before any model call (e.g. a memory built from them)
    check: ProblemCheck | None = None
    #: the token statistics its draws of self-consistency's samples read (``shared``): top
    #: alternatives per token (0: logprobs only), or None; a run draws every sample with the
    #: most any of its strategies asks, so the samples are drawn once, whoever asks first
    shared_stats: Callable[[Any], int | None] | None = None

    def shared_stats_of(self, params: Any) -> int | None:
        return self.shared_stats(params) if self.shared_stats else None

    def is_oracle(self, params: Any) -> bool:
        """Whether a run with ``params`` may use the gold answer: the strategy's own flag, or
        a locator or scorer named by one of its typed spec fields that does (the one rule the
        runner's labels, ``solve`` and the proxy's refusal share)."""
        own = bool(self.oracle(params)) if callable(self.oracle) else bool(self.oracle)
        return own or spec_oracle(params)

    def capabilities_needed(self, params: Any) -> dict[str, frozenset[str]]:
        """Role -> capabilities: the strategy's own ``needs`` plus its scorers' (typed fields)."""
        out = dict(spec_needs(params))
        for role, caps in (self.needs(params) if self.needs else {}).items():
            out[role] = out.get(role, frozenset()) | frozenset(caps)
        return out


strategies: Registry[StrategyDef] = Registry("strategy", "strategies")


def strategy(
    name: str,
    params: type[BaseModel],
    *,
    oracle: bool | Callable[[Any], bool] = False,
    depth: Callable[[Any], int] | None = None,
    roles: tuple[str, ...] = (),
    prompts: Mapping[str, str] | None = None,
    needs: Needs | Mapping[str, set[str]] | None = None,
    method: str = "",
    check: ProblemCheck | None = None,
    shared_stats: Callable[[Any], int | None] | None = None,
) -> Callable[[StrategyFn], StrategyFn]:
    """Register an async strategy function under ``name`` (see the module docstring).

    ``depth(params)`` estimates the longest run of sequential calls; the runner starts deep
    units first so they do not finish last. ``needs`` maps roles to the capabilities their
    backends must declare (or is a function of the parameters giving that map); a run
    refuses the strategy before its first call when one is missing. ``shared_stats(params)``:
    the top logprobs (0: logprobs only; None: no statistics) its shared samples need.
    """
    needs_fn: Needs | None
    if needs is None or callable(needs):
        needs_fn = needs  # type: ignore[assignment]
    else:
        fixed = {r: frozenset(c) for r, c in needs.items()}
        needs_fn = lambda _params: fixed  # noqa: E731

    def deco(fn: StrategyFn) -> StrategyFn:
        strategies.register(name, StrategyDef(
            name, fn, params, oracle, (fn.__doc__ or "").strip(), depth, tuple(roles),
            dict(prompts or {}), needs_fn, method, check, shared_stats))
        return fn

    return deco


class StrategySpec(BaseModel):
    """A strategy named in a config: ``name`` plus its parameters and role models as extra
    fields (``critic = "qwen2.5-coder-1.5b"`` or a model table).

    Example:
        >>> StrategySpec.model_validate({"name": "self_consistency", "k": 8}).label
        'self_consistency(k=8)'
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str
    label_: str | None = Field(default=None, alias="label")

    def params_dict(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def label(self) -> str:
        return spec_label({"name": self.name, "label": self.label_, **self.params_dict()})

    def definition(self) -> StrategyDef:
        return strategies.get(self.name)

    def resolve(self) -> tuple[StrategyDef, BaseModel]:
        """The registered strategy and its validated parameters (role models left out)."""
        sdef = self.definition()
        values = {k: v for k, v in self.params_dict().items() if k not in sdef.roles}
        try:
            params = sdef.params.model_validate(values)
        except ValidationError as exc:
            raise ValueError(f"strategy {self.name!r}: bad parameters: {_errors(exc)}") from None
        return sdef, params

    def role_models(self) -> dict[str, Any]:
        """Role -> the model named for it (a model name, a label, or a model table)."""
        sdef = self.definition()
        return {k: v for k, v in self.params_dict().items() if k in sdef.roles}


def _errors(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(parameters)"
        parts.append(f"{loc}: {e['msg']}" + (f" (got {e['input']!r})" if "input" in e and loc != "(parameters)" else ""))
    return "; ".join(parts)
