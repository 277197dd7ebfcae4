"""Region proposals for a project: where the active model's prediction is most likely
wrong, one superpixel at a time (see :mod:`segstudio.core.regions` for the ranking).

    queue = propose(project, ProposalSettings(regions=40), device="cpu")

For every image that is not fully labelled (unlabelled, predicted or partially
labelled; large images are left out) :func:`propose` predicts the class
probabilities, makes a per-pixel score -- ``entropy`` of the softmax (one pass), or
the mutual information of ``mc-dropout`` passes or of ``tta`` views (flips and 3/4
scale), as :mod:`segstudio.nn.uncertainty` computes them for label-next -- and averages it over
the image's SLIC superpixels (stored once per image and reused by every refresh).
It stores each image's regions and the ranked queue in ``.segstudio/proposals/``
(:mod:`segstudio.core.proposal_store`), and each prediction as the image's
prediction (``Project.save_prediction``: never over a human mask; its label-next
score is the image's mean pixel score), so the window shows what the regions were
scored with.  Free of Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import torch
import torch.nn.functional as F

from ...core import proposal_store as store
from ...core.errors import SegStudioError
from ...core.regions import ImageRegions, Region, candidates, rank, region_stats
from ...core.smart.superpixels import compute_superpixels
from ..inference import Predictor
from ..uncertainty import Scorer, mutual_information, rare_weights
from .data import U8

if TYPE_CHECKING:
    from ...core.project import ImageRecord, Project

SCORES = ("entropy", "mc-dropout", "tta")
SIZE = 24  # superpixel side in pixels: ~300 regions on a 480x360 CamVid frame
REGIONS = 200  # regions in a queue
RADIUS = 2.5  # diversity radius, in superpixel sides


@dataclass(frozen=True)
class ProposalSettings:
    regions: int = REGIONS
    score: str = "entropy"
    rare: bool = True  # weight regions towards rare classes
    diversity: float = 0.5  # each neighbour already taken halves a region's score (0: off)
    size: int = SIZE
    passes: int = 8  # MC-dropout passes
    seed: int = 0

    def check(self) -> ProposalSettings:
        if self.score not in SCORES:
            raise SegStudioError(f"region score {self.score!r}: choose {', '.join(SCORES)}")
        if self.regions < 1:
            raise SegStudioError(f"--regions {self.regions}: at least 1")
        if not 0.0 <= self.diversity <= 1.0:
            raise SegStudioError(f"diversity {self.diversity:g}: between 0 and 1")
        if self.size < 4:
            raise SegStudioError(f"superpixel size {self.size}: at least 4 pixels")
        return self


class RegionScorer:
    """Per image: class probabilities, predicted classes and the per-pixel score, summed
    over its superpixels (:meth:`regions`)."""

    def __init__(self, predictor: Predictor, score: str = "entropy", passes: int = 8,
                 seed: int = 0):
        self.predictor = predictor
        self.score = score
        self._scorer = Scorer(predictor, score, passes, seed) if score != "entropy" else None

    @torch.inference_mode()
    def maps(self, image: U8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probabilities (K, H, W) float32, predicted class ids (H, W) uint8, score
        (H, W) float32 in 0..1) of one image."""
        pred = self.predictor
        img = pred._prepare(image)
        probs = pred._probs(img)
        k = probs.shape[0]
        labels = pred.channel_ids[probs.argmax(dim=0).cpu().numpy()].astype(np.uint8)
        if self._scorer is None:
            ent = -(probs * torch.log(probs.clamp_min(1e-12))).sum(dim=0)
            score = (ent / (np.log(k) if k > 1 else 1.0)).clamp_(0.0, 1.0)
        else:
            small = self._scorer._small(img)
            views = (self._scorer._mc_passes(small) if self.score == "mc-dropout"
                     else self._scorer._tta_views(small))
            score = mutual_information(views)
            if score.shape != probs.shape[1:]:
                score = F.interpolate(score[None, None], size=tuple(probs.shape[1:]),
                                      mode="bilinear", align_corners=False)[0, 0]
        return (probs.cpu().numpy().astype(np.float32), labels,
                score.cpu().numpy().astype(np.float32))

    def regions(self, image: U8, segments: np.ndarray, mask: np.ndarray | None,
                unlabelled: int) -> tuple[ImageRegions, np.ndarray]:
        """The image's regions and the predicted class ids they were scored with."""
        probs, labels, score = self.maps(image)
        return region_stats(segments, score, probs, labels, mask, unlabelled), labels


