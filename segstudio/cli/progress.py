"""A small text progress bar on stderr, shown only for work longer than a second."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``done`` may be fractional (an image part-way through its tile bands); the count
    shows the whole part, the bar and the percentage the fraction."""

    clock = staticmethod(time.monotonic)

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None,
                 delay: float = 1.0) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.delay = delay
        self.start = self.clock()
        self._last = 0.0
        self._shown = False
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_pct = -1

    def __call__(self, done: float, total: int | None = None, extra: str = "") -> None:
        self.update(done, total, extra)

    def update(self, done: float, total: int | None = None, extra: str = "") -> None:
        if total is not None:
            self.total = total
        now = self.clock()
        finished = self.total is not None and done >= self.total
        if now - self.start < self.delay and not (finished and self._shown):
            return
        if not finished and now - self._last < 0.1:
            return
        self._last = now
        self._shown = True
        elapsed = now - self.start
        if self.total:
            frac = min(1.0, done / self.total)
            bar = "#" * int(frac * 30)
            eta = elapsed / frac - elapsed if frac > 0 else 0.0
            text = (f"{self.label} [{bar:<30}] {int(done)}/{self.total} {frac * 100:5.1f}% "
                    f"{elapsed:6.1f}s eta {eta:5.0f}s {extra}")
            pct = int(frac * 100)
        else:
            text = f"{self.label} {int(done)} {elapsed:6.1f}s {extra}"
            pct = -1
        if self._tty:
            self.stream.write("\r" + text[:150].ljust(100))
            self.stream.flush()
        elif pct // 10 != self._last_pct // 10 or pct < 0:
            self._last_pct = pct
            self.stream.write(text.rstrip() + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self._shown and self._tty:
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
