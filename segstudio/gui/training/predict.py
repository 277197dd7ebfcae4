"""Prediction in the window: this image, all unlabelled, the listed images; label next.

:class:`PredictService` runs predictions with the project's active model
(setting ``active_checkpoint``; training sets it to its best checkpoint, the
Runs panel can choose another) on two single-thread lanes: ``quick`` for the
image on screen (shown as soon as it is predicted, then saved) and ``batch``
for many images and evaluations.  Predictions go to their own files and
never replace a human mask.  While the first run trains there is no active
model yet: predictions then use the running run's latest checkpoint
(``training_checkpoint``, set after each epoch) and the status bar says so.
While training runs on the CPU a prediction
uses one torch thread (:func:`~.jobs.torch_threads`).  ``inference_ms``
reports every prediction's model time for the plots; ``shown`` is emitted
once a prediction of the image on screen is on the canvas.

Every prediction records the model that made it (the checkpoint and the epoch of its
weights, :mod:`segstudio.core.prediction_model`): *predict all* redoes what another
model made, *Label next* ranks the active model's scores only, and ``model_known``
tells the browser which model is current, so that it marks the others.

The service is given its collaborators (the project controller, the canvas it
reads the image on screen from, a notifier, the browser's list), never the
window; what it asks of other parts of the window are signals the window
connects: ``prediction_ready`` (the layers can be shown) and
``reveal_requested`` (select an image in the list, in a given order).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from ...core.browse import sort_records
from ...core.errors import SegStudioError
from ...core.prediction_model import ModelRef, latest_model, to_predict
from ...core.project import ImageRecord
from .training_jobs import PredictorCache, active_checkpoint, torch_threads

if TYPE_CHECKING:
    from ..collaborators import ListedImages, Notifier
    from ..project_controller import ProjectController
    from ..widgets.canvas import Canvas

NO_MODEL = ("no model to predict with yet: train one (Ctrl+T) or make a checkpoint active in "
            "the Runs panel")


class PredictService(QObject):
    inference_ms = Signal(float)
    shown = Signal(object)            # ImageRecord whose new prediction is on the canvas
    saved = Signal(object)            # ImageRecord after its prediction was written
    batch_running = Signal(bool)
    prediction_ready = Signal(object)      # ImageRecord whose prediction the document now has
    reveal_requested = Signal(object, str)  # ImageRecord to select, the list's sort key
    # the model whose predictions are current (ModelRef, None: unknown), for the browser
    model_known = Signal(object)

    def __init__(self, controller: ProjectController, canvas: Canvas, notifier: Notifier,
                 listed: ListedImages, trainer, device_getter, parent: QObject | None = None):
        super().__init__(parent)
        self.controller = controller
        self.canvas = canvas  # read only: the image on screen
        self.notifier = notifier
        self.listed = listed
        self.trainer = trainer
        self.device = device_getter
        self.cache = PredictorCache()
        self.quick = self.controller.workers.lane("predict")
        self.batch = self.controller.workers.lane("predict-many")
        self.last_latency: float | None = None  # request -> overlay shown, seconds
        self._batch_label = ""
        # (last.pt of the run under way, its epoch), set by the training UI after each epoch
        self.training_checkpoint: tuple[str, int] | None = None
        self.score = "entropy"  # the label-next score many-image predictions store

    # -- helpers -------------------------------------------------------------------------------
    def threads(self) -> int | None:
        """Torch threads of a prediction now: one while training uses the CPU."""
        return 1 if self.trainer.on_cpu else None

    def message(self, text: str) -> None:
        self.notifier.show_message(text)

    def model_path(self) -> str | None:
        """The active model, else the running run's latest checkpoint."""
        project = self.controller.project
        if project is None:
            return None
        return active_checkpoint(project) or self._training_path()

    def _training_path(self) -> str | None:
        if self.training_checkpoint is None or not self.trainer.running:
            return None
        return self.training_checkpoint[0]

    def _model_or_note(self, quiet: bool) -> str | None:
        """The model to predict with; a note when it is the run under way's."""
        project = self.controller.project
        path = active_checkpoint(project)
        if path:
            return path
        path = self._training_path()
        if path is None:
            if not quiet:
                self.message(NO_MODEL)
            return None
        if not quiet:
            self.message(f"Predicting with the running training's latest checkpoint "
                         f"(epoch {self.training_checkpoint[1]}: {path})")
        return path

    # -- the image on screen ---------------------------------------------------------------------
    def predict_current(self, checkpoint: str | None = None, quiet: bool = False) -> bool:
        """Predict the image on screen with ``checkpoint`` (default: the active model);
        the overlay shows as soon as the model is done, the files are written after."""
        project = self.controller.project
        doc = self.canvas.document()
        if project is None or doc is None or not doc.ok:
            if not quiet:
                self.message("open an image to predict")
            return False
        path = checkpoint or self._model_or_note(quiet)
        if not path:
            return False
        rec, image, dev, threads = doc.rec, doc.display, self.device(), self.threads()
        cache = self.cache
        t0 = time.perf_counter()

        def job(ctx):
            with torch_threads(threads):
                predictor = cache.get(path, dev, project)
                ctx.check()
                return predictor.predict(image), predictor.checkpoint_path

        def done(out) -> None:
            res, ckpt = out
            if self._show(rec.id, res):
                self.last_latency = time.perf_counter() - t0
                self.shown.emit(rec)
            self.inference_ms.emit(res.seconds * 1000.0)
            self.quick.submit(lambda ctx: _save_result(project, rec, res, ckpt),
                              on_result=self._saved,
                              on_error=lambda m: self.message(f"the prediction of {rec.relpath} "
                                                              f"was not saved: {m}"))

        self.quick.submit(job, key="current", on_result=done,
                          on_error=lambda m: self.message(f"prediction failed: {m}"))
        return True

    def _show(self, image_id: int, res) -> bool:
        doc = self.canvas.document()
        if doc is None or not doc.ok or doc.rec.id != image_id:
            return False
        if not self.controller.set_prediction(image_id, res.labels, res.entropy):
            return False
        self.prediction_ready.emit(doc.rec)
        return True

    def _saved(self, rec: ImageRecord) -> None:
        self.controller.update_record(rec)
        self.saved.emit(rec)

    # -- many images ---------------------------------------------------------------------------
    def predict_unlabelled(self) -> bool:
        return self._predict_many("unlabelled", None, "Predicting unlabelled images")

    def predict_listed(self) -> bool:
        """Predict the images listed in the browser (its filter and order)."""
        recs = [r for r in self.listed.listed_records() if r.usable]
        if not recs:
            self.message("the browser lists no images to predict")
            return False
        return self._predict_many("all", recs, f"Predicting {len(recs)} listed images")

    def _predict_many(self, only: str, records, label: str) -> bool:
        project = self.controller.project
        if project is None:
            self.message("open a project first")
            return False
        path = self._model_or_note(quiet=False)
        if not path:
            return False
        dev, threads, cache = self.device(), self.threads(), self.cache
        score = self.score

        def job(ctx):
            def on_result(rec, res) -> None:  # each image as it is written
                ctx.item((project.image(rec.id), res))

            from ...nn.evaluate import predict_project

            with torch_threads(threads):
                predictor = cache.get(path, dev, project)
                model = ModelRef.of(predictor.checkpoint_path)
                chosen, redone = records, 0
                if chosen is None and only == "unlabelled":
                    # no prediction yet, or one another model (or epoch) made: redone
                    chosen = to_predict(project, model)
                    redone = sum(1 for r in chosen if r.has_prediction)
                if score != "entropy":
                    from ...nn.uncertainty import Scorer, rare_weights

                    predictor = Scorer(predictor, score, rare_weights=rare_weights(project)
                                       if score == "rare" else None)
                summary = predict_project(project, predictor, only, progress=ctx.progress,
                                          on_result=on_result, records=chosen)
                return summary, model, redone

        def done(out) -> None:
            summary, model, redone = out
            self.model_known.emit(model)
            text = f"{label}: {summary.predicted} predicted in {summary.seconds:.1f} s"
            if redone:
                text += f"; {redone} of them had a prediction of another model"
            if path != active_checkpoint(project):
                text += f" with {path}"
            if summary.skipped:
                text += f"; {len(summary.skipped)} skipped ({summary.skipped[0][1]})"
            if not summary.predicted and not summary.skipped:
                text = f"{label}: nothing to predict"
            self.message(text)

        def finished(cancelled: bool) -> None:
            self.controller.busy.emit(label, 0, 0)
            self.batch_running.emit(False)
            if cancelled:
                self.message(f"{label}: stopped; the predictions made so far are kept")

        self._batch_label = label
        self.controller.busy.emit(label, 0, 1)
        self.batch_running.emit(True)
        self.batch.submit(job, key="many", on_result=done, on_finished=finished,
                          on_item=lambda item: self._batch_result(*item),
                          on_progress=lambda d, t: self.controller.busy.emit(label, d, t),
                          on_error=lambda m: self.message(f"{label} failed: {m}"))
        return True

    def cancel_batch(self) -> None:
        self.batch.cancel("many")

    def _batch_result(self, rec: ImageRecord, res) -> None:
        self.inference_ms.emit(res.seconds * 1000.0)
        self.controller.update_record(rec)
        doc = self.canvas.document()
        if doc is not None and doc.rec.id == rec.id and self._show(rec.id, res):
            self.shown.emit(rec)

    # -- which model the predictions are compared for -------------------------------------------
    def with_model(self, then, quiet: bool = False) -> bool:
        """Call ``then(ModelRef | None)`` with the model predictions are made with now
        (the active one, else the run under way's): at once when its epoch is known, else
        after a worker read it from the checkpoint.  None: there is no model; then the
        newest prediction's model stands in (predictions imported or from a model since
        removed still rank among themselves)."""
        project = self.controller.project
        path = self.model_path() if project is not None else None
        if path is None:
            then(None)
            return True
        cache = self.cache
        try:
            known = cache.known_model(path)
        except SegStudioError as exc:
            if not quiet:
                self.message(str(exc))
            return False
        if known is not None:
            then(known)
            return True
        self.quick.submit(lambda ctx: cache.model(path), key="model-of-predictions",
                          on_result=then, on_error=lambda m: quiet or self.message(
                              f"the model's checkpoint could not be read: {m}"))
        return False

    def refresh_model(self, *_args) -> None:
        """Tell the browser which model is current (after the active model changed)."""
        if self.controller.project is not None:  # quietly: a missing file is said on use
            self.with_model(self.model_known.emit, quiet=True)

    # -- label next ------------------------------------------------------------------------------
    def label_next(self) -> ImageRecord | None:
        """Show the image without a human mask that the model is least sure about; only
        the predictions of one model (the active one) are compared.  Returns the image
        when it could be chosen at once (the model's epoch known), else None and the
        image is shown once a worker read the model's epoch."""
        if self.controller.project is None:
            self.message("open a project first")
            return None
        chosen: list[ImageRecord] = []
        self.with_model(lambda model: chosen.append(self._label_next(model)))
        return chosen[0] if chosen else None

    def _label_next(self, model: ModelRef | None) -> ImageRecord | None:
        project = self.controller.project
        if project is None:
            return None
        records = [r for r in self.controller.records if r.usable]
        base = project.project_dir
        stand_in = model is None
        model = model or latest_model(r for r in records if not r.has_human_mask)
        self.model_known.emit(model)
        ranked = sort_records(records, "label_next")
        target = next((r for r in ranked if not r.has_human_mask and r.uncertainty is not None
                       and model is not None and model.made(r, base)), None)
        if target is None:
            others = any(r.has_prediction and not r.has_human_mask for r in records)
            if others and not stand_in:
                self.message(f"no image has a prediction of the active model "
                             f"{model.describe()} yet (those there are another model's): "
                             "predict the unlabelled images first (Ctrl+Shift+P)")
            else:
                self.message("no image without a human mask has a prediction yet: predict "
                             "the unlabelled images first (Ctrl+Shift+P)")
            return None
        resorted = ""
        if self.listed.list_sort() != "label_next":  # said below: never a silent change
            resorted = "; the image list is now sorted by Label next (the Sort box changes it back)"
        self.reveal_requested.emit(target, "label_next")  # sorted again with the new values
        self.message(f"Label next: {target.relpath} (uncertainty {target.uncertainty:.3f})"
                     + resorted)
        return target

    # -- closing ---------------------------------------------------------------------------------
    def shutdown(self) -> None:
        self.quick.shutdown()
        self.batch.shutdown()
        self.cache.clear()


def _save_result(project, rec: ImageRecord, res, ckpt: str | None) -> ImageRecord:
    """On a worker: the prediction and its IoU saved (torch is imported here, not at
    window start)."""
    from ...nn.evaluate import save_result

    return save_result(project, rec, res, ckpt)
