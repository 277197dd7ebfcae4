"""The window's worker service: project generations, close = cancel + join, lanes.

Real Qt objects and threads; every wait is for an event (a job's flag, a sentinel
job's result arriving after everything queued before it), never a clock.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt

from segstudio.core.project import Project
from segstudio.core.sample import TREE
from segstudio.gui.project_controller import ProjectController
from segstudio.gui.workers import LANES, LaneSpec, WorkerService

from .conftest import open_and_wait
from .editor_helpers import drag, open_editor, view_point


def _drain(qtbot, service: WorkerService, lane: str = "sentinel") -> None:
    """Deliver everything queued so far: the bus is FIFO, so once a job submitted now
    reports, every signal emitted before it has been handled."""
    seen = []
    service.lane(lane).submit(lambda ctx: None, on_finished=seen.append)
    qtbot.waitUntil(lambda: bool(seen), timeout=10000)


def _recorder():
    got: dict[str, list] = {"result": [], "error": [], "progress": [], "item": [],
                            "finished": []}
    callbacks = {f"on_{name}": got[name].append for name in ("result", "error", "item",
                                                              "finished")}
    callbacks["on_progress"] = lambda d, t: got["progress"].append((d, t))
    return got, callbacks


def test_a_result_of_an_older_generation_is_never_delivered(qtbot):
    # a lane that closing does not cancel (like the saves): its job runs to its end
    # after the bump and returns a value; the value must still never be delivered
    service = WorkerService(lanes={"keep": LaneSpec(1, 5000, 5000, cancel_on_close=False),
                                   "plain": LaneSpec(1, 5000, 5000),
                                   "done": LaneSpec(1, 5000, 5000)})
    gate, started = threading.Event(), threading.Event()

    def job(ctx):
        started.set()
        gate.wait(10)
        ctx.item("one image")
        ctx.progress(1, 2)
        return "old result"

    old, cb = _recorder()
    handle = service.lane("keep").submit(job, **cb)
    # an unbound job (the program's, not the project's) lives through generations
    free, free_cb = _recorder()
    service.lane("plain").submit(lambda ctx: gate.wait(10) and "devices", bound=False, **free_cb)
    # a job whose result is already on its way when the generation ends
    queued, queued_cb = _recorder()
    service.lane("done").submit(lambda ctx: "sent before the bump", **queued_cb)
    assert service.lane("done").wait(10000)        # finished; its signals wait in the queue
    assert started.wait(10)
    assert service.generation == 0
    service.new_generation()
    assert not handle.cancelled                     # not cancelled: it is only stale
    assert not service.is_current(handle)
    gate.set()
    assert service.lane("keep").wait(10000) and service.lane("plain").wait(10000)
    assert old["finished"] == [] and free["finished"] == []
    new, new_cb = _recorder()
    service.lane("keep").submit(lambda ctx: "new result", **new_cb)
    qtbot.waitUntil(lambda: bool(new["finished"]), timeout=10000)
    _drain(qtbot, service)

    assert old == {"result": [], "error": [], "progress": [], "item": [], "finished": [True]}
    assert free["result"] == ["devices"] and free["finished"] == [False]
    assert queued["result"] == [] and queued["finished"] == [True]
    assert new["result"] == ["new result"] and new["finished"] == [False]
    service.shutdown()


def test_errors_of_an_older_generation_are_dropped_too(qtbot):
    service = WorkerService(lanes={"keep": LaneSpec(1, 5000, 5000, cancel_on_close=False)})
    gate = threading.Event()
    lane = service.lane("keep")
    generic = []
    lane.error.connect(generic.append)
    got, cb = _recorder()

    def bad(ctx):
        gate.wait(10)
        raise OSError(5, "input/output error", "/x/mask.png")

    lane.submit(bad, **cb)
    lane.submit(bad)                                  # no on_error: the lane's signal
    service.new_generation()
    gate.set()
    assert lane.wait(10000)
    _drain(qtbot, service)
    assert got["error"] == [] and generic == [] and got["finished"] == [True]
    service.shutdown()


def _image_folder(tmp_path, n: int = 2):
    import cv2

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f"img_{i}.png"), np.full((16, 24, 3), 40 * i, np.uint8))
    return folder


def test_closing_a_project_cancels_and_joins_every_lane(qtbot, tmp_path):
    controller = ProjectController()
    folder = _image_folder(tmp_path)
    opened = []
    controller.project_opened.connect(opened.append)
    controller.open(folder)
    qtbot.waitUntil(lambda: bool(opened), timeout=20000)
    workers = controller.workers
    jobs = workers.lane("jobs")                       # two threads
    running, ended = threading.Event(), threading.Event()
    second_running = threading.Event()
    release_second = threading.Event()

    def until_cancelled(ctx):
        running.set()
        try:
            for i in range(10 ** 9):
                ctx.progress(i % 100, 100)           # raises Cancelled once cancelled
                threading.Event().wait(0.001)
        finally:
            ended.set()

    def ignores_cancel(ctx):
        # a job that never looks at ctx: closing cannot stop it, only wait for it
        second_running.set()
        release_second.wait(10)
        return "late"

    a, a_cb = _recorder()
    b, b_cb = _recorder()
    c, c_cb = _recorder()
    jobs.submit(until_cancelled, **a_cb)
    jobs.submit(ignores_cancel, **b_cb)
    queued = jobs.submit(lambda ctx: "never", **c_cb)   # waits for a thread
    assert running.wait(10) and second_running.wait(10)
    qtbot.waitUntil(lambda: bool(a["progress"]), timeout=10000)
    # the blocked job ends from another thread while close waits (no clock involved)
    threading.Thread(target=lambda: (ended.wait(10), release_second.set()),
                     daemon=True).start()
    closed = []
    controller.project_closed.connect(lambda: closed.append(
        {k: list(v) for k, v in (("a", a["finished"]), ("b", b["finished"]),
                                 ("c", c["finished"]))}))
    progress_at_close = len(a["progress"])

    controller.close_project()

    assert ended.is_set() and release_second.is_set()   # joined: both jobs are over
    assert queued.job is None and c["finished"] == [True]   # never started
    # every task of the project is settled before the project is gone
    assert closed == [{"a": [True], "b": [True], "c": [True]}]
    assert controller.project is None and jobs.pending() == 0
    _drain(qtbot, workers)
    assert len(a["progress"]) == progress_at_close
    assert a["result"] == b["result"] == c["result"] == []
    assert a["finished"] == b["finished"] == [True]       # once each, nothing later
    controller.shutdown()


def test_shutdown_cancels_and_nothing_is_delivered_afterwards(qtbot):
    service = WorkerService(lanes={"a": LaneSpec(1, 5000, 5000)})
    gate = threading.Event()
    got, cb = _recorder()
    service.lane("a").submit(lambda ctx: (gate.wait(10), ctx.check(), "x")[2], **cb)
    threading.Thread(target=lambda: gate.set(), daemon=True).start()
    assert service.shutdown()
    QCoreApplication.processEvents()   # what the job sent before it ended is handled here
    assert got["result"] == [] and got["progress"] == [] and got["finished"] == []


def test_a_lane_runs_at_most_its_threads_and_lanes_do_not_wait_for_each_other(qtbot):
    service = WorkerService(lanes={"two": LaneSpec(2, 5000, 5000),
                                   "other": LaneSpec(1, 5000, 5000)})
    two = service.lane("two")
    assert two.max_threads == 2
    gate = threading.Event()
    lock = threading.Lock()
    active, peak, started = [0], [0], []

    def job(ctx, i):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            started.append(i)
        gate.wait(10)
        with lock:
            active[0] -= 1
        return i

    results = []
    handles = [two.submit(job, i, on_result=results.append) for i in range(4)]
    qtbot.waitUntil(lambda: len(started) == 2, timeout=10000)
    assert two.pool.activeThreadCount() == 2
    assert sum(1 for h in handles if h.job is not None and not h.job.started) == 2
    # the other lane has its own threads: its job is done while "two" is full
    other = []
    service.lane("other").submit(lambda ctx: "other", on_result=other.append)
    qtbot.waitUntil(lambda: other == ["other"], timeout=10000)
    assert len(started) == 2 and not results
    gate.set()
    qtbot.waitUntil(lambda: sorted(results) == [0, 1, 2, 3], timeout=10000)
    assert peak[0] == 2
    service.shutdown()


def test_the_image_and_its_masks_load_on_the_service_lanes(qtbot, tmp_path):
    from segstudio.gui import document

    assert not any(hasattr(document, n) for n in ("_side_reader", "ThreadPoolExecutor"))
    controller = ProjectController()
    folder = _image_folder(tmp_path)
    with Project.open(folder) as p:
        rec = p.images()[1]
        p.save_mask(rec, np.full((16, 24), 1, np.uint8), "corrected")
    shown = []
    controller.document_loaded.connect(shown.append)
    controller.records_changed.connect(lambda recs: controller.show_image(recs[1]))
    controller.open(folder)
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    doc = shown[-1]
    assert doc.ok and doc.mask is not None and int(doc.mask.max()) == 1
    assert {"jobs", "loader", "labels"} <= set(controller.workers.lanes)
    controller.shutdown()


def test_closing_the_project_still_writes_a_save_queued_behind_another(
        qtbot, window, street_project):
    folder, _images, _labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    ed.saver.set_interval(10 ** 7)                  # only the close saves here
    save_lane = window.workers.lane("save")
    assert save_lane is ed.saver.runner and not LANES["save"].cancel_on_close
    # the save thread is busy when the project closes: the flush's write waits in the
    # lane's queue and must be written, not cancelled, before the project closes
    gate = threading.Event()
    save_lane.submit(lambda ctx: gate.wait(30))
    before = ed.saver.saves_submitted

    def release_once_queued():
        while ed.saver.saves_submitted == before and not gate.is_set():
            threading.Event().wait(0.005)
        gate.set()

    qtbot.keyClick(canvas, Qt.Key.Key_R)
    window.class_panel.set_active_class(TREE)
    drag(qtbot, canvas, [view_point(canvas, 10.5, 10.5), view_point(canvas, 30.5, 30.5)])
    painted = canvas.mask().copy()
    rec = window.controller.current
    updates = []
    window.controller.record_updated.connect(updates.append)
    threading.Thread(target=release_once_queued, daemon=True).start()

    window.close_project()                         # Ctrl+W

    assert window.controller.project is None and ed.saver.saves_submitted == before + 1
    _drain(qtbot, window.workers)
    assert updates == []                           # the closed project's result is dropped
    with Project.open(folder, scan=False) as p:
        assert np.array_equal(p.load_mask(p.image(rec.id)), painted)
        assert p.image(rec.id).status == "corrected"
    open_and_wait(qtbot, window, folder)           # and the next project works as before
