"""The region loop for scripts: propose, answer the regions in partial masks, import them."""

from __future__ import annotations

import json

import cv2
import numpy as np

from segstudio.cli.main import main
from segstudio.core.project import Project
from segstudio.nn.config import TrainConfig
from segstudio.nn.train.engine import fit
from segstudio.nn.train.request import RunRequest
from tests.conftest import write_png


def cli(capsys, *args):
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _trained(tmp_path):
    """Four drawn images, one labelled, and a model trained for two steps on it."""
    folder = tmp_path / "imgs"
    rng = np.random.default_rng(0)
    for i in range(4):
        img = rng.integers(0, 60, (48, 64, 3), np.uint8)
        img[10:30, 20:50] = 200
        write_png(folder / f"im{i}.png", img)
    with Project.open(folder) as p:
        rec = p.images()[0]
        mask = np.zeros((48, 64), np.uint8)
        mask[10:30, 20:50] = 1
        p.save_mask(rec, mask, "corrected")
        cfg = TrainConfig(arch="segnet-basic", width=0.25, batch_size=1, crop=(32, 32),
                          val_split=0.0, imagenet=None, precise_bn=0)
        events = list(fit(p, RunRequest(config=cfg, budget="2 steps", start="scratch"),
                          device="cpu"))
        assert events[-1].status == "completed"
        assert p.settings.get("active_checkpoint")
    return folder


def test_propose_answer_with_partial_masks_and_import_them(tmp_path, capsys):
    folder = _trained(tmp_path)
    out_dir = tmp_path / "queue"
    rc, out, err = cli(capsys, "propose", folder, "--regions", "6", "--size", "8",
                       "--device", "cpu", "--out", out_dir)
    assert rc == 0, err
    assert "6 regions from 3 images" in out  # the corrected image is not proposed
    queue = json.loads((out_dir / "proposals.json").read_text())
    assert len(queue["regions"]) == 6 and queue["classes"]["1"] == "object"
    # a script answers the first three regions: class 1 on their superpixels, the rest
    # of each mask unlabelled (255)
    answers = tmp_path / "answers"
    answered: dict[str, list[int]] = {}
    for reg in queue["regions"][:3]:
        answered.setdefault(reg["image"], []).append(reg["segment"])
    for rel, segs in answered.items():
        sp = cv2.imread(str(out_dir / "superpixels" / (rel + ".png")), cv2.IMREAD_UNCHANGED)
        assert sp.dtype == np.uint16 and sp.shape == (48, 64)
        mask = np.full((48, 64), 255, np.uint8)
        mask[np.isin(sp, segs)] = 1
        write_png(answers / rel, mask)
    rc, out, err = cli(capsys, "import-masks", folder, answers, "--partial")
    assert rc == 0, err
    with Project.open(folder) as p:
        counts = p.status_counts()
        assert counts["partial"] == len(answered) and counts["corrected"] == 1
        for rel, segs in answered.items():
            sp = cv2.imread(str(out_dir / "superpixels" / (rel + ".png")), cv2.IMREAD_UNCHANGED)
            mask = p.load_mask(p.find(rel))
            assert np.array_equal(mask == 1, np.isin(sp, segs))  # exactly the answers
            assert ((mask == 1) | (mask == 255)).all()
    # the next answers merge into the partial masks instead of replacing them
    rel, segs = next(iter(answered.items()))
    sp = cv2.imread(str(out_dir / "superpixels" / (rel + ".png")), cv2.IMREAD_UNCHANGED)
    other = int(next(s for s in np.unique(sp) if s not in segs))
    more = np.full((48, 64), 255, np.uint8)
    more[sp == other] = 0
    write_png(tmp_path / "more" / rel, more)
    rc, out, err = cli(capsys, "import-masks", folder, tmp_path / "more", "--partial")
    assert rc == 0, err
    with Project.open(folder) as p:
        mask = p.load_mask(p.find(rel))
        assert np.array_equal(mask == 1, np.isin(sp, segs)) and (mask[sp == other] == 0).all()
        assert p.find(rel).status == "partial"
    # a new queue leaves the answered regions out
    rc, out, err = cli(capsys, "propose", folder, "--regions", "200", "--size", "8",
                       "--device", "cpu", "--json")
    assert rc == 0, err
    again = {(r["image"], r["segment"]) for r in json.loads(out)["regions"]}
    assert not again & {(rel, s) for rel, ss in answered.items() for s in ss}
    rc, out, err = cli(capsys, "info", folder)
    assert "partial " + str(len(answered)) in out


def test_a_partial_import_does_not_change_labelled_pixels_without_overwrite(tmp_path, capsys):
    folder = tmp_path / "imgs"
    write_png(folder / "a.png", np.zeros((8, 8, 3), np.uint8))
    with Project.open(folder) as p:
        mask = np.full((8, 8), 255, np.uint8)
        mask[:4] = 1
        p.save_mask(p.images()[0], mask, "partial")
    answer = np.full((8, 8), 255, np.uint8)
    answer[2:6] = 0  # rows 2-3 were labelled 1 already
    write_png(tmp_path / "ans" / "a.png", answer)
    rc, out, _err = cli(capsys, "import-masks", folder, tmp_path / "ans", "--partial")
    assert rc == 1 and "16 labelled pixels of a.png's human mask would change" in out
    rc, out, err = cli(capsys, "import-masks", folder, tmp_path / "ans", "--partial",
                       "--overwrite")
    assert rc == 0, err
    with Project.open(folder) as p:
        got = p.load_mask(p.images()[0])
        assert (got[:2] == 1).all() and (got[2:6] == 0).all() and (got[6:] == 255).all()
        assert len(list((p.project_dir / "trash").rglob("a.png.png"))) == 1
