"""Following a training run in another process: started from the panel, or found running.

:class:`ExternalRun` starts ``segstudio train`` (``torchrun`` with one process
per GPU when several CUDA devices are found) in its own session, so the run
goes on when the window closes and a crash of it cannot take the window
down.  Its output goes to ``.segstudio/runs/process-<time>.log``.  The window
follows the run through the project store only: a timer reads the run's
journal (:mod:`segstudio.nn.runs.journal`) and re-emits its events, so the panel
and the plots behave as for a run in the window; Pause, Resume and Stop
write the run's control file (:mod:`segstudio.nn.runs.control`).

:meth:`ExternalRun.attach` follows a run that someone else started (the CLI
on this machine, or a server writing into the same project folder).

A process that ends without finishing its run -- killed, crashed -- is
reported as a failed run with its exit status and the last line it printed;
the run is marked interrupted in the store, its checkpoints stay.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ...core.atomic import atomic_write_text, process_alive
from ...core.run_types import RunRecord
from ...nn.runs import control
from ...nn.runs.events import Finished, Message, RunStarted
from ...nn.runs.journal import JournalReader, journal_path

POLL_MS = 300
FIND_RUN_S = 120.0  # a process that has not recorded its run by then is reported


def _last_line(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.path.getsize(path) - 4096))
            lines = [ln.strip() for ln in fh.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln and not ln.startswith(("Traceback", "File "))]
    return lines[-1][:300] if lines else ""


def _gpu_count(device: str) -> int:
    if not device.startswith("cuda") or ":" in device:
        return 1
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # noqa: BLE001 - no CUDA: one process
        return 1


def train_command(folder: str, request_file: Path, device: str, nproc: int = 1) -> list[str]:
    """The command line of a separate training process: the run request travels in a
    file, and ``segstudio train`` resolves it as the window's own runs are resolved."""
    if nproc > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", str(nproc), "-m", "segstudio"]
    else:
        cmd = [sys.executable, "-m", "segstudio"]
    return cmd + ["train", folder, "--config", str(request_file), "--device", device]


