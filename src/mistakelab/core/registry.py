"""Name -> implementation registries for tasks, strategies and backends.

Built-in entries are registered lazily by import path (``"package.module:attr"``) so that
listing names never imports heavy optional dependencies (llama.cpp, reasoning-gym).
Third-party code registers objects directly, or through the ``mistakelab.<kind>`` entry-point
groups.

Example:
    >>> reg = Registry("widget")
    >>> @reg.register("blue")
    ... def blue(): return "blue!"
    >>> reg.get("blue")()
    'blue!'
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """A name that no registry entry has; the message lists the known names."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._objects: dict[str, Any] = {}
        self._lazy: dict[str, str] = {}
        self._entry_points_loaded = False

    def register(self, name: str, obj: Any = None) -> Any:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator."""
        if obj is None:
            def deco(o: Any) -> Any:
                self._objects[name] = o
                return o
            return deco
        self._objects[name] = obj
        return obj

    def register_lazy(self, name: str, path: str) -> None:
        """Register ``"module:attr"`` to be imported on first use."""
        self._lazy[name] = path

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=f"mistakelab.{self.kind}s"):
            self._lazy.setdefault(ep.name, ep.value)

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(set(self._objects) | set(self._lazy))

    def get(self, name: str) -> T:
        if name in self._objects:
            return self._objects[name]
        self._load_entry_points()
        if name in self._lazy:
            module_name, _, attr = self._lazy[name].partition(":")
            obj = getattr(importlib.import_module(module_name), attr)
            self._objects[name] = obj
            return obj
        known = ", ".join(self.names()) or "(none)"
        raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}")

    def __contains__(self, name: str) -> bool:
        return name in self.names()


def lazy(registry: Registry[Any], table: dict[str, str]) -> None:
    """Register many lazy entries at once."""
    for name, path in table.items():
        registry.register_lazy(name, path)

