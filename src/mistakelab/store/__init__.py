"""The SQLite run store."""

from mistakelab.store.db import RunInfo, RunStore, StoreError, UnitRow, cache_key
from mistakelab.store.migrations import MIGRATIONS, apply_migrations

__all__ = ["MIGRATIONS", "RunInfo", "RunStore", "StoreError", "UnitRow", "apply_migrations", "cache_key"]
