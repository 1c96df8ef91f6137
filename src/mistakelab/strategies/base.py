"""Strategy registry and the spec that names a strategy with its parameters in a config.

A strategy is an async function ``(ctx, params) -> None`` that records its answers in the
trace through ``ctx`` (ending with ``ctx.final(...)`` or a last ``record_answer``), plus a
pydantic model of its parameters. It keeps no state between problems.

Example:
    >>> from pydantic import BaseModel
    >>> class NoParams(BaseModel): pass
    >>> @strategy("first_line", NoParams)
    ... async def first_line(ctx, params):
    ...     c = await ctx.generate(ctx.question())
    ...     ctx.record_answer("final", c.text.splitlines()[0])
    >>> StrategySpec(name="first_line").label
    'first_line'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.registry import Registry

StrategyFn = Callable[[Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class StrategyDef:
    name: str
    fn: StrategyFn
    params: type[BaseModel]
    #: True when the strategy uses the gold answer while solving (shown as oracle-assisted).
    oracle: bool = False
    doc: str = ""
    #: longest chain of sequential model calls for given params (for scheduling only)
    chain: Callable[[Any], int] | None = None


strategies: Registry[StrategyDef] = Registry("strategy")


def strategy(
    name: str, params: type[BaseModel], oracle: bool = False, chain: Callable[[Any], int] | None = None
) -> Callable[[StrategyFn], StrategyFn]:
    """Register an async strategy function under ``name`` with its parameter model.

    ``chain(params)`` estimates the longest run of sequential calls; the runner starts long
    chains first so they do not finish last (longest-processing-time-first scheduling).
    """

    def deco(fn: StrategyFn) -> StrategyFn:
        strategies.register(name, StrategyDef(name, fn, params, oracle, (fn.__doc__ or "").strip(), chain))
        return fn

    return deco


class StrategySpec(BaseModel):
    """A strategy named in a config: ``name`` plus its parameters as extra fields.

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
        if self.label_:
            return self.label_
        p = self.params_dict()
        if not p:
            return self.name
        inner = ",".join(f"{k}={v}" for k, v in sorted(p.items()))
        return f"{self.name}({inner})"

    def resolve(self) -> tuple[StrategyDef, BaseModel]:
        """The registered strategy and its validated parameters."""
        sdef = strategies.get(self.name)
        try:
            params = sdef.params.model_validate(self.params_dict())
        except Exception as exc:
            raise ValueError(f"strategy {self.name!r}: bad parameters: {exc}") from exc
        return sdef, params
