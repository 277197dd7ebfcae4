"""Files an import or an export reads that a user can make hostile: an annotation file of
100 000 nested brackets, a FIFO as the list of images, a device as a COCO file.  One
line each, nothing blocks, nothing is read to its end."""

from __future__ import annotations

import os

import numpy as np

from segstudio.cli.main import main
from segstudio.core.project import Project
from tests.fifo_probe import FifoProbe

from .conftest import write_image


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_hostile_annotation_files_and_lists_are_refused_in_one_line(tmp_path, capsys):
    imgs = tmp_path / "imgs"
    write_image(imgs / "a.png", 8, 8, seed=0)
    with Project.open(imgs) as p:
        p.save_mask(p.find("a.png"), np.zeros((8, 8), np.uint8))
    nested = tmp_path / "coco.json"
    nested.write_text('{"images": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert main(["import-masks", str(imgs), str(nested), "--format", "coco"]) == 1
    assert f"{nested}: not a readable JSON file (nested too deeply)" in _err(capsys)
    dev = tmp_path / "zero.json"
    os.symlink("/dev/zero", dev)
    assert main(["import-masks", str(imgs), str(dev), "--format", "coco"]) == 1
    assert f"{dev}: no COCO JSON file found" in _err(capsys)
    probe = FifoProbe(tmp_path / "fifo.json", "reader")
    try:
        rc = main(["import-masks", str(imgs), str(probe.path), "--format", "coco"])
    finally:
        probe.close()
    assert probe.opened == 0 and rc == 1
    assert f"{probe.path}: no COCO JSON file found" in _err(capsys)
    probe = FifoProbe(tmp_path / "list.txt", "reader")
    try:
        rc = main(["export", str(imgs), "--format", "index", "--out", str(tmp_path / "out"),
                   "--images-from", str(probe.path)])
    finally:
        probe.close()
    assert probe.opened == 0 and rc == 1
    assert "a FIFO (named pipe), not a regular file" in _err(capsys)
