"""Devices, default settings, augmentation and batch loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segstudio.nn.config import ConfigError, TrainConfig, default_train_config
from segstudio.nn.device import DeviceError, available_devices, physical_cores, resolve_device
from segstudio.nn.train import data as D
from segstudio.nn.train.losses import IGNORE


def test_devices():
    devs = available_devices()
    assert devs[-1].id == "cpu"
    n = torch.get_num_threads()
    assert devs[-1].name == f"CPU ({n} thread{'s' if n != 1 else ''})"
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == devs[0].id.split(":")[0]
    assert physical_cores() >= 1
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            resolve_device("cuda:0")


def test_default_configs_per_device():
    cpu, gpu = default_train_config("cpu"), default_train_config("cuda:0")
    assert (cpu.arch, cpu.width, cpu.crop, cpu.batch_size) == ("segnet", 0.25, (192, 256), 4)
    assert (gpu.arch, gpu.width, gpu.crop, gpu.batch_size) == ("segnet", 1.0, (360, 480), 8)
    assert gpu.optimizer == "sgd" and gpu.momentum == 0.9 and cpu.optimizer == "adamw"
    assert TrainConfig.from_dict(cpu.to_dict()) == cpu
    with pytest.raises(ConfigError, match="^Validation share 1: must be below 1$"):
        cpu.replace(val_split=1.0).validate()
    with pytest.raises(ConfigError, match="Crop 16x64"):
        cpu.replace(crop=(16, 64)).validate()


def test_augment_pads_with_ignore_and_resizes_masks_nearest():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
    tgt = rng.integers(0, 5, (50, 60), dtype=np.uint8)
    out_img, out_tgt = D.augment(img, tgt, (80, 100), (1.0, 1.0), False, rng, (1, 2, 3))
    assert out_img.shape == (80, 100, 3) and out_tgt.shape == (80, 100)
    pad = out_tgt == IGNORE
    assert pad.sum() == 80 * 100 - 50 * 60  # everything outside the image is ignored
    assert np.all(out_img[pad] == (1, 2, 3))
    assert np.array_equal(np.sort(out_tgt[~pad]), np.sort(tgt.ravel()))
    _, scaled = D.augment(img, tgt, (20, 20), (0.5, 2.0), True, rng, (0, 0, 0))
    assert set(np.unique(scaled)) <= set(range(5))  # NEAREST: no new label values


def test_batches_are_the_same_with_or_without_worker_processes(camvid_project):
    snap = D.snapshot(camvid_project, 0.0)
    loader = D.SampleLoader(camvid_project.classes.train_lut(IGNORE), 3, D.ImageCache())
    args = (snap.train, 3, None, loader, (64, 96), (0.75, 1.25), True, (124, 116, 104))

    def run(workers):
        rng = np.random.default_rng(5)
        return list(D.epoch_batches(args[0], args[1], rng, *args[3:], workers=workers))

    a, b = run(0), run(1)
    assert [x.ids for x in a] == [x.ids for x in b] and len(a) == 3
    for x, y in zip(a, b, strict=False):
        assert np.array_equal(x.images, y.images) and np.array_equal(x.targets, y.targets)
    assert loader.cache.used > 0  # decoded images stay in memory


def test_snapshot_follows_the_project(camvid_project):
    snap = D.snapshot(camvid_project, 0.25)
    assert len(snap.train) == 6 and len(snap.val) == 2
    rec = camvid_project.find(snap.train[0].relpath)
    camvid_project.reset_to_prediction(rec)  # the user drops a mask
    again = D.snapshot(camvid_project, 0.25)
    assert rec.id not in again.train_ids + again.val_ids
    from segstudio.nn.plan.fingerprint import project_channels

    assert project_channels(camvid_project) == 3


def test_switching_optimizer_brings_its_weight_decay_and_rate():
    from segstudio.cli.main import build_parser
    from segstudio.cli.train import build_request
    from segstudio.nn.config import default_train_config, switch_optimizer
    from segstudio.nn.train.request import apply_settings

    cpu = default_train_config("cpu")
    assert switch_optimizer(cpu, "adamw") == cpu  # already AdamW: nothing changes
    sgd = switch_optimizer(cpu, "sgd")
    assert (sgd.optimizer, sgd.lr, sgd.weight_decay) == ("sgd", 0.05, 5e-4)
    gpu = default_train_config("cuda")
    adamw = switch_optimizer(gpu, "adamw", lr=2e-4)
    assert (adamw.optimizer, adamw.lr, adamw.weight_decay) == ("adamw", 2e-4, 1e-2)
    # the CLI's request takes the same rule when it is resolved
    args = build_parser().parse_args(["train", "x", "--optimizer", "sgd"])
    assert build_request(args).settings == {"optimizer": "sgd"}
    assert apply_settings(cpu, build_request(args).settings) == sgd
    args = build_parser().parse_args(["train", "x", "--optimizer", "sgd", "--lr", "0.01"])
    assert apply_settings(cpu, build_request(args).settings) == sgd.replace(lr=0.01)
