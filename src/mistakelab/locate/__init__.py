"""Find the earliest mistake in a solution: locators and their records (the benchmark that
scores them is :mod:`mistakelab.experiments.locate_bench`)."""

from mistakelab.locate import checkers as _checkers  # noqa: F401  (registers)
from mistakelab.locate import critic as _critic  # noqa: F401
from mistakelab.locate import rollout as _rollout  # noqa: F401
from mistakelab.locate.base import Locator, LocatorResult, locate_context, locators, run_locator
from mistakelab.locate.combined import CombinedLocator, LocatorSpec, build_locator, checked_locator
from mistakelab.locate.critic import parse_critic, tag_steps, vote_critics
from mistakelab.locate.records import LocateRecord, RecordError, load_records, write_records

__all__ = [
    "CombinedLocator",
    "LocateRecord",
    "Locator",
    "LocatorResult",
    "LocatorSpec",
    "RecordError",
    "build_locator",
    "checked_locator",
    "load_records",
    "locate_context",
    "locators",
    "parse_critic",
    "run_locator",
    "tag_steps",
    "vote_critics",
    "write_records",
]
