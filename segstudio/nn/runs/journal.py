"""A run's events on disk, so that another process can follow the run.

Every recorded run (CLI, window, torchrun rank 0) appends the events that
:func:`segstudio.nn.train.engine.fit` yields to ``.segstudio/runs/run-<id>/events.jsonl``,
one JSON object per line (``{"type": "EpochEnd", ...fields}``), flushed after
each line.  A window that did not start the run -- a separate training
process, a CLI run, a server writing into the same project folder -- reads
the file from where it stopped and rebuilds the same frozen events, so its
panel and plots follow the run exactly as if the run were in the window.

Steps are written at most every ``step_interval`` seconds (and always the
last step of an epoch); every other event is written.  A reader skips a last
line that is not complete yet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ...core.run_types import EpochMetrics
from . import events as E

if TYPE_CHECKING:
    from ...core.project import Project

EVENT_TYPES: dict[str, type[E.Event]] = {
    cls.__name__: cls for cls in (E.RunStarted, E.EpochStarted, E.Step, E.EpochEnd, E.Message,
                                  E.Finished)}
JOURNAL = "events.jsonl"


def run_dir(project: Project, run_id: int) -> Path:
    """The folder of a run's journal and control file."""
    return Path(project.project_dir) / "runs" / f"run-{int(run_id)}"


def journal_path(project: Project, run_id: int) -> Path:
    return run_dir(project, run_id) / JOURNAL


def _tuple_fields(cls: type[E.Event]) -> frozenset[str]:
    hints = typing.get_type_hints(cls)
    return frozenset(name for name, hint in hints.items()
                     if typing.get_origin(hint) is tuple or hint is tuple)


_TUPLES = {name: _tuple_fields(cls) for name, cls in EVENT_TYPES.items()}


def encode(ev: E.Event) -> str:
    """One event as a JSON line (no newline)."""
    return json.dumps({"type": type(ev).__name__, **dataclasses.asdict(ev)}, allow_nan=True)


def decode(line: str) -> E.Event | None:
    """The event of one journal line; None for a line of an unknown type or a broken one."""
    try:
        data = json.loads(line)
        kind = data.pop("type")
        cls = EVENT_TYPES[kind]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    for name in _TUPLES[kind]:
        if isinstance(data.get(name), list):
            data[name] = tuple(data[name])
    if cls is E.EpochEnd:
        try:
            data["metrics"] = _epoch_metrics(data)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
    known = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in known})
    except TypeError:
        return None


# an EpochEnd line of a segstudio before EpochMetrics: its numbers beside a dict of scores
_OLD_SCORES = {"global_accuracy": "pixel_accuracy"}


def _epoch_metrics(data: dict[str, Any]) -> EpochMetrics:
    m = data.get("metrics")
    if isinstance(m, dict) and "epoch" in m:
        return EpochMetrics.from_dict(m)
    old = {_OLD_SCORES.get(k, k): v for k, v in (m or {}).items()}
    return EpochMetrics.from_dict({**data, **old})


class JournalWriter:
    """Appends a run's events to its journal (rank 0 of the run only)."""

    def __init__(self, path: str | Path, step_interval: float = 0.25,
                 clock: Callable[[], float] = time.monotonic):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: TextIO | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.step_interval = step_interval
        self.clock = clock
        self._last_step = -1e18

    def write(self, ev: E.Event) -> None:
        if self._fh is None:
            return
        if isinstance(ev, E.Step) and ev.step < ev.steps_per_epoch:
            now = self.clock()
            if now - self._last_step < self.step_interval:
                return
            self._last_step = now
        try:
            self._fh.write(encode(ev) + "\n")
            self._fh.flush()
        except OSError:
            self.close()  # a full disk must not stop training; the store has the epochs

    def close(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
            self._fh = None


class JournalReader:
    """Reads a journal incrementally: :meth:`read` gives the events added since the last call."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.offset = 0

    def read(self) -> list[E.Event]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        out: list[E.Event] = []
        for raw in data[:end].split(b"\n"):
            ev = decode(raw.decode("utf-8", errors="replace"))
            if ev is not None:
                out.append(ev)
        return out
