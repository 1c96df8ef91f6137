"""The ``mistakelab`` command line: one module per command group, all on one Typer app.

Example:
    $ mistakelab run examples/quickstart.toml
    $ mistakelab run --backend local --model smollm2-135m --task gsm_symbolic \\
          --strategy cot --strategy self_consistency:k=4 -n 5
    $ mistakelab show quickstart-1a2b3c4d
"""

from __future__ import annotations

import sys

from mistakelab.cli import run_cmd as _run  # noqa: F401  (registers its commands)
from mistakelab.cli import locate_cmd as _locate  # noqa: F401  # isort: skip
from mistakelab.cli import info_cmd as _info  # noqa: F401  # isort: skip
from mistakelab.cli import report_cmd as _report  # noqa: F401  # isort: skip
from mistakelab.cli import serve_cmd as _serve  # noqa: F401  # isort: skip
from mistakelab.cli import learn_cmd as _learn  # noqa: F401  # isort: skip
from mistakelab.cli import blindspot_cmd as _blindspot  # noqa: F401  # isort: skip
from mistakelab.cli import compare_cmd as _compare  # noqa: F401  # isort: skip
from mistakelab.cli import improve_cmd as _improve  # noqa: F401  # isort: skip
from mistakelab.cli import merge_cmd as _merge  # noqa: F401  # isort: skip
from mistakelab.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)
