"""``combined``: cheap locators first; an expensive one only where the cheap ones are silent.

A locator is silent on a record when it found no error (-1) or made no prediction. The
first locator in order that names an error step wins; when all cheap ones are silent, the
last (expensive) one decides.
"""

from __future__ import annotations

from typing import Any

from mistakelab.core.specs import parse_named
from mistakelab.locate.base import Locator, LocatorResult, locators
from mistakelab.locate.records import LocateRecord
from mistakelab.context import CallContext


@locators.register("combined")
class CombinedLocator(Locator):
    name = "combined"

    def __init__(self, chain: list[Any] | None = None, **_: object) -> None:
        specs = chain or ["arithmetic", "critic"]
        self.chain: list[Locator] = [
            s if isinstance(s, Locator) else build_locator(s) for s in specs
        ]
        self.oracle = any(loc.oracle for loc in self.chain)
        self.needs_model = any(loc.needs_model for loc in self.chain)

    async def locate(self, record: LocateRecord, ctx: CallContext) -> LocatorResult:
        result = LocatorResult(first_error=None)
        used = []
        for loc in self.chain:
            result = await loc.locate(record, ctx)
            used.append(loc.name)
            if result.first_error is not None and result.first_error >= 0:
                break
        return result.model_copy(update={"note": "used " + " → ".join(used), "oracle": self.oracle})


def build_locator(spec: str | dict[str, Any]) -> Locator:
    """``"critic"``, ``"rollout:k=8"`` or ``{"name": "critic", "n": 5}`` → a Locator."""
    if isinstance(spec, str):
        spec = parse_named(spec)
    spec = dict(spec)
    name = spec.pop("name")
    if name == "combined" and "chain" in spec and isinstance(spec["chain"], str):
        spec["chain"] = spec["chain"].split("+")
    return locators.get(name)(**spec)

