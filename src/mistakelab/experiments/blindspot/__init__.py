"""The self-correction blind-spot experiment (Self-Correction Bench, METHODS §2.5): the same
error in the model's own turn or in the user's message, with and without " Wait"."""

from mistakelab.experiments.blindspot.facts import FactsTask
from mistakelab.experiments.blindspot.items import Item, level1, level2, level3
from mistakelab.experiments.blindspot.report import LevelReport, blind_spot, blindspot_report, blindspot_table
from mistakelab.experiments.blindspot.run import CONDITIONS, BlindspotConfig, probe, run_blindspot

__all__ = [
    "CONDITIONS",
    "BlindspotConfig",
    "FactsTask",
    "Item",
    "LevelReport",
    "blind_spot",
    "blindspot_report",
    "blindspot_table",
    "level1",
    "level2",
    "level3",
    "probe",
    "run_blindspot",
]
