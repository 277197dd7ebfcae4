"""The review queue in the window: step through the regions the model most likely got
wrong, across the project, and answer each with one key.

``ReviewQueue(controller, editor, canvas, notifier, host, parent)`` is made once by the
main window (``window.review``).  It adds the Review dock (:mod:`.dock`) and Ctrl+R,
which shows the dock and gives it the keys.  The queue comes from
``.segstudio/proposals/`` (``segstudio propose`` or *Propose regions*, computed on the
"predict-many" lane: :func:`segstudio.nn.train.proposals.propose`), and the images of the
next regions are read ahead on the "jobs" lane, so the next region shows at once.

Each region shown also shows its image on the canvas (``show_requested``, which the
window sends to the browser), where plain painting works as ever.  An answer --
Enter / Y accepts the prediction there, 1-9 or a class button gives the whole region
that class -- is one undo step of that image's edit session (the editor's; an image
without a human mask starts from an all-unlabelled mask and becomes *partial*), and
is saved at once.  Space skips, Backspace goes back.  After every K answers
(``core.review.ROUND_REGIONS`` by default, a project setting) the queue asks for a
training round (``round_requested``: the window starts the training UI's run, which
continues the active model), and when a segmentation run completes the proposals are
made again with the new model and the queue goes on.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QScrollArea

from ...core import proposal_store as store
from ...core.errors import SegStudioError
from ...core.project import ImageRecord
from ...core.regions import Region, label_region
from ...core.review import ROUND_REGIONS, ROUND_SETTING, ReviewState
from ...nn.runs.events import Finished, RunStarted
from .crops import region_views
from .dock import VIEW, ReviewDock

if TYPE_CHECKING:
    from ..collaborators import DockHost, Notifier
    from ..editor import EditorController
    from ..project_controller import ProjectController
    from ..widgets.canvas import Canvas

CACHE_IMAGES = 8  # images (with their superpixels and prediction) kept for the views
READ_AHEAD = 3  # images of the next regions read ahead


class ReviewQueue(QObject):
    show_requested = Signal(object)  # ImageRecord of the region on screen
    round_requested = Signal()  # enough answers since the last round: train one

    def __init__(self, controller: ProjectController, editor: EditorController,
                 canvas: Canvas, notifier: Notifier, host: DockHost, parent: QObject):
        super().__init__(parent)
        self.controller, self.editor, self.canvas = controller, editor, canvas
        self.notifier = notifier
        self.dock = ReviewDock()
        # scrolled, so the dock (a tab beside the image browser) may be shorter than
        # its widgets on a small screen
        scroll = QScrollArea()
        scroll.setWidget(self.dock)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.dock_widget = host.add_dock(scroll, "Review queue", "dock-review",
                                         Qt.DockWidgetArea.LeftDockWidgetArea)
        self.action = QAction("&Review regions", parent)
        self.action.setShortcut(QKeySequence("Ctrl+R"))
        self.action.setStatusTip("Show the review queue and give it the keys")
        self.action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.action.triggered.connect(self.focus)
        host.addAction(self.action)
        self.reader = controller.workers.lane("jobs")
        self.proposer = controller.workers.lane("predict-many")
        self.state = ReviewState()
        self.cache: OrderedDict[str, tuple[np.ndarray, store.ImageProposals]] = OrderedDict()
        self.auto_rounds = True
        self.round_size = ROUND_REGIONS
        self.training = False  # a run is under way (the window tells)
        self._semantic_run = True
        self.computing = False
        self._order: dict[str, int] = {}
        self._connect()

    def _connect(self) -> None:
        d, c = self.dock, self.controller
        d.accept_requested.connect(self.accept)
        d.class_requested.connect(self.label)
        d.skip_requested.connect(self.skip)
        d.back_requested.connect(self.back)
        d.refresh_requested.connect(self.refresh)
        d.round_settings_changed.connect(self._round_settings)
        c.project_opened.connect(self._opened)
        c.project_closed.connect(self._closed)
        c.classes_changed.connect(d.set_classes)
        c.records_changed.connect(self._records)

    @property
    def project(self):
        return self.controller.project

    def focus(self) -> None:
        self.dock_widget.show()
        self.dock_widget.raise_()
        self.dock.setFocus()
        self.show_current()

    # -- the queue -----------------------------------------------------------------------
    def _opened(self, project) -> None:
        self.state = ReviewState()
        self.cache.clear()
        self.round_size = int(project.settings.get(ROUND_SETTING, ROUND_REGIONS))
        self.dock.set_rounds(self.auto_rounds, self.round_size)
        self.dock.show_empty("Loading the review queue …", "")

        def job(ctx):
            from ...nn.train.proposals import still_open

            queue = store.load_queue(project)
            return None if queue is None else still_open(project, queue)

        self.reader.submit(job, key="review-queue", on_result=self._loaded,
                           on_error=lambda msg: self._loaded(None, msg))

    def _closed(self) -> None:
        self.state = ReviewState()
        self.cache.clear()
        self.computing = False
        self.dock.show_empty("Open a project to review regions", "")

    def _records(self, records: list[ImageRecord]) -> None:
        self._order = {r.relpath: i for i, r in enumerate(records)}

    def _loaded(self, regions: list[Region] | None, error: str | None = None) -> None:
        if regions is None:
            self.state = ReviewState()
            why = f" ({error})" if error else ""
            self.dock.show_empty("No regions proposed yet" + why,
                                 "Press Propose regions: the active model scores every image's "
                                 "superpixels, and the likeliest mistakes come first.")
            return
        self.state.replace(regions)
        self.show_current()

    def refresh(self) -> bool:
        """Make the proposals again with the active model, on a worker."""
        project = self.project
        if project is None:
            return False
        if not project.settings.get("active_checkpoint", None):
            self.notifier.show_message("No model to propose regions with yet: label a few "
                                       "images and train one (Ctrl+T)")
            return False
        self.computing = True
        self.dock.refresh.setEnabled(False)
        self.dock.status.setText("Proposing regions …")

        def job(ctx):
            from ...nn.train.proposals import propose, still_open

            queue = propose(project, device="cpu", progress=ctx.progress)
            return queue, still_open(project, queue)

        def progress(done: int, total: int) -> None:
            self.dock.status.setText(f"Proposing regions … {done}/{total} images")

        def done(result) -> None:
            queue, regions = result
            self.dock.status.setText(f"{len(queue.regions)} regions proposed from "
                                     f"{queue.images} images")
            self.cache.clear()  # the new model's predictions
            self.controller.refresh_records()  # the images are predicted now
            doc = self.controller.document
            if doc is not None and doc.ok and doc.large is None:
                self.controller.reload_current()  # its new prediction layer
            self._loaded(regions)

        def failed(msg: str) -> None:
            self.dock.status.setText(f"No proposals: {msg}")
            self.notifier.show_message(f"Proposing regions failed: {msg}")

        def finished(_cancelled: bool) -> None:
            self.computing = False
            self.dock.refresh.setEnabled(True)

        self.proposer.submit(job, key="proposals", on_result=done, on_error=failed,
                             on_progress=progress, on_finished=finished)
        return True

    # -- showing -------------------------------------------------------------------------
    def _record(self, relpath: str) -> ImageRecord | None:
        return next((r for r in self.controller.records if r.relpath == relpath), None)

    def show_current(self) -> None:
        region = self.state.current()
        where = self.state.where(self._order, len(self.controller.records))
        self.dock.set_answerable(region is not None)
        if region is None:
            self.dock.show_empty(where, "Every proposed region is answered or skipped; "
                                        "Propose regions makes a new queue.")
            return
        rec = self._record(region.relpath)
        if rec is not None:
            doc = self.controller.document
            if doc is None or doc.rec.id != rec.id:
                self.show_requested.emit(rec)
            elif doc.large is None:
                self.canvas.centerOn(region.centre[1], region.centre[0])
        data = self.cache.get(region.relpath)
        if data is None:
            self.dock.show_region(where, f"{region.relpath}: loading …", None)
            self._read(region.relpath)
        else:
            self._render(region, where, data)
        self._read_ahead()

    def _render(self, region: Region, where: str, data) -> None:
        image, props = data
        table = self.project.classes if self.project is not None else None
        palette = table.palette() if table is not None else np.zeros((256, 3), np.uint8)
        views = region_views(image, props.prediction, props.spmap, region.segment, palette,
                             (VIEW.width(), VIEW.height()))
        info = table.by_id(region.predicted) if table is not None else None
        name = info.name if info is not None else str(region.predicted)
        self.dock.show_region(where, f"{region.relpath}: predicted {name}; uncertainty "
                                     f"{region.uncertainty:.2f}, {region.pixels} pixels", views)

    def _read(self, relpath: str) -> None:
        project, rec = self.project, self._record(relpath)
        if project is None or rec is None or relpath in self.cache:
            return

        def job(ctx):
            props = store.load_image(project, rec)
            if props is None:
                raise SegStudioError(f"{relpath}: its proposals are gone; propose again")
            return project.load_image(rec), props

        def done(data) -> None:
            self.cache[relpath] = data
            while len(self.cache) > CACHE_IMAGES:
                self.cache.popitem(last=False)
            current = self.state.current()
            if current is not None and current.relpath == relpath:
                self._render(current, self.state.where(self._order, len(self.controller.records)),
                             data)

        self.reader.submit(job, key=f"review-read:{relpath}", on_result=done,
                           on_error=self.notifier.show_message)

    def _read_ahead(self) -> None:
        wanted: list[str] = []
        for region in self.state.regions[self.state.position:]:
            if region.relpath not in wanted:
                wanted.append(region.relpath)
            if len(wanted) > READ_AHEAD:
                break
        for rel in wanted:
            if rel in self.cache:
                self.cache.move_to_end(rel)
            else:
                self._read(rel)

    # -- answering -----------------------------------------------------------------------
    def accept(self) -> bool:
        """Enter / Y: the prediction's pixels for the region on screen."""
        region = self.state.current()
        data = self.cache.get(region.relpath) if region is not None else None
        if data is not None and data[1].prediction is None:
            self.notifier.show_message("these proposals hold no prediction; propose again")
            return False
        pred = data[1].prediction if data is not None else None
        return self._answer(lambda mask, sp, seg: label_region(
            mask, sp, seg, source=pred, name="Review: accept the prediction"))

    def label(self, class_id: int) -> bool:
        """1-9 or a class button: the whole region is ``class_id``."""
        table = self.project.classes if self.project is not None else None
        info = table.by_id(class_id) if table is not None else None
        if info is None or info.ignore:
            return False
        return self._answer(lambda mask, sp, seg: label_region(
            mask, sp, seg, class_id, name=f"Review: {info.name}"))

    def skip(self) -> None:
        self.state.skip()
        self.show_current()

    def back(self) -> None:
        self.state.back()
        self.show_current()

    def _answer(self, write) -> bool:
        region = self.state.current()
        project = self.project
        if region is None or project is None:
            return False
        data = self.cache.get(region.relpath)
        rec = self._record(region.relpath)
        if data is None or rec is None:
            self.notifier.show_message("the region is still loading; answer again in a moment")
            return False
        spmap = data[1].spmap
        try:
            session = self._write(rec, lambda mask: write(mask, spmap, region.segment))
        except (SegStudioError, ValueError) as exc:
            self.notifier.show_message(str(exc))
            return False
        if session is None:
            return False
        self.editor.saver.save(session)  # saved at once
        self.state.answer()
        self._maybe_round()
        self.show_current()
        return True

    def _write(self, rec: ImageRecord, op) -> Any:
        """Apply ``op(mask) -> Patch`` to the image's edit session as one undo step (the
        editor's when it is on screen); returns the session."""
        ed = self.editor
        doc = self.controller.document
        if doc is not None and doc.ok and doc.rec.id == rec.id:
            if doc.large is not None:
                raise SegStudioError("large images are not in the review queue")
            if ed.sessions.get(rec.id) is None and doc.mask is None:
                empty = np.full((doc.height, doc.width), self._unlabelled(), np.uint8)
                if not self.controller.set_mask(rec.id, empty):
                    return None
                self._partial(ed.sessions.create(doc.rec, doc.mask, False))
                ed.sessions.activate(rec.id)
            ed.apply(op, image_id=rec.id)
            return ed.sessions.get(rec.id)
        session = ed.sessions.get(rec.id)
        if session is None:
            mask = self.project.load_mask(rec) if rec.has_human_mask else None
            on_disk = mask is not None
            if mask is None:
                mask = self.project.empty_mask(rec)
            session = ed.sessions.create(rec, mask, on_disk)
            if not on_disk:
                self._partial(session)
        patch = op(session.mask)
        if patch is not None:
            session.push(patch)
        return session

    @staticmethod
    def _partial(session) -> None:
        session.status = "partial"  # a mask of answers only: partially labelled

    def _unlabelled(self) -> int:
        return self.project.classes.unlabelled_value()

    # -- rounds --------------------------------------------------------------------------
    def _round_settings(self, auto: bool, every: int) -> None:
        self.auto_rounds, self.round_size = auto, every
        if self.project is not None:
            try:
                self.project.settings.set(ROUND_SETTING, every)
            except SegStudioError as exc:
                self.notifier.show_message(str(exc))

    def _maybe_round(self) -> None:
        if not self.auto_rounds or self.training:
            return
        if self.state.answers_since_round >= self.round_size:
            self.state.round_done()
            self.notifier.show_message(f"{self.round_size} regions answered: a training round "
                                       "starts; the queue goes on")
            self.round_requested.emit()

    def set_training(self, running: bool) -> None:
        self.training = running

    def training_event(self, ev) -> None:
        """The training UI's events: a completed segmentation run refreshes the queue."""
        if isinstance(ev, RunStarted):
            self._semantic_run = ev.config.get("task", "semantic") == "semantic"
        elif isinstance(ev, Finished) and ev.status == "completed" and self._semantic_run \
                and self.project is not None and (self.state.regions or self.dock.isVisible()):
            self.refresh()
