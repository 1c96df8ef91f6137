"""The runner's path to a model (defined in :mod:`mistakelab.context.caller`, below the
locators and strategies that also use it)."""

from mistakelab.context.caller import CallStats, ModelCaller, UnitGateway, cache_identity

__all__ = ["CallStats", "ModelCaller", "UnitGateway", "cache_identity"]
