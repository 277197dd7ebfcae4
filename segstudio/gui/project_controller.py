"""The open project and the image on screen, as seen by the window.

The controller owns the :class:`Project`, the list of image records, the
current :class:`ImageDocument` and the overlay style; it runs every slow step
(opening and scanning, image decoding, class remapping) on workers and tells
the widgets through signals.  Widgets never talk to each other directly: the
main window wires them to this object.

After an image is shown, its neighbours (``controller.neighbours(rec)``, set
by the window to the browser's order) are prefetched into a small cache
(:mod:`.prefetch`), so the next image shows without waiting for its decode.
``document_hooks`` (callables taking the document and returning the mask to
show instead, or None) run on every document just before ``document_loaded``
(the editor's in-memory mask replaces the file's).

The controller is the only writer of the document on screen: a new record
(:meth:`update_record`, the frozen records change by ``dataclasses.replace``),
a new mask (:meth:`set_mask`) or prediction (:meth:`set_prediction`) are
written here and announced (``record_updated``, ``mask_replaced``,
``prediction_replaced``); the canvas and the browser render what they are
told.  A document handed over refuses every other write
(:class:`~.document.ImageDocument`).
``about_to_close`` is emitted before a project closes and ``masks_rewriting``
before a class deletion rewrites every mask file (the editor saves first).

The controller owns the window's :class:`~.workers.WorkerService`
(``workers``), handed to every feature; opening and closing a project start a
new generation there, so no result of the project before ever reaches a
callback, and closing waits for every lane before the project closes.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from ..core.browse import natural_key
from ..core.class_delete import plan_delete
from ..core.classes import BACKGROUND_SETTING, ClassTable
from ..core.errors import ClassTableError, SegStudioError
from ..core.project import ImageRecord, Project, resolve_project_dir
from .document import SHOWN, ImageDocument, load_document
from .overlay import OverlayStyle
from .prefetch import Prefetcher
from .workers import WorkerService

STYLE_SETTING = "gui.overlay"
LAST_IMAGE_SETTING = "gui.last_image"
# ids of the classes marked "background" (the project's classes table has no column
# for the flag): a list of ids; absent in projects from before the flag


def project_classes(project: Project) -> ClassTable:
    """The project's class table with the user's background flags.  A project that
    never stored them marks the class named "background" (what a new project starts
    with), shown ticked in the class panel; no class is background by its id."""
    table = project.classes
    ids = project.get_setting(BACKGROUND_SETTING, None)
    if not isinstance(ids, list):
        info = table.by_name("background")
        ids = [] if info is None else [info.id]
    return table.with_background(i for i in ids if isinstance(i, int))


def save_project_classes(project: Project, table: ClassTable) -> None:
    project.set_classes(table)
    project.set_setting(BACKGROUND_SETTING, table.background_ids)


def _write(doc: ImageDocument, **fields) -> None:
    """The owner's write into a document (also one already on screen)."""
    for name, value in fields.items():
        if name not in ImageDocument.__dataclass_fields__:
            raise AttributeError(f"ImageDocument has no field {name!r}")
        object.__setattr__(doc, name, value)


def _hand_over(doc: ImageDocument) -> None:
    """From now on only :func:`_write` changes ``doc``."""
    object.__setattr__(doc, SHOWN, True)


def project_dir_writable(folder: str | os.PathLike, project_dir: str | os.PathLike | None) -> bool:
    """Whether a project for ``folder`` can be kept where it would go by default."""
    try:
        _, pdir = resolve_project_dir(Path(folder), project_dir)
    except SegStudioError:
        return False
    if pdir.exists():
        return pdir.is_dir() and os.access(pdir, os.W_OK)
    parent = pdir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent.is_dir() and os.access(parent, os.W_OK)


