"""The guard that says when training did not work.

A model earns its place only when it beats the trivial predictor -- the one that
paints every pixel with the training masks' majority class -- on the same
validation images, and (for a new round) the model the project already uses.
:class:`Guard` keeps both yardsticks for one run: :meth:`Guard.epoch` judges an
epoch's validation metrics, :meth:`Guard.decide` whether the run's best
checkpoint becomes the project's active model and what to tell the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...core.errors import SegStudioError
from ..metrics import trivial_metrics
from ..runs.checkpoint import Checkpoint, check_compatible, load_checkpoint

if TYPE_CHECKING:
    from ...core.project import Project

MARGIN = 0.01  # mIoU (absolute) a model needs above the trivial predictor to count as better
# what the user can do, in words the Training panel and the CLI both have (Budget, --budget);
# the run itself already changed its loss and crops when it did not learn (nn.course)
ADVICE = "label more images (above all where the rare classes are) or give training a " \
         "longer budget"
NO_VALIDATION = ("this run had no validation images (a project needs at least two labelled "
                 "images: one is held out)")


@dataclass(frozen=True)
class Verdict:
    trivial_miou: float | None
    trivial_accuracy: float | None
    beats: bool | None  # None: no validation this epoch
    warning: str | None = None


class Guard:
    def __init__(self, names: Sequence[str], class_pixels: npt.ArrayLike, epochs: int = 0):
        counts = np.asarray(class_pixels, dtype=np.int64)
        self.names = list(names)
        self.majority = int(counts.argmax()) if counts.sum() > 0 else 0
        self.epochs = epochs
        self.trivial_miou: float | None = None
        self.trivial_accuracy: float | None = None
        self.previous: tuple[str, float] | None = None  # (what it is, its val mIoU)
        self.warned = False
        self.acted = False  # the run changed course once (nn.course)

    @property
    def majority_name(self) -> str:
        return self.names[self.majority] if self.names else str(self.majority)

    def trivial_text(self) -> str:
        acc = self.trivial_accuracy or 0.0
        return (f"painting every pixel '{self.majority_name}' "
                f"({(self.trivial_miou or 0.0) * 100:.1f} % mIoU, {acc * 100:.1f} % pixel "
                "accuracy)")

    def epoch(self, epoch: int, metrics: dict[str, Any] | None) -> Verdict:
        if not metrics or metrics.get("miou") is None or "confusion_matrix" not in metrics:
            return Verdict(self.trivial_miou, self.trivial_accuracy, None)
        t = trivial_metrics(np.asarray(metrics["confusion_matrix"]), self.majority)
        self.trivial_miou = t["miou"]
        self.trivial_accuracy = t["global_accuracy"]
        beats = float(metrics["miou"]) > (self.trivial_miou or 0.0) + MARGIN
        warning = None
        if not beats and not self.warned and epoch >= max(2, self.epochs // 2):
            self.warned = True
            warning = (f"epoch {epoch}: the model ({metrics['miou'] * 100:.1f} % val mIoU) is "
                       f"still not better than {self.trivial_text()}; {ADVICE}")
        return Verdict(self.trivial_miou, self.trivial_accuracy, beats, warning)

    def decide(self, best_miou: float | None, has_active: bool) -> tuple[bool, str | None]:
        """(make the run's best checkpoint the active model?, what to tell the user).  A
        model replaces the active one only when it is measured better than the model the
        run had to beat, on the same validation images; a run without validation images
        never replaces it."""
        if best_miou is None or self.trivial_miou is None:
            if has_active:
                return False, (f"{NO_VALIDATION}, so it cannot be compared with the active "
                               "model, which stays; label another image, or choose the new "
                               "model yourself in the Runs view or with --checkpoint")
            return True, (f"{NO_VALIDATION}: its model is the active one because the project "
                          "has no other, but it is not measured; label more images")
        best = f"{best_miou * 100:.1f} % val mIoU"
        if best_miou <= self.trivial_miou + MARGIN:
            if has_active:
                return False, (f"training did not work: its best model ({best}) is not better "
                               f"than {self.trivial_text()}, so the active model stays; "
                               f"{ADVICE}")
            return True, (f"training did not work: its best model ({best}) is not better than "
                          f"{self.trivial_text()}; it is the active model only because the "
                          f"project has no other; {ADVICE}")
        if self.previous is not None and best_miou <= self.previous[1]:
            what, prev = self.previous
            word = "below" if best_miou < prev else "no better than"
            if has_active:
                return False, (f"the new model ({best}) is {word} {what} ({prev * 100:.1f} %) "
                               "on the same validation images, so the active model stays; "
                               "choose the new one in the Runs view or with --checkpoint")
            return True, (f"the new model ({best}) is {word} {what} ({prev * 100:.1f} %) on "
                          "the same validation images")
        return True, None


def comparable_active_model(project: Project, in_channels: int) -> Checkpoint | None:
    """The project's active model when it fits the project's classes and channels
    (a model for another class table cannot be compared), else None."""
    path = project.settings.get("active_checkpoint", None)
    if not path or not Path(str(path)).is_file():
        return None
    try:
        ck = load_checkpoint(path)
        check_compatible(ck, project.classes, in_channels)
    except SegStudioError:
        return None
    return ck
