"""The CLI's progress bar on stderr (rich), shown only for work longer than a second.

``Progress(label, total)``, ``.update(done, total, text)`` (or calling it), ``.close()``
(or a ``with`` block).  ``done`` may be fractional (an image part-way through its tile
bands): the count shows the whole part, the bar and the percentage the fraction.  On a
terminal the bar redraws in place (rich refreshes it ten times a second); into a file
or a pipe, rich writes the bar once, as it ends, so a log gets one line per bar.
"""

from __future__ import annotations

import atexit
import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID


class Progress:
    """A labelled bar that appears once the work has taken ``delay`` seconds."""

    clock = staticmethod(time.monotonic)

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None,
                 delay: float = 1.0) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.delay = delay
        self.start = self.clock()
        self.done = 0.0
        self.text = ""
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None

    def __call__(self, done: float, total: int | None = None, extra: str = "") -> None:
        self.update(done, total, extra)

    def update(self, done: float, total: int | None = None, extra: str = "") -> None:
        if total is not None:
            self.total = total
        self.done, self.text = done, extra
        if self._bar is None:
            if self.clock() - self.start < self.delay:
                return  # quick work shows no bar at all
            self._show()
        assert self._bar is not None and self._task is not None
        self._bar.update(self._task, completed=done, total=self.total, extra=extra)

    def _show(self) -> None:
        # rich is imported only when a bar is shown: quick commands never pay for it
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                           TextColumn("{task.fields[extra]}"),
                           console=Console(file=self.stream), get_time=self.clock)
        self._task = bar.add_task(self.label, total=self.total, extra=self.text)
        bar.tasks[0].start_time = self.start  # elapsed and ETA count from the start
        self._bar = bar
        bar.start()
        atexit.register(self.close)  # an interrupted command gets its cursor back

    def close(self) -> None:
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.stop()
            atexit.unregister(self.close)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
