"""Parsing of CLI shorthands (``--strategy self_consistency:k=4``); see :mod:`mistakelab.core.specs`."""

from mistakelab.core.specs import parse_named, parse_value

__all__ = ["parse_named", "parse_value"]
