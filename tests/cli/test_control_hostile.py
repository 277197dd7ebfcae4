"""``segstudio train`` and ``segstudio control`` as real processes against a hostile run
folder: a FIFO as the control file, the journal linked out of the project, a stop left in
the control file from before, the same command twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from segstudio.core.project import Project
from tests.fifo_probe import FifoProbe

from .test_train_signals import REPO, _labelled, _train_until_first_epoch


def _control(folder, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "segstudio", "control", str(folder), *args],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120)


def test_a_fifo_control_file_and_a_linked_journal_neither_hang_nor_leak(tmp_path):
    folder = _labelled(tmp_path / "imgs")
    run_dir = folder / ".segstudio" / "runs" / "run-1"
    probe = FifoProbe(run_dir / "control", "reader")
    outside = tmp_path / "outside.jsonl"
    outside.write_text("")
    os.symlink(outside, run_dir / "events.jsonl")
    try:
        proc = _train_until_first_epoch(folder)  # it reaches its first epoch ...
        proc.send_signal(signal.SIGTERM)  # ... and obeys SIGTERM
        assert proc.wait(120) == 143, proc.stderr.read()
    finally:
        probe.close()
    assert probe.opened == 0  # the FIFO was never opened, so nothing could block on it
    assert outside.read_text() == ""  # no event went through the link out of the project
    assert (run_dir / "events.jsonl").is_symlink()
    with Project.open(folder, scan=False) as p:
        assert [r.status for r in p.runs.all()] == ["cancelled"]


def test_a_stale_stop_and_a_repeated_stop_still_stop_the_run(tmp_path):
    folder = _labelled(tmp_path / "imgs")
    control = folder / ".segstudio" / "runs" / "run-1" / "control"
    control.parent.mkdir(parents=True)
    control.write_text("stop\n")  # left from before the run: not an order
    os.utime(control, (1.0, 1.0))
    proc = _train_until_first_epoch(folder)
    try:
        assert proc.poll() is None  # the stale word did not stop it
        done = _control(folder, "stop")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("run 1: asked to stop")
        assert control.read_text() == "stop 1\n"
        rc = proc.wait(120)  # a hang guard: without the fix it trains 100000 epochs
        assert rc == 0, proc.stderr.read()  # a stop asked for is a clean end
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "".join(proc.out).count("epoch ") < 100000
    with Project.open(folder, scan=False) as p:
        run = p.runs.all()[0]
        assert run.status == "cancelled" and run.message.startswith("cancelled")
    done = _control(folder, "1", "stop")  # nothing is training any more
    assert done.returncode == 1 and "run 1 is not training (it is cancelled)" in done.stderr
