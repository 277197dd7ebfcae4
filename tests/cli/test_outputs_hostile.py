"""Outputs that are not regular files: a FIFO, a symbolic link or a device node given to
export-model --out, classes --export, eval --json or train --out is refused in one line
(before the work) and left as it was, never replaced by a file."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import torch

from segstudio.cli.main import main
from segstudio.core.project import Project
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, SegNetBasic
from segstudio.nn.runs.checkpoint import checkpoint_dict, save_checkpoint
from tests.conftest import write_png


@pytest.fixture()
def project_and_model(tmp_path):
    folder = tmp_path / "imgs"
    rng = np.random.default_rng(0)
    for i in range(2):
        write_png(folder / f"im{i}.png", rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    with Project.open(folder) as p:
        for rec in p.images():
            m = np.zeros((32, 32), np.uint8)
            m[8:24, 8:24] = 1
            p.save_mask(rec, m)
        torch.manual_seed(0)
        data = checkpoint_dict(SegNetBasic(2, 3, width=0.25), p.classes, IMAGENET_MEAN,
                               IMAGENET_STD)
    return folder, save_checkpoint(tmp_path / "model.pt", data)


def _targets(tmp_path):
    """name -> (path, a check that it is still what it was)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    aim = tmp_path / "aim.txt"
    aim.write_text("keep me\n")
    link = tmp_path / "link"
    os.symlink(aim, link)
    out = {"FIFO": (fifo, lambda: stat.S_ISFIFO(os.lstat(fifo).st_mode)),
           "symbolic link": (link, lambda: link.is_symlink()
                             and aim.read_text() == "keep me\n")}
    if os.geteuid() == 0:  # a node like /dev/full (1, 7), made where the test may write
        dev = tmp_path / "full"
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 7))
        out["character device"] = (dev, lambda: stat.S_ISCHR(os.lstat(dev).st_mode))
    return out


@pytest.mark.parametrize("command", ["export-model", "classes", "eval", "train"])
def test_an_output_that_is_not_a_regular_file_is_refused(project_and_model, tmp_path, capsys,
                                                         command):
    folder, model = project_and_model
    where = tmp_path / "targets"
    where.mkdir()
    for kind, (path, unchanged) in _targets(where).items():
        args = {"export-model": ["export-model", str(model), "--format", "torchscript",
                                 "--no-check", "--out", str(path)],
                "classes": ["classes", str(folder), "--export", str(path)],
                "eval": ["eval", str(folder), "--checkpoint", str(model), "--split", "all",
                         "--device", "cpu", "--json", str(path)],
                "train": ["train", str(folder), "--epochs", "1", "--batch-size", "2", "--crop",
                          "32x32", "--device", "cpu", "--imagenet", "none", "--from", "scratch",
                          "--out", str(path)]}[command]
        rc = main(args)
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 1, (kind, err)
        assert len(err) == 1 and "Traceback" not in err[0], err
        assert f"{path}: is a" in err[0] and kind in err[0], err
        assert unchanged(), f"{command} replaced the {kind} {path}"

