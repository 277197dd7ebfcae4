"""A FIFO planted where segstudio expects a file, and a probe that tells whether anyone
opened it -- without the test itself hanging when the code under test does.

``FifoProbe(path, "reader")`` waits for the code under test to open the FIFO for reading
(a blocking open that would hang it): it opens the other end, counts the open, and
closes at once so the reader sees the end of file and goes on.  ``"writer"`` keeps a
reading end open (so a writer never blocks) and counts the bytes written into it.
The count, not a clock, says whether the FIFO was used."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from pathlib import Path


class FifoProbe:
    def __init__(self, path: Path, catch: str = "reader"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(self.path)
        self.catch = catch
        self.opened = 0  # readers caught opening it
        self.received = 0  # bytes a writer wrote into it
        self._stop = threading.Event()
        self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK) if catch == "writer" else None
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._fd is not None:
                with contextlib.suppress(BlockingIOError):
                    self.received += len(os.read(self._fd, 65536))
                self._stop.wait(0.01)
                continue
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:  # ENXIO: nobody has it open for reading
                if exc.errno != errno.ENXIO:
                    raise
                self._stop.wait(0.01)
                continue
            self.opened += 1
            os.close(fd)  # the blocked reader reads the end of file and goes on
            self._stop.wait(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        if self._fd is not None:
            os.close(self._fd)
