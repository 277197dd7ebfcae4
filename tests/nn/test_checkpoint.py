"""Checkpoint files: round trip, and every bad file refused with a clear error."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from segstudio.core.classes import ClassInfo, ClassTable
from segstudio.nn.inference import Predictor
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, SegNetBasic
from segstudio.nn.runs.checkpoint import (
    CheckpointError,
    check_compatible,
    checkpoint_dict,
    load_checkpoint,
    save_checkpoint,
)

CLASSES = ClassTable((ClassInfo(0, "bg", (0, 0, 0)), ClassInfo(1, "cell", (255, 0, 0)),
                      ClassInfo(7, "nucleus", (0, 0, 255)),
                      ClassInfo(255, "unlabelled", (9, 9, 9), ignore=True)))


def _saved(tmp_path: Path, in_channels: int = 3) -> Path:
    torch.manual_seed(0)
    model = SegNetBasic(3, in_channels, width=0.25)
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if in_channels == 3 else ((0.5,), (0.25,))
    data = checkpoint_dict(model, CLASSES, mean, std, {"epoch": 3, "note": [1, 2.5, "x"]},
                           run_id=4, epoch=3, metrics={"miou": 0.5})
    return save_checkpoint(tmp_path / "ck" / "model.pt", data)


def test_round_trip(tmp_path):
    path = _saved(tmp_path)
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temp file left
    ck = load_checkpoint(path)
    assert ck.model_config == {"arch": "segnet-basic", "width": 0.25, "in_channels": 3,
                               "num_classes": 3, "dropout": 0.0}
    assert ck.classes.signature() == CLASSES.signature()
    assert ck.classes.ignore_index == 255
    assert ck.mean == IMAGENET_MEAN and ck.std == IMAGENET_STD
    assert ck.train_state == {"epoch": 3, "note": [1, 2.5, "x"]}
    assert (ck.run_id, ck.epoch, ck.metrics) == (4, 3, {"miou": 0.5})
    torch.manual_seed(0)
    ref = SegNetBasic(3, 3, width=0.25)
    model = ck.build_model()
    for (k, a), (_, b) in zip(ref.state_dict().items(), model.state_dict().items(), strict=False):
        assert torch.equal(a, b), k
    check_compatible(ck, CLASSES, 3)


def test_other_class_table_is_refused(tmp_path):
    ck = load_checkpoint(_saved(tmp_path))
    renamed = CLASSES.with_class(ClassInfo(7, "nuclei", (0, 0, 255)))
    with pytest.raises(CheckpointError, match=r"trained for other classes .*7:nucleus.*7:nuclei"):
        check_compatible(ck, renamed, 3)
    fewer = CLASSES.without(7)
    with pytest.raises(CheckpointError, match="other classes"):
        Predictor.from_checkpoint(ck.path, "cpu", classes=fewer)


def test_other_channel_count_is_refused(tmp_path):
    gray = load_checkpoint(_saved(tmp_path, in_channels=1))
    with pytest.raises(CheckpointError, match=r"grayscale \(1 channel\) images but the project's "
                                              r"images are RGB"):
        check_compatible(gray, CLASSES, 3)


def test_files_that_are_not_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "nope.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(2000))
    with pytest.raises(CheckpointError, match="not a segstudio checkpoint"):
        load_checkpoint(junk)
    text = tmp_path / "notes.pt"
    text.write_text("hello\n")
    with pytest.raises(CheckpointError, match="not a segstudio checkpoint"):
        load_checkpoint(text)
    plain = tmp_path / "state_dict.pt"
    torch.save(SegNetBasic(3, width=0.25).state_dict(), plain)
    with pytest.raises(CheckpointError, match="a PyTorch file but not a segstudio checkpoint"):
        load_checkpoint(plain)
    with pytest.raises(CheckpointError, match="not a file"):
        load_checkpoint(tmp_path)


class _Payload:
    """Unpickling this would call os.system and create the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("container", ["torch.save", "raw pickle"])
def test_malicious_pickle_never_runs(tmp_path, container):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    data = {"format": "segstudio-checkpoint", "version": 1, "model_state": _Payload(marker)}
    if container == "torch.save":
        torch.save(data, evil)
    else:
        evil.write_bytes(pickle.dumps(data, protocol=2))
    # the payload is real: a plain pickle load in a child process does create the marker
    probe = tmp_path / "probe.pt"
    probe.write_bytes(pickle.dumps(_Payload(tmp_path / "probe-ran"), protocol=2))
    code = f"import pickle; pickle.load(open({str(probe)!r}, 'rb'))"
    subprocess.run([sys.executable, "-c", code],
                   check=True)
    assert (tmp_path / "probe-ran").exists()
    with pytest.raises(CheckpointError, match="refused to load.*nothing in it was executed"):
        load_checkpoint(evil)
    assert not marker.exists()
