"""``combined``: cheap locators first; an expensive one only where the cheap ones are silent.

A locator is silent on a record when it found no error (-1) or made no prediction. The
first locator in order that names an error step wins; when all cheap ones are silent, the
last (expensive) one decides.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator

from mistakelab.core.specs import PartSpec, parse_named
from mistakelab.locate.base import Locator, LocatorResult, locators
from mistakelab.locate.records import LocateRecord
from mistakelab.context import CallContext


@locators.register("combined")
class CombinedLocator(Locator):
    """Cheap locators first; the last (expensive) one only where they are silent."""

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
    """``"critic"``, ``"rollout:k=8"`` or ``{"name": "critic", "n": 5}`` → a Locator.

    ``label`` is the locator's display name (in tables) and no parameter, with one exception
    kept for old specs: rollout's rule was once spelled ``label=hard|soft``, so a label that
    is one of a locator's ``rules`` (and no ``rule`` given) also selects that rule.

    Example:
        >>> build_locator("combined:chain=exact+arithmetic").oracle
        True
        >>> build_locator("rollout:k=4,label=soft").params.rule
        'soft'
    """
    if isinstance(spec, str):
        spec = parse_named(spec)
    spec = dict(spec)
    name = spec.pop("name")
    label = spec.pop("label", None)
    cls = locators.get(name)
    if label is not None and str(label) in cls.rules and "rule" not in spec:
        spec["rule"] = str(label)
    if name == "combined" and "chain" in spec and isinstance(spec["chain"], str):
        spec["chain"] = spec["chain"].split("+")
    return cls(**spec)


def checked_locator(spec: Any) -> Any:
    """Build the locator once so a bad spec fails when the run is planned (a params validator)."""
    try:
        build_locator(spec)
    except KeyError as exc:  # an unknown name: pydantic reports ValueErrors only
        raise ValueError(str(exc)) from None
    except TypeError as exc:  # a parameter the locator does not take
        raise ValueError(f"locator {spec!r}: {exc}") from None
    return spec


#: A strategy parameter naming a locator (``"exact"``, ``"combined:chain=exact+arithmetic"``,
#: a table), checked when the run is planned; the strategy's oracle use follows from the locator.
LocatorSpec = Annotated[str | dict[str, Any], AfterValidator(checked_locator), PartSpec("locator", build_locator)]