def candidate_images(project: Project, max_pixels: int) -> list[ImageRecord]:
    """The images proposals are made for: readable, not fully labelled, not large."""
    return [r for r in project.images() if r.usable and not r.fully_labelled
            and (r.width or 0) * (r.height or 0) <= max_pixels]


def propose(project: Project, settings: ProposalSettings | None = None,
            checkpoint: str | None = None, device: str = "auto",
            progress: Callable[[int, int], None] | None = None,
            predictor: Predictor | None = None) -> store.Queue:
    """Score every candidate image's superpixels with the model (default: the project's
    active one), store them and the ranked queue; returns the queue.  ``progress(done,
    total)`` after each image (it may raise to cancel)."""
    settings = (settings or ProposalSettings()).check()
    if predictor is None:
        path = checkpoint or project.settings.get("active_checkpoint", None)
        if not path:
            raise SegStudioError("the project has no active model to propose regions with; "
                                 "train one first (segstudio train FOLDER)")
        from ...core.prediction_model import CheckpointRef
        from ..plan.fingerprint import project_channels
        from ..runs.checkpoint import load_checkpoint

        ckpt = load_checkpoint(path)
        predictor = Predictor.from_checkpoint(ckpt, device, classes=project.classes,
                                              in_channels=project_channels(project))
        # each prediction records this file and the epoch of its weights (as predict does)
        predictor.checkpoint_path = CheckpointRef(path, ckpt.epoch)
    model = predictor.checkpoint_path or checkpoint or ""
    scorer = RegionScorer(predictor, settings.score, settings.passes, settings.seed)
    unlabelled = project.classes.unlabelled_value()
    recs = candidate_images(project, predictor.max_whole_pixels)
    per_image: dict[str, ImageRegions] = {}
    notes: list[str] = []
    for i, rec in enumerate(recs):
        try:
            image = project.load_image(rec)
            spmap = store.load_superpixels(project, rec, settings.size)
            if spmap is None:
                spmap = compute_superpixels(image, settings.size)
            mask = project.load_mask(rec) if rec.has_human_mask else None
            regions, labels = scorer.regions(image, spmap.full_labels(), mask, unlabelled)
            store.save_image(project, rec, store.ImageProposals(
                store.image_key(rec, settings.size), spmap, regions, model, labels))
            project.save_prediction(rec, labels, model or None, float(
                np.average(regions.score, weights=np.maximum(regions.pixels, 1))))
            per_image[rec.relpath] = regions
        except SegStudioError as exc:
            notes.append(f"{rec.relpath}: left out ({exc})")
        if progress is not None:
            progress(i + 1, len(recs))
    queue = store.Queue(ranked(per_image, project, settings), model, settings.score,
                        settings.rare, settings.diversity, settings.size,
                        images=len(per_image), notes=notes)
    store.save_queue(project, queue)
    return queue


def ranked(per_image: dict[str, ImageRegions], project: Project | None,
           settings: ProposalSettings, weights: Sequence[float] | None = None
           ) -> list[Region]:
    """The queue's regions: rarity from the project's labelled masks (or ``weights``)
    when ``settings.rare``, spread out by ``settings.diversity``."""
    rare = None
    if settings.rare:
        rare = list(weights) if weights is not None else \
            rare_weights(project) if project is not None else None
    return rank(candidates(per_image, rare), settings.regions, settings.diversity,
                settings.size * RADIUS)


def still_open(project: Project, queue: store.Queue) -> list[Region]:
    """The queue's regions that people have not labelled since it was made."""
    from ...core.regions import LABELLED_SHARE, labelled_share

    unlabelled = project.classes.unlabelled_value()
    by_rel = {r.relpath: r for r in project.images()}
    out: list[Region] = []
    shares: dict[str, np.ndarray | None] = {}
    for reg in queue.regions:
        rec = by_rel.get(reg.relpath)
        if rec is None or rec.fully_labelled:
            continue
        if reg.relpath not in shares:
            shares[reg.relpath] = None
            if rec.has_human_mask:
                spmap = store.load_superpixels(project, rec)
                mask = project.load_mask(rec)
                if spmap is not None and mask is not None:
                    shares[reg.relpath] = labelled_share(spmap.full_labels(), mask, unlabelled,
                                                         spmap.count)
        share = shares[reg.relpath]
        if share is None or cast(float, share[reg.segment]) < LABELLED_SHARE:
            out.append(reg)
    return out
