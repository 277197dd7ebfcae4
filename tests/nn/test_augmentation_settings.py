"""The augmentation settings reach the training batches: a run with rotations, an
intensity change or elastic deformation trains on other pixels than the same run
without (same seed, same images), and the settings map one to one."""

from __future__ import annotations

from segstudio.nn.config import TrainConfig
from segstudio.nn.runs.events import Step
from segstudio.nn.train.engine import fit
from segstudio.nn.train.semantic import augmentation

BASE = TrainConfig(arch="segnet", width=0.25, budget="2 steps", eval_every=2, batch_size=4,
                   crop=(64, 64), lr=0.01, val_split=0.25, imagenet=None, seed=0,
                   precise_bn=0)


def _first_losses(project, cfg) -> list[float]:
    return [ev.loss for ev in fit(project, cfg, device="cpu") if isinstance(ev, Step)]


def test_each_augmentation_setting_changes_what_the_run_trains_on(camvid_project):
    plain = _first_losses(camvid_project, BASE)
    assert len(plain) == 2
    assert _first_losses(camvid_project, BASE) == plain  # the same run: the same pixels
    for change in ({"rotate90": True}, {"intensity": 0.5}, {"elastic": 8.0}):
        other = _first_losses(camvid_project, BASE.replace(**change))
        assert other != plain, change


def test_the_settings_map_to_the_batches_augmentation():
    cfg = BASE.replace(rotate90=True, intensity=0.2, elastic=6.0, flip=False,
                       scale=(0.75, 1.5))
    a = augmentation(cfg)
    assert (a.rotate90, a.intensity, a.elastic, a.flip, a.scale) == \
        (True, 0.2, 6.0, False, (0.75, 1.5))
