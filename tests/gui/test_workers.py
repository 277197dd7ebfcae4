"""A lane of the worker service: results on the GUI thread, stale keys dropped, cancel,
errors."""

from __future__ import annotations

import threading

import pytest

from segstudio.core.errors import ImageReadError
from segstudio.gui.workers import Cancelled, LaneSpec, WorkerService


@pytest.fixture()
def runner(qtbot):
    service = WorkerService(lanes={"test": LaneSpec(2, 2000, 2000)})
    yield service.lane("test")
    service.shutdown()


def test_result_arrives_on_the_gui_thread(qtbot, runner):
    got = []
    gui = threading.get_ident()
    runner.submit(lambda ctx, a, b=0: (a + b, threading.get_ident() == gui), 2, b=3,
                  on_result=lambda v: got.append((v, threading.get_ident() == gui)))
    qtbot.waitUntil(lambda: bool(got), timeout=3000)
    assert got == [((5, False), True)]
    qtbot.waitUntil(lambda: runner.pending() == 0, timeout=3000)


def test_newer_generation_drops_stale_result(qtbot, runner):
    release = threading.Event()
    got, finished = [], []

    def slow(ctx, value):
        release.wait(5)
        return value

    first = runner.submit(slow, "old", key="doc", on_result=got.append,
                          on_finished=finished.append)
    runner.submit(lambda ctx: "new", key="doc", on_result=got.append)
    assert first.cancelled and not runner.is_current(first)
    assert runner.generation("doc") == 2
    release.set()
    qtbot.waitUntil(lambda: runner.pending() == 0, timeout=3000)
    assert got == ["new"] and finished == [True]


def test_cancel_stops_a_job_at_its_next_progress_report(qtbot, runner):
    started = threading.Event()
    steps, progress, finished = [], [], []

    def job(ctx):
        for i in range(1000):
            started.set()
            ctx.progress(i, 1000)
            steps.append(i)
            threading.Event().wait(0.002)
        return "done"

    handle = runner.submit(job, on_result=progress.append,
                           on_progress=lambda d, t: progress.append((d, t)),
                           on_finished=finished.append)
    assert started.wait(3)
    handle.cancel()
    qtbot.waitUntil(lambda: bool(finished), timeout=3000)
    assert finished == [True] and "done" not in progress and len(steps) < 1000


def test_errors_become_messages(qtbot, runner):
    errors, generic = [], []
    runner.error.connect(generic.append)

    def bad(ctx):
        raise ImageReadError("/x/a.png: cannot decode; replace or remove it")

    def check_cancel(ctx):
        raise Cancelled()

    runner.submit(bad, on_error=errors.append)
    runner.submit(bad)
    runner.submit(check_cancel, on_error=errors.append)
    qtbot.waitUntil(lambda: runner.pending() == 0, timeout=3000)
    assert errors == ["/x/a.png: cannot decode; replace or remove it"]
    assert generic == errors


def test_shutdown_with_nothing_running_returns_true(qtbot):
    r = WorkerService().lane("jobs")
    assert r.shutdown(1000)
    assert r.pending() == 0
