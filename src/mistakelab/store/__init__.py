"""The SQLite run store."""

from mistakelab.store.db import RunInfo, RunStore, StoreError, UnitRow, cache_key
from mistakelab.store.improve import StageRecord, loop_stages, save_stage
from mistakelab.store.locate import LocatePrediction, locate_predictions, locate_records, save_locate
from mistakelab.store.migrations import MIGRATIONS, apply_migrations
from mistakelab.store.stored_run import StoredRun, find_run

__all__ = ["MIGRATIONS", "LocatePrediction", "RunInfo", "RunStore", "StageRecord", "StoreError", "StoredRun",
           "UnitRow", "apply_migrations", "cache_key", "find_run", "locate_predictions", "locate_records",
           "loop_stages", "save_locate", "save_stage"]
