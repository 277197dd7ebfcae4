"""Label-next scores: which unlabelled image a person should correct next.

* ``entropy``     mean normalised entropy of the softmax (one pass; the default);
* ``mc-dropout``  Monte Carlo dropout (Bayesian SegNet, Kendall, Badrinarayanan and
  Cipolla 2015): N stochastic passes with the central dropout on; the score is the
  mean mutual information between the prediction and the weights (BALD), which is
  high where the passes disagree.  Needs a model trained with dropout > 0;
* ``tta``         test-time-augmentation disagreement: the mutual information over
  the image, its mirror, and both at 3/4 scale;
* ``rare``        entropy weighted by how rare the predicted class is in the
  project's masks (balanced median-frequency weights), so that images where the
  rare classes are uncertain come first.

Scores are in [0, 1] per pixel and averaged over the image.  :class:`Scorer`
returns a :class:`PredictionResult` whose labels and entropy map are the usual
full-resolution prediction and whose ``uncertainty`` is the chosen score.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import SegStudioError
from .inference import PredictionResult, Predictor
from .train.data import U8

if TYPE_CHECKING:
    from ..core.project import Project

STRATEGIES = ("entropy", "mc-dropout", "tta", "rare")
SCORE_MAX_PIXELS = 1_000_000  # multi-pass scores look at the image at most this large


def _entropy(p: torch.Tensor) -> torch.Tensor:
    """(.., K, h, w) probabilities -> (.., h, w) entropy in nats."""
    return -(p * torch.log(p.clamp_min(1e-12))).sum(dim=-3)


def mutual_information(probs: torch.Tensor) -> torch.Tensor:
    """(N, K, h, w) probabilities of N passes -> (h, w) BALD score normalised by log K:
    the entropy of the mean minus the mean entropy (0 when all passes agree)."""
    k = probs.shape[1]
    mi = _entropy(probs.mean(0)) - _entropy(probs).mean(0)
    return (mi / (math.log(k) if k > 1 else 1.0)).clamp_(0.0, 1.0)


class Scorer:
    def __init__(self, predictor: Predictor, strategy: str = "entropy", passes: int = 8,
                 seed: int = 0, rare_weights: Sequence[float] | None = None):
        if strategy not in STRATEGIES:
            raise SegStudioError(f"label-next score {strategy!r}: choose "
                                 f"{', '.join(STRATEGIES)}")
        model = predictor.model
        if strategy == "mc-dropout" and not getattr(model, "dropout", 0.0) > 0:
            raise SegStudioError("MC dropout needs a model trained with dropout (segstudio "
                                 "train --dropout 0.2); this one has none: use entropy or tta")
        if passes < 2:
            raise SegStudioError("a multi-pass score needs at least 2 passes")
        self.predictor, self.strategy = predictor, strategy
        self.passes, self.seed = passes, seed
        w = None
        if strategy == "rare":
            if rare_weights is None or len(rare_weights) != predictor.num_classes:
                raise SegStudioError("the rare-class score needs one weight per class")
            w = np.asarray(rare_weights, np.float32)
            w = w / max(float(w.max()), 1e-12)
        self.rare = torch.from_numpy(w).to(predictor.device) if w is not None else None
        self._mc: Predictor | None = None
        if strategy == "mc-dropout":
            # a private copy with dropout on: the shared predictor (the window's cache)
            # never sees dropout switched on, even while another thread predicts with it
            self._mc = copy.copy(predictor)
            self._mc.model = copy.deepcopy(model)
            self._mc.model.mc_dropout = True

    @torch.inference_mode()
    def __call__(self, image: U8) -> PredictionResult:
        res = self.predictor.predict(image)
        if self.strategy == "entropy":
            return res
        if self.strategy == "rare":
            assert self.rare is not None  # made with the strategy
            channels = np.searchsorted(self.predictor.channel_ids, res.labels)
            w = self.rare.cpu().numpy()[channels]
            score = float((res.entropy.astype(np.float32) / 255.0 * w).mean())
        else:
            img = self._small(self.predictor._prepare(image))
            views = (self._mc_passes(img) if self.strategy == "mc-dropout"
                     else self._tta_views(img))
            score = float(mutual_information(views).double().mean())
        res.uncertainty = score
        return res

    predict = __call__  # a Scorer stands in for its Predictor in predict_project

    @property
    def checkpoint_path(self) -> str | None:
        return self.predictor.checkpoint_path

    @property
    def num_classes(self) -> int:
        return self.predictor.num_classes

    def _small(self, img: U8) -> U8:
        h, w = img.shape[:2]
        if h * w <= SCORE_MAX_PIXELS:
            return img
        import cv2

        f = math.sqrt(SCORE_MAX_PIXELS / (h * w))
        # cv2's stubs give any resize an integer-or-float result; uint8 stays uint8
        out = cast(U8, cv2.resize(img, (max(1, int(w * f)), max(1, int(h * f))),
                                  interpolation=cv2.INTER_AREA))
        return out[:, :, None] if out.ndim == 2 else out

    def _mc_passes(self, img: U8) -> torch.Tensor:
        mc = self._mc
        assert mc is not None  # made with the strategy
        # the same seed gives the same passes, without touching the global RNG
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return torch.stack([mc._probs(img) for _ in range(self.passes)])

    def _tta_views(self, img: U8) -> torch.Tensor:
        import cv2

        h, w = img.shape[:2]
        small = cast(U8, cv2.resize(img, (max(1, w * 3 // 4), max(1, h * 3 // 4)),
                                    interpolation=cv2.INTER_AREA))
        small = small[:, :, None] if small.ndim == 2 else small
        out: list[torch.Tensor] = []
        for view in (img, small):
            for flip in (False, True):
                v = np.ascontiguousarray(view[:, ::-1]) if flip else view
                p = self.predictor._probs(v)
                if flip:
                    p = p.flip(-1)
                if p.shape[-2:] != (h, w):
                    p = F.interpolate(p[None], size=(h, w), mode="bilinear",
                                      align_corners=False)[0]
                out.append(p)
        return torch.stack(out)


def rare_weights(project: Project) -> list[float]:
    """Per-channel rarity weights from the project's human masks (balanced
    median-frequency weights, 1 for classes never seen)."""
    from .train.losses import IGNORE, MedianFrequency, balanced_weights

    lut = project.classes.train_lut(IGNORE)
    acc = MedianFrequency(project.classes.num_trainable)
    for rec in project.images():
        if rec.has_human_mask:
            m = project.load_mask(rec)
            if m is not None:
                acc.add(lut[m])
    return [float(v) for v in balanced_weights(acc.weights())]
