"""Reports: terminal tables of run summaries."""

from mistakelab.report.table import grouped_tables, print_summary, summary_table, wide_console

__all__ = ["grouped_tables", "print_summary", "summary_table", "wide_console"]
