"""A run's control file and journal as a hostile user may leave them: FIFOs, links,
/dev/zero, files of hundreds of MB, stale or repeated commands, lines nested 100 000 deep.
Nothing blocks, nothing is read beyond a small bound, each command acts once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from segstudio.nn.runs import control
from segstudio.nn.runs.events import Message
from segstudio.nn.runs.journal import MAX_LINE, JournalReader, JournalWriter, encode
from tests.fifo_probe import FifoProbe

REPO = Path(__file__).resolve().parents[2]


class _Project:  # what control.send needs of a project
    def __init__(self, folder):
        self.project_dir = folder


def _watcher(path, root=None):
    cancel, pause = threading.Event(), threading.Event()
    return control.ControlWatcher(path, cancel, pause, interval=3600, root=root), cancel, pause


def test_a_fifo_as_control_file_is_never_opened(tmp_path):
    probe = FifoProbe(tmp_path / "runs" / "run-1" / "control", "reader")
    try:
        watcher, cancel, pause = _watcher(probe.path, tmp_path)
        watcher.poll()
        watcher.close()
        assert control.read(probe.path) is None
    finally:
        probe.close()
    assert probe.opened == 0 and not cancel.is_set()


def test_a_control_file_linked_to_dev_zero_or_huge_is_not_read(tmp_path, monkeypatch):
    path = tmp_path / "control"
    os.symlink("/dev/zero", path)
    # in a child with 1 GiB more address space than it has, so that a reader that reads
    # /dev/zero to its end fails there instead of taking this machine's memory
    code = ("import resource, sys\n"
            "from pathlib import Path\n"
            "from segstudio.nn.runs.control import read\n"
            "with open('/proc/self/statm') as fh: pages = int(fh.read().split()[0])\n"
            "room = pages * resource.getpagesize() + (1 << 30)\n"
            "resource.setrlimit(resource.RLIMIT_AS, (room, room))\n"
            "print(read(Path(sys.argv[1])))\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, cwd=REPO, timeout=300)
    assert (done.returncode, done.stdout, done.stderr) == (0, "None\n", "")
    path.unlink()
    with open(path, "wb") as fh:  # 200 MB of "stop" (sparse: no disk used)
        fh.write(b"stop\n")
        fh.truncate(200 << 20)
    reads = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    assert control.read(path) is None
    assert reads == []  # refused by its size, without reading it
    path.unlink()
    path.write_text("stop 4\n")
    assert control.read(path) == "stop"
    assert reads == [control.MAX_BYTES + 1]


def test_a_control_file_outside_the_project_is_not_read(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "control").write_text("stop\n")
    project = tmp_path / "project"
    (project / "runs").mkdir(parents=True)
    os.symlink(outside, project / "runs" / "run-1")
    assert control.read(project / "runs" / "run-1" / "control", project) is None
    with pytest.raises(Exception, match="leads out of the project"):
        control.send(_Project(project), 1, "stop")
    assert (outside / "control").read_text() == "stop\n"


def test_a_stop_already_in_the_file_and_a_repeated_stop_each_act_once(tmp_path):
    project = _Project(tmp_path)
    path = control.send(project, 1, "stop")  # left from before the run
    assert path.read_text() == "stop 1\n"
    os.utime(path, (1.0, 1.0))
    watcher, cancel, pause = _watcher(path, tmp_path)
    try:
        watcher.poll()
        assert not cancel.is_set()  # written before the run: not an order
        control.send(project, 1, "stop")  # the same word again is a new command
        assert path.read_text() == "stop 2\n"
        watcher.poll()
        assert cancel.is_set()
        control.send(project, 1, "pause")
        watcher.poll()
        assert pause.is_set()
        pause.clear()
        watcher.poll()  # nothing new: the pause is not taken twice
        assert not pause.is_set()
        control.send(project, 1, "pause")  # a second pause is taken
        watcher.poll()
        assert pause.is_set()
    finally:
        watcher.close()


def test_a_command_written_after_the_run_began_but_before_its_watcher_is_obeyed(tmp_path):
    path = tmp_path / "control"
    cancel, pause = threading.Event(), threading.Event()
    path.write_text("stop\n")
    os.utime(path, (2000.0, 2000.0))
    watcher = control.ControlWatcher(path, cancel, pause, interval=3600, since=1000.0)
    try:
        watcher.poll()
        assert cancel.is_set()
    finally:
        watcher.close()


def test_the_journal_writer_refuses_a_fifo_and_a_link(tmp_path):
    probe = FifoProbe(tmp_path / "events.jsonl", "writer")
    try:
        with pytest.raises(Exception, match="FIFO"):
            JournalWriter(probe.path, root=tmp_path)
    finally:
        probe.close()
    assert probe.received == 0
    outside = tmp_path / "outside.jsonl"
    outside.write_text("")
    os.symlink(outside, tmp_path / "linked.jsonl")
    with pytest.raises(OSError):
        JournalWriter(tmp_path / "linked.jsonl", root=tmp_path)
    assert outside.read_text() == ""


def test_the_journal_reader_skips_a_fifo_a_nested_line_and_an_endless_line(tmp_path):
    probe = FifoProbe(tmp_path / "fifo.jsonl", "reader")
    try:
        assert JournalReader(probe.path, tmp_path).read() == []
    finally:
        probe.close()
    assert probe.opened == 0
    path = tmp_path / "events.jsonl"
    one, two = encode(Message("info", "one")), encode(Message("info", "two"))
    nested = "[" * 100_000 + "]" * 100_000
    path.write_text(f"{one}\n{nested}\n{two}\n")
    reader = JournalReader(path, tmp_path)
    assert reader.read() == [Message("info", "one"), Message("info", "two")]
    assert reader.offset == path.stat().st_size
    # a line of 3 MiB without its end yet: skipped, and the events after it are read
    with open(path, "a") as fh:
        fh.write("x" * (3 * MAX_LINE))
    assert reader.read() == []
    with open(path, "a") as fh:
        fh.write("y" * 100 + "\n" + one + "\n")
    assert reader.read() == [Message("info", "one")]
    assert reader.read() == []
