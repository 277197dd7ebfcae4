"""Checkpoints a hostile tester makes: a zip bomb, records larger than the model, fields
that are not numbers, random bytes, a full disk while one is written.  Each is one clear
error naming the file; nothing is read that the model does not need."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from segstudio.cli.main import main
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, SegNetBasic
from segstudio.nn.runs import checkpoint as C
from segstudio.nn.runs.checkpoint import CheckpointError, checkpoint_dict, load_checkpoint
from tests.cli.conftest import small_disk  # noqa: F401 - the fixture

from .test_checkpoint import CLASSES


def _data(**train_state) -> dict:
    torch.manual_seed(0)
    model = SegNetBasic(3, 3, width=0.25)
    return checkpoint_dict(model, CLASSES, IMAGENET_MEAN, IMAGENET_STD, train_state or None,
                           run_id=1, epoch=2, metrics={"miou": 0.5})


def _save(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path)
    return path


def test_compressed_records_are_refused_before_they_are_inflated(tmp_path):
    plain = _save(tmp_path / "plain.pt", _data(big=torch.zeros(4 << 20)))  # 16 MiB of zeros
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    assert bomb.stat().st_size < plain.stat().st_size // 40  # it inflates 40-fold
    with pytest.raises(CheckpointError, match=r"bomb.pt: its record .* is compressed, which "
                       r"torch.save never does .*refused before reading it"):
        load_checkpoint(bomb)


def test_records_larger_than_the_model_needs_are_refused_unread(tmp_path, monkeypatch):
    model_bytes = sum(t.numel() * t.element_size() for t in _data()["model_state"].values())
    # a "training state" six times the model: more than weights + optimizer state can be
    path = _save(tmp_path / "fat.pt", _data(extra=torch.zeros(6 * model_bytes // 4)))
    monkeypatch.setattr(C, "SLACK_BYTES", 0)  # so that a small file shows the bound
    loads = []
    real = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(k["map_location"])
                        or real(*a, **k))
    with pytest.raises(CheckpointError, match=r"fat.pt: its records hold .* MiB but a "
                       r"segnet-basic width 0.25 model and its training state need at most"):
        load_checkpoint(path)
    assert loads == ["meta"]  # only the pickle was read; no tensor data
    # the same model with an optimizer's state (2 per weight) loads
    ok = _save(tmp_path / "ok.pt", _data(extra=torch.zeros(2 * model_bytes // 4)))
    assert load_checkpoint(ok).epoch == 2


@pytest.mark.parametrize("field, value, said", [
    ("version", "abc", "version 'abc' is not a number"),
    ("num_classes", "x", "model_config num_classes 'x' is not a whole number"),
    ("in_channels", "three", "model_config in_channels 'three' is not a whole number"),
    ("width", 1e9, "model_config width 1000000000.0 is not a number in"),
    ("miou", "x", "metrics.miou 'x' is not a number"),
    ("epoch", "2", "epoch '2' is not a number"),
])
def test_fields_that_are_not_numbers_are_a_damaged_checkpoint(tmp_path, capsys, field, value,
                                                               said):
    data = _data()
    if field in ("num_classes", "in_channels", "width"):
        data["model_config"][field] = value
    elif field == "miou":
        data["metrics"]["miou"] = value
    else:
        data[field] = value
    path = _save(tmp_path / "odd.pt", data)
    with pytest.raises(CheckpointError, match=f"odd.pt: damaged .*{said}"):
        load_checkpoint(path)
    # the command line says so in one line, no traceback
    rc = main(["export-model", str(path), "--format", "torchscript", "--out",
               str(tmp_path / "m.ts")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and said in err[0] and "Traceback" not in err[0]


def test_random_bytes_are_not_called_code(tmp_path):
    junk = tmp_path / "random.pt"
    junk.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, np.uint8).tobytes())
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(junk)
    assert "not a PyTorch zip file" in str(info.value)
    assert "run code" not in str(info.value)


def test_a_full_disk_while_a_checkpoint_is_written_says_so(small_disk):  # noqa: F811
    data = _data(extra=torch.zeros(1 << 20))  # 4 MiB: more than the 2 MiB disk
    path = small_disk / "best.pt"
    path.write_bytes(b"the previous checkpoint")
    with pytest.raises(Exception) as info:
        C.save_checkpoint(path, data)
    text = str(info.value)
    assert "disk full while writing" in text and str(path) in text, text
    assert "enforce fail" not in text
    assert path.read_bytes() == b"the previous checkpoint"
    assert os.listdir(small_disk) == ["best.pt"]
