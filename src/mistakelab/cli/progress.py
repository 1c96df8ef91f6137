"""A rich progress bar fed by the runner's events: units done, calls made, tokens/s.

The bar (and the header line) appear at the runner's "start" event, after the run is
planned: a config error is reported alone, with no half-drawn bar before it.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class RunProgress:
    def __init__(self, console: Console | None = None, header: Callable[[], None] | None = None) -> None:
        self.header = header
        self.started = False
        self.progress = Progress(
            TextColumn("[bold]units"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[calls]}"), console=console, transient=False,
        )
        self.task = self.progress.add_task("run", total=None, calls="")
        self.t0 = time.perf_counter()

    def __enter__(self) -> "RunProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.started:
            self.progress.stop()

    def __call__(self, event: str, payload: Any) -> None:
        if event == "start":
            if self.header:
                self.header()
            self.progress.start()
            self.started = True
            self.progress.update(self.task, total=payload)
        elif event in ("unit", "skip", "unit_error"):
            self.progress.advance(self.task)
        elif event == "calls":
            st = payload
            rate = st.completion_tokens / max(time.perf_counter() - self.t0, 1e-9)
            self.progress.update(
                self.task,
                calls=f"calls {st.made} made, {st.cached} cached, {st.errors} errors | {rate:.1f} tok/s",
            )