class ExternalRun(QObject):
    """One followed run in another process; the same signals as :class:`Trainer`."""

    event = Signal(object)
    running_changed = Signal(bool)
    paused_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, poll_ms: int = POLL_MS):
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.poll)
        self.project = None
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.run_id: int | None = None
        self.reader: JournalReader | None = None
        self.device = ""
        self.pid: int | None = None
        self.host = ""
        self._paused = False
        self._since = 0.0

    # -- state --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.project is not None

    @property
    def paused(self) -> bool:
        return self.running and self._paused

    def describe(self) -> str:
        where = "" if self.host in ("", socket.gethostname()) else f" on {self.host}"
        pid = f" (process {self.pid}{where})" if self.pid else where
        return f"run {self.run_id}{pid}" if self.run_id is not None else f"the process{pid}"

    # -- starting and attaching ---------------------------------------------------------------
    def start(self, project, request, device: str) -> bool:
        if self.running:
            return False
        runs = Path(project.project_dir) / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        cfg_file = runs / f"settings-{stamp}-{os.getpid()}.json"
        atomic_write_text(cfg_file, json.dumps({"device": device, "request": request.to_dict()},
                                               indent=1))
        self.log_path = runs / f"process-{stamp}-{os.getpid()}.log"
        nproc = _gpu_count(device)
        cmd = train_command(str(project.root), cfg_file, device, nproc)
        # pytorch#135712: torchrun's restarted processes can hang without it
        env = dict(os.environ, PYTHONUNBUFFERED="1", TORCH_DISABLE_SHARE_RDZV_TCP_STORE="1")
        env.pop("QT_QPA_PLATFORM", None)
        with open(self.log_path, "ab") as log:
            log.write((" ".join(cmd) + "\n").encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env,
                                         start_new_session=True)
        self.pid, self.host = self.proc.pid, socket.gethostname()
        self._begin(project, None, device)
        self.event.emit(Message("info", f"training in a separate process ({self.pid}"
                                        + (f", torchrun with {nproc} processes" if nproc > 1
                                           else "") + f"); its output: {self.log_path}"))
        return True

    def attach(self, project, run: RunRecord) -> bool:
        """Follow ``run`` (one of ``project.runs.all()``) that another process trains."""
        if self.running:
            return False
        self.proc, self.log_path = None, None
        self.pid, self.host = run.pid, run.host or ""
        self._begin(project, run.id, run.device or "")
        self.event.emit(Message("info", f"following {self.describe()}, started elsewhere"))
        if control.read(control.control_path(project, self.run_id)) == "pause":
            self._paused = True  # it was paused from elsewhere; Resume resumes it
            self.paused_changed.emit(True)
        return True

    def _begin(self, project, run_id: int | None, device: str) -> None:
        self.project, self.device, self._paused = project, device, False
        self.run_id = run_id
        self.reader = JournalReader(journal_path(project, run_id)) if run_id is not None else None
        self._since = time.monotonic()
        self.timer.start()
        self.running_changed.emit(True)

    # -- control --------------------------------------------------------------------------
    def _send(self, action: str) -> bool:
        if self.run_id is None:
            self.event.emit(Message("warning", "the run has not started yet; try again in a "
                                               "moment"))
            return False
        control.send(self.project, self.run_id, action)
        return True

    def pause(self) -> None:
        if self.running and not self._paused and self._send("pause"):
            self._paused = True
            self.paused_changed.emit(True)

    def resume(self) -> None:
        if self._paused and self._send("resume"):
            self._paused = False
            self.paused_changed.emit(False)

    def toggle_pause(self) -> None:
        self.resume() if self.paused else self.pause()

    def stop(self) -> None:
        if self.running and self._send("stop") and self._paused:
            self._paused = False
            self.paused_changed.emit(False)

    def detach(self) -> str | None:
        """Stop following (the project closes); the run goes on.  Returns what to tell
        the user, or None when nothing was followed."""
        if not self.running:
            return None
        text = (f"training goes on in {self.describe()}; open the project again to follow "
                "it, or stop it with: segstudio control FOLDER " f"{self.run_id} stop")
        self._end()
        return text

    # -- following ------------------------------------------------------------------------
    def poll(self) -> None:
        if self.project is None:
            return
        if self.run_id is None and not self._find_run():
            return
        for ev in self.reader.read():
            if isinstance(ev, RunStarted) and ev.run_id != self.run_id:
                continue
            self.event.emit(ev)
            if isinstance(ev, Finished):
                self._end()
                return
        if not self._alive():
            for ev in self.reader.read():  # the last lines it wrote before it ended
                self.event.emit(ev)
                if isinstance(ev, Finished):
                    self._end()
                    return
            self._ended_unfinished()

    def _find_run(self) -> bool:
        if self.pid is not None:
            row = self.project.db.query_one(
                "SELECT id FROM runs WHERE pid=? AND host=? AND started_at>=? ORDER BY id DESC"
                " LIMIT 1", (self.pid, self.host, time.time() - 7 * 86400))
            if row is not None:
                self.run_id = int(row["id"])
                self.reader = JournalReader(journal_path(self.project, self.run_id))
                return True
        if not self._alive():
            self._ended_unfinished()
        elif time.monotonic() - self._since > FIND_RUN_S and self.proc is not None:
            self.event.emit(Message("warning", f"the training process {self.pid} has not "
                                               f"started a run yet; see {self.log_path}"))
            self._since = time.monotonic()
        return False

    def _alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        if self.pid is None or self.host not in ("", socket.gethostname()):
            return True  # another machine's run: its journal says when it ends
        return process_alive(int(self.pid))

    def _ended_unfinished(self) -> None:
        code = self.proc.poll() if self.proc is not None else None
        status = self._stored_status()
        if status in ("completed", "cancelled"):  # it ended well without a last journal line
            text = f"{self.describe()} ended: {status}"
            fin = Finished(status, self.run_id, 0, None, None, None, text)
        else:
            if code is not None and code < 0:
                how = f"was killed (signal {-code})"
            elif code is not None:
                how = f"ended with exit status {code}"
            else:
                how = "ended"
            last = _last_line(self.log_path)
            text = (f"the training process {how} without finishing the run"
                    + (f": {last}" if last else "")
                    + "; the last completed epoch's checkpoint is kept")
            self.project.runs.mark_interrupted()
            fin = Finished("failed", self.run_id, 0, None, None, None, text)
        self.event.emit(fin)
        self._end()

    def _stored_status(self) -> str | None:
        if self.run_id is None:
            return None
        run = self.project.runs.get(self.run_id)
        return None if run is None else run.status

    def _end(self) -> None:
        self.timer.stop()
        self.project = None
        self.reader = None
        if self._paused:
            self._paused = False
            self.paused_changed.emit(False)
        self.running_changed.emit(False)


def run_in_progress(project) -> RunRecord | None:
    """The newest run of ``project`` that another process is training now (its process is
    alive on this machine, or it runs on another machine), or None."""
    host = socket.gethostname()
    for run in reversed(project.runs.all()):
        if not run.running or run.pid is None:
            continue
        if run.host != host or process_alive(run.pid):
            if run.host == host and run.pid == os.getpid():
                continue  # this window's own thread
            return run
    return None
