"""Reports: terminal tables of run summaries."""

from mistakelab.report.table import print_summary, summary_table

__all__ = ["print_summary", "summary_table"]
