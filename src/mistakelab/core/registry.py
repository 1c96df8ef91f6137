"""Name -> implementation registries: tasks, strategies, backends, locators, events...

One registration style everywhere: the module that defines a thing registers it, with the
decorator ``@registry.register("name")`` (or ``registry.register("name", obj)`` for objects
that cannot be decorated). Each package's ``__init__`` imports its built-in modules, so
importing ``mistakelab.tasks`` makes every built-in task known; modules keep heavy optional
dependencies (llama.cpp, reasoning-gym, torch) inside the functions that need them, so
listing names stays cheap. Third-party packages add entries through the registry's
entry-point group (``mistakelab.strategies``, ``mistakelab.tasks``, ``mistakelab.backends``,
``mistakelab.locators``, ``mistakelab.scorers``, ``mistakelab.export_formats``,
``mistakelab.trace_events``): each entry point names a module, imported on first use, that
registers with the same decorator (or ``module:attr``, registered under the entry point's name).

Registering a name twice is an error (:class:`DuplicateNameError`), so two plugins can never
silently replace each other's entries.

Example:
    >>> reg = Registry("widget")
    >>> @reg.register("blue")
    ... def blue(): return "blue!"
    >>> reg.get("blue")()
    'blue!'
    >>> reg.register("blue", len)
    Traceback (most recent call last):
    ...
    mistakelab.core.registry.DuplicateNameError: widget 'blue' is already registered (by ...blue...)
"""

from __future__ import annotations

from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Any, Generic, Iterator, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """A name that no registry entry has; the message lists the known names."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


class DuplicateNameError(ValueError):
    """A name registered twice."""


class Registry(Generic[T]):
    """Entries by name; see the module docstring for the one registration style.

    ``plural`` names the entry-point group (``mistakelab.<plural>``); ``listed_as`` the word
    ``mistakelab list`` knows it by (default the plural). Every registry is listed in
    :func:`registries` as soon as it is created.
    """

    def __init__(self, kind: str, plural: str | None = None, listed_as: str | None = None) -> None:
        self.kind = kind
        plural = (plural or kind + "s").replace(" ", "_")
        #: the entry-point group third-party packages register under
        self.group = f"mistakelab.{plural}"
        self.listed_as = listed_as or plural
        _registries.setdefault(self.listed_as, self)
        self._objects: dict[str, Any] = {}
        self._entry_points_loaded = False

    def register(self, name: str, obj: Any = None) -> Any:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator."""
        if obj is None:
            def deco(o: Any) -> Any:
                self._add(name, o)
                return o
            return deco
        self._add(name, obj)
        return obj

    def _add(self, name: str, obj: Any) -> None:
        if name in self._objects:
            raise DuplicateNameError(
                f"{self.kind} {name!r} is already registered (by {self._objects[name]!r})")
        self._objects[name] = obj

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests and notebooks that re-define an entry)."""
        self._objects.pop(name, None)

    @contextmanager
    def temporary(self, name: str, obj: Any) -> Iterator[Any]:
        """Register ``obj`` for the duration of a ``with`` block.

        Example:
            >>> reg = Registry("widget")
            >>> with reg.temporary("red", 1):
            ...     reg.get("red")
            1
            >>> "red" in reg
            False
        """
        self.register(name, obj)
        try:
            yield obj
        finally:
            self.unregister(name)

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.group):
            if ep.name not in self._objects:
                # An entry point names a module (or module:attr); importing it registers.
                obj = ep.load()
                if ep.name not in self._objects and ep.attr:
                    self._add(ep.name, obj)

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._objects)

    def get(self, name: str) -> T:
        if name not in self._objects:
            self._load_entry_points()
        if name in self._objects:
            return self._objects[name]
        known = ", ".join(self.names()) or "(none)"
        raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}")

    def items(self) -> list[tuple[str, T]]:
        return [(n, self._objects[n]) for n in self.names()]

    def __contains__(self, name: str) -> bool:
        return name in self.names()


_registries: dict[str, Registry[Any]] = {}


def registries() -> dict[str, Registry[Any]]:
    """Every registry created so far, by the word ``mistakelab list`` knows it by.

    Example:
        >>> reg = Registry("gadget")
        >>> registries()["gadgets"] is reg, reg.group
        (True, 'mistakelab.gadgets')
    """
    return dict(_registries)

