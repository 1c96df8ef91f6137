"""The HTML report of a stored run: summary tables, plots, the trace viewer, locate results.

Example:
    >>> callable(write_report) and callable(render_report)
    True
"""

from mistakelab.report.html.page import DEFAULT_STEP_BUDGET, Rendered, render_report, write_report

__all__ = ["DEFAULT_STEP_BUDGET", "Rendered", "render_report", "write_report"]
