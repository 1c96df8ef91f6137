"""Learning from mistakes (METHODS §3): principles memories, training-data exports, LoRA training.

Importing this package registers the export formats (one module per format family: ``sft``,
``correction`` + ``prefix_fix``, ``retry``, ``preference`` + ``unpaired``, ``stepwise``). The
training modules (:mod:`mistakelab.learn.train`, :mod:`mistakelab.learn.gguf_lora`) need the
``train`` extra and are imported only when used.

Example:
    >>> "correction" in export_formats
    True
"""

from mistakelab.learn import correction as _correction  # noqa: F401  (registers)
from mistakelab.learn import preference as _preference  # noqa: F401
from mistakelab.learn import retry as _retry  # noqa: F401
from mistakelab.learn import sft as _sft  # noqa: F401
from mistakelab.learn import stepwise as _stepwise  # noqa: F401
from mistakelab.learn.export import ExportError, ExportResult, dataset_card, export_run
from mistakelab.learn.formats import ExportFormat, Row, Skip, export_format, export_formats
from mistakelab.learn.source import RunSource, Solution, task_license

__all__ = [
    "ExportError",
    "ExportFormat",
    "ExportResult",
    "Row",
    "RunSource",
    "Skip",
    "Solution",
    "dataset_card",
    "export_format",
    "export_formats",
    "export_run",
    "task_license",
]
