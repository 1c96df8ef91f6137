"""Reports: terminal tables of run summaries; untrusted text printed literally."""

from mistakelab.report.table import grouped_tables, print_summary, server_table, summary_table, wide_console
from mistakelab.report.text import literal, visible

__all__ = ["grouped_tables", "literal", "print_summary", "server_table", "summary_table", "visible", "wide_console"]
