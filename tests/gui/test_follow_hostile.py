"""The window following a run from its files when those files are hostile: a FIFO as the
control file or the journal never freezes the event loop (they are not even opened), a
line of 100 000 nested brackets costs only itself, and Stop on a FIFO says why."""

from __future__ import annotations

import os
import stat

import numpy as np

from segstudio.core.project import Project
from segstudio.gui.training.external import ExternalRun
from segstudio.nn.runs.events import Message
from segstudio.nn.runs.journal import encode, journal_path, run_dir
from tests.conftest import write_png
from tests.fifo_probe import FifoProbe


def _project_with_a_run(tmp_path):
    write_png(tmp_path / "imgs" / "a.png", np.zeros((8, 8, 3), np.uint8))
    project = Project.open(tmp_path / "imgs")
    run_id = project.runs.create({"arch": "segnet-basic"}, "cpu")  # "trained" by this process
    return project, project.runs.get(run_id)


def test_fifos_as_control_file_and_journal_never_block_the_window(qtbot, tmp_path):
    project, run = _project_with_a_run(tmp_path)
    folder = run_dir(project, run.id)
    control = FifoProbe(folder / "control", "reader")
    journal = FifoProbe(folder / "events.jsonl", "reader")
    follower = ExternalRun()
    seen = []
    follower.event.connect(seen.append)
    try:
        assert follower.attach(project, run)
        follower.poll()
        follower.stop()  # writes no command through a FIFO: says why instead
        follower.detach()
    finally:
        control.close()
        journal.close()
        project.close()
    assert control.opened == 0 and journal.opened == 0
    texts = [e.text for e in seen if isinstance(e, Message)]
    assert texts[0].startswith(f"following run {run.id}")
    assert texts[1:] == [f"cannot stop run {run.id} (process {os.getpid()}): "
                         f"{folder / 'control'}: is a FIFO (named pipe), not a control file; "
                         "remove it and send the command again"]
    assert stat.S_ISFIFO(os.lstat(folder / "control").st_mode)  # left as it was


def test_a_nested_journal_line_costs_the_window_only_that_line(qtbot, tmp_path):
    project, run = _project_with_a_run(tmp_path)
    path = journal_path(project, run.id)
    path.parent.mkdir(parents=True)
    one, two = encode(Message("info", "one")), encode(Message("info", "two"))
    path.write_text(f"{one}\n{'[' * 100_000}{']' * 100_000}\n{two}\n")
    follower = ExternalRun()
    seen = []
    follower.event.connect(seen.append)
    try:
        assert follower.attach(project, run)
        follower.poll()
        follower.detach()
    finally:
        project.close()
    assert [e.text for e in seen if isinstance(e, Message)][1:] == ["one", "two"]