class ProjectController(QObject):
    opening = Signal(str)               # folder being opened
    open_progress = Signal(int, int)    # files scanned, total
    open_failed = Signal(str)
    project_opened = Signal(object)     # Project
    project_closed = Signal()
    records_changed = Signal(list)      # every ImageRecord (new list)
    record_updated = Signal(object)     # one ImageRecord changed
    classes_changed = Signal(object)    # ClassTable
    style_changed = Signal(object)      # OverlayStyle
    current_changed = Signal(object)    # ImageRecord requested (or None)
    document_loaded = Signal(object)    # ImageDocument on screen next
    mask_replaced = Signal(object)      # ImageDocument on screen with a new mask array
    prediction_replaced = Signal(object)  # ImageDocument on screen with a new prediction
    message = Signal(str)               # one-line note or error for the status bar
    busy = Signal(str, int, int)        # label, done, total of a long task (total 0: finished)
    about_to_close = Signal()           # the project is about to close (save what is open)
    masks_rewriting = Signal()          # every mask file is about to be rewritten
    large_window_changed = Signal(object)  # a large ImageDocument's window or pyramid changed

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.project: Project | None = None
        self.records: list[ImageRecord] = []
        self.current: ImageRecord | None = None
        self.document: ImageDocument | None = None
        self.style = OverlayStyle()
        self.workers = WorkerService(self)
        self.runner = self.workers.lane("jobs")
        # images load on their own lane so a long job never delays the next image
        self.loader = self.workers.lane("loader")
        self.labels = self.workers.lane("labels")  # their masks, read beside the decode
        self.runner.error.connect(self.message)
        self.loader.error.connect(self.message)
        self._save_style_timer = QTimer(self, singleShot=True, interval=400)
        self._save_style_timer.timeout.connect(self._save_style_later)
        self._style_lock = threading.Lock()
        self.remapping = False
        self.remap_notes: list[str] = []
        self.name_keys: dict[str, tuple] = {}  # natural sort keys by relpath
        self.document_hooks: list = []
        self.prefetch = Prefetcher(self.workers, self)
        self.prefetch_enabled = True
        self.neighbours = None  # rec -> [records to prefetch], set by the window

    # -- opening and closing ------------------------------------------------------
    def open(self, folder: str | os.PathLike, project_dir: str | os.PathLike | None = None) -> None:
        """Open (and scan) ``folder`` on a worker; project_opened or open_failed follows."""
        self.close_project()
        folder = str(folder)
        self.opening.emit(folder)

        def job(ctx):
            project = Project.open(folder, project_dir, progress=ctx.progress)
            try:
                ctx.check()
                records = project.images()
                # natural-order keys made here, off the GUI thread
                keys = {r.relpath: natural_key(r.relpath) for r in records}
                return project, records, keys
            except BaseException:
                project.close()
                raise

        self.runner.submit(job, key="open", on_result=self._opened,
                           on_error=self.open_failed.emit, on_progress=self.open_progress.emit)

    def _opened(self, result) -> None:
        project, records, self.name_keys = result
        self.project = project
        self.records = records
        self.style = OverlayStyle.from_json(project.get_setting(STYLE_SETTING, None))
        self.project_opened.emit(project)
        self.classes_changed.emit(project_classes(project))
        self.style_changed.emit(self.style)
        self.records_changed.emit(list(records))

    def close_project(self) -> None:
        """Stop the project's work and close it (quick when nothing runs)."""
        if self.project is not None:
            self.about_to_close.emit()
        # a save still waiting (timer or queued job) is done here, after the jobs stop
        save_style = self._save_style_timer.isActive() or self.runner.pending("style") > 0
        self._save_style_timer.stop()
        self.prefetch.clear()
        # every job of this project stops, and the lanes are waited for (the mask
        # writes run on); nothing of it is delivered after this
        self.workers.close_generation(stop=self.project is not None)
        if self.project is None:
            return
        if save_style:
            self._save_style()
        try:
            if self.current is not None:
                self.project.set_setting(LAST_IMAGE_SETTING, self.current.relpath)
        except SegStudioError:
            pass
        self.project.close()
        self.project = None
        self.records = []
        self.current = None
        self.document = None
        self.remapping = False
        self.project_closed.emit()

    def shutdown(self) -> None:
        self.close_project()
        self.prefetch.shutdown()
        self.workers.shutdown()

    # -- images ---------------------------------------------------------------------
    def show_image(self, rec: ImageRecord | None) -> None:
        """Load ``rec`` off the GUI thread; a newer request drops an older result."""
        if self.project is None:
            return
        self.current = rec
        self.current_changed.emit(rec)
        if rec is None:
            self.loader.cancel("document")
            self.prefetch.want(None)
            self.document = None
            self.document_loaded.emit(None)
            return
        doc = self.prefetch.take(self.project, rec)
        if doc is not None:
            self.loader.cancel("document")
            self.prefetch.want(None)
            self._loaded(doc)
            return
        if self.prefetch.want(rec.id, self._prefetched, lambda: self._load(rec)):
            self.loader.cancel("document")  # its load is under way: wait for that one
            return
        self._load(rec)

    def _load(self, rec: ImageRecord) -> None:
        if self.project is None or self.current is None or self.current.id != rec.id:
            return
        project, style = self.project, self.style
        outlines, difference = style.outline, style.difference
        self.loader.submit(
            lambda ctx: load_document(project, rec, outlines, difference, ctx.check,
                                      self.labels.spawn),
            key="document", on_result=self._loaded, priority=10)

    def _prefetched(self, doc: ImageDocument) -> None:
        if self.current is not None and self.current.id == doc.rec.id:
            _write(doc, rec=self.current)
            self._loaded(doc)

    def _loaded(self, doc: ImageDocument) -> None:
        for hook in self.document_hooks:
            mask = hook(doc)
            if mask is not None:
                same = doc.mask is not None and np.array_equal(doc.mask, mask)
                _write(doc, mask=mask)
                if not same:  # the outline/difference layers were made from the file's mask
                    doc.derived.outline_mask = None
                    doc.derived.difference = None
        _hand_over(doc)
        self.document = doc
        self.document_loaded.emit(doc)
        if doc.large is not None and doc.large.building:
            from .large_controller import start_pyramid

            start_pyramid(self, doc)
        if doc.error:
            self.message.emit(doc.error)
        for warning in doc.warnings:
            self.message.emit(warning)
        self._prefetch_neighbours(doc.rec)

    def _prefetch_neighbours(self, rec: ImageRecord) -> None:
        if not self.prefetch_enabled or self.neighbours is None or self.project is None:
            return
        self.prefetch.request(self.project, [r for r in self.neighbours(rec) if r is not None],
                              self.style.outline, self.style.difference)

    def reload_current(self) -> None:
        if self.current is not None and self.project is not None:
            self.show_image(self.project.image(self.current.id))

    def last_image(self) -> str | None:
        return None if self.project is None else self.project.get_setting(LAST_IMAGE_SETTING)

    def refresh_records(self) -> None:
        """Re-read the records (status, uncertainty, IoU changed elsewhere)."""
        if self.project is None:
            return
        project = self.project
        self.runner.submit(lambda ctx: project.images(), key="records",
                           on_result=self._records_loaded)

    def _records_loaded(self, records: list[ImageRecord]) -> None:
        self.records = records
        self.records_changed.emit(list(records))

    def update_record(self, rec: ImageRecord) -> None:
        """A record changed (e.g. the editor saved a mask): keep it, in the document on
        screen too, and tell the views (the browser, the status readout)."""
        self.records = [rec if r.id == rec.id else r for r in self.records]
        self.prefetch.invalidate(rec.id)
        if self.current is not None and self.current.id == rec.id:
            self.current = rec
        doc = self.document
        if doc is not None and doc.rec.id == rec.id:
            _write(doc, rec=rec)
        self.record_updated.emit(rec)

    def _shown_document(self, image_id: int) -> ImageDocument | None:
        doc = self.document
        return doc if doc is not None and doc.ok and doc.rec.id == image_id else None

    def set_mask(self, image_id: int, mask: np.ndarray | None) -> bool:
        """Replace the human mask array of the image on screen (e.g. editing starts from
        the prediction; None: no mask); False when another image is shown."""
        doc = self._shown_document(image_id)
        if doc is None:
            return False
        if mask is not None and mask.shape != (doc.height, doc.width):
            raise ValueError(f"mask {mask.shape} does not fit the image "
                             f"{doc.height}x{doc.width}")
        _write(doc, mask=None if mask is None else np.ascontiguousarray(mask, np.uint8))
        self.mask_replaced.emit(doc)
        return True

    def set_prediction(self, image_id: int, prediction: np.ndarray | None,
                       uncertainty: np.ndarray | None = None) -> bool:
        """A new prediction (and entropy map) of the image on screen; False when another
        image is shown or the labels do not fit it."""
        doc = self._shown_document(image_id)
        if doc is None or (prediction is not None
                           and prediction.shape != (doc.height, doc.width)):
            return False
        _write(doc, prediction=prediction, uncertainty=uncertainty)
        self.prediction_replaced.emit(doc)
        return True

    # -- overlay style -----------------------------------------------------------------
    def set_style(self, style: OverlayStyle) -> None:
        self.style = style
        self.style_changed.emit(style)
        if self.project is not None:
            self._save_style_timer.start()

    def _save_style_later(self) -> None:
        """The debounced save: a SQLite write, done on a worker."""
        project = self.project
        if project is not None:
            self.runner.submit(lambda ctx: self._write_style(project), key="style")

    def _write_style(self, project: Project) -> None:
        # each write stores the style current when it runs: the last write is the newest
        with self._style_lock:
            project.set_setting(STYLE_SETTING, self.style.to_json())

    def _save_style(self) -> None:
        """Save now, on the calling thread."""
        if self.project is not None:
            try:
                self._write_style(self.project)
            except SegStudioError as exc:
                self.message.emit(str(exc))

    # -- classes ---------------------------------------------------------------------------
    def set_classes(self, table: ClassTable) -> bool:
        """Save an edited class table (add, rename, recolour, reorder)."""
        if self.project is None or self.remapping:
            return False
        try:
            save_project_classes(self.project, table)
        except (SegStudioError, OSError) as exc:
            self.message.emit(f"the class table was not saved: {exc}")
            return False
        self.classes_changed.emit(project_classes(self.project))
        return True

    def classes(self) -> ClassTable | None:
        """The open project's classes with their background flags."""
        return None if self.project is None else project_classes(self.project)

    def import_class_table(self, path: str | os.PathLike) -> bool:
        """Adopt the class table of a JSON file (CamVid's ``classes.json`` shape); a table
        that would drop ids existing masks use is refused with a message."""
        from ..core.importmasks import apply_class_table

        if self.project is None or self.remapping:
            self.message.emit("Open a folder first; the class table belongs to a project")
            return False
        try:
            table = ClassTable.load_json(path)
            apply_class_table(self.project, table)
            # a file that marks no class background: the class named "background" is
            self.project.set_setting(BACKGROUND_SETTING, table.background_ids or None)
        except (SegStudioError, OSError) as exc:
            self.message.emit(f"the class table was not imported: {exc}")
            return False
        self.classes_changed.emit(project_classes(self.project))
        self.message.emit(f"Classes from {path}: {len(self.project.classes.classes)} classes")
        return True

    def export_class_table(self, path: str | os.PathLike) -> bool:
        if self.project is None:
            self.message.emit("Open a folder first; the class table belongs to a project")
            return False
        try:
            project_classes(self.project).save_json(path)
        except (SegStudioError, OSError) as exc:
            self.message.emit(f"{path}: the class table was not written ({exc})")
            return False
        self.message.emit(f"Wrote the class table to {path}")
        return True

    def delete_class(self, class_id: int, target_id: int) -> bool:
        """Delete a class after rewriting its pixels to ``target_id`` in every mask
        and prediction (on a worker).  Returns False when refused (message sent)."""
        if self.project is None or self.remapping:
            return False
        table = project_classes(self.project)
        info = table.by_id(class_id)
        if info is None or target_id == class_id:
            return False
        try:
            new_table = plan_delete(table, class_id, target_id)
        except ClassTableError as exc:
            self.message.emit(f"cannot delete {info.name!r}: {exc}")
            return False
        project = self.project
        self.remap_notes = []  # what else the rewrite cost (the editor adds its undo history)
        self.remapping = True
        label = f"Deleting class {info.name}"
        self.busy.emit(label, 0, 1)

        def progress(done: int, total: int) -> None:
            self.busy.emit(label, done, max(total, 1))

        def finished(result: tuple[int, object]) -> None:
            self.remapping = False
            self.busy.emit(label, 0, 0)
            st = self.style
            self.style = replace(st,
                                 visible={k: v for k, v in st.visible.items() if k != class_id},
                                 opacity={k: v for k, v in st.opacity.items() if k != class_id})
            self._save_style_timer.start()
            self.classes_changed.emit(project_classes(project))
            self.style_changed.emit(self.style)
            target = new_table.by_id(target_id)
            notes = "".join(f"; {n}" for n in self.remap_notes)
            self.message.emit(f"Deleted class {info.name!r}: its pixels are now "
                              f"{target.name!r} in {result[0]} mask files{notes}")
            self.reload_current()

        def failed(msg: str) -> None:
            self.remapping = False
            self.busy.emit(label, 0, 0)
            self.message.emit(f"class {info.name!r} was not deleted: {msg}")

        def stopped(cancelled: bool) -> None:
            if cancelled:
                self.remapping = False
                self.busy.emit(label, 0, 0)

        self.masks_rewriting.emit()
        self.prefetch.clear()
        self.runner.submit(lambda ctx: project.delete_class(class_id, target_id, table,
                                                            ctx.progress),
                           on_result=finished, on_error=failed, on_progress=progress,
                           on_finished=stopped)
        return True
