"""Masks as users have them: binary 0/255, {0, 1, 2} and 16-bit values import exactly,
the report says what each value became, and an index export gives the values back."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from segstudio.cli.main import main
from segstudio.core.project import Project

from .conftest import TABLE, write_image


def _images(folder, names, h=12, w=16):
    for i, n in enumerate(names):
        write_image(folder / n, h, w, seed=i)


def _masks(h=12, w=16):
    yy, xx = np.mgrid[:h, :w]
    a = np.where((yy - 6) ** 2 + (xx - 8) ** 2 <= 16, 1, 0)
    b = np.where(xx > 10, 2, np.where(yy < 4, 1, 0))
    return a, b


def _write(path, arr, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr, mode=mode).save(path)


def _read(path):
    return np.asarray(Image.open(path))


CASES = {
    # name: (value of each index, dtype)
    "binary": ([0, 255], np.uint8),
    "three": ([0, 1, 2], np.uint8),
    "sixteen": ([0, 1000, 2000], np.uint16),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_value_masks_round_trip_exactly_through_import_and_export(tmp_path, capsys, case):
    values, dtype = CASES[case]
    a, b = _masks()
    if case == "binary":
        b = (b > 0).astype(int)
    lut = np.array(values, dtype)
    src = {"a.png": lut[a], "b.png": lut[b]}
    _images(tmp_path / "imgs", src)
    for name, arr in src.items():
        _write(tmp_path / "masks" / name, arr)
        assert _read(tmp_path / "masks" / name).dtype == dtype
    assert main(["import-masks", str(tmp_path / "imgs"), str(tmp_path / "masks")]) == 0
    out = capsys.readouterr().out
    assert "index: 2 imported, 0 skipped, 0 images without a mask" in out
    n_bg = int((a == 0).sum() + (b == 0).sum())
    assert f"value 0 ({n_bg:,} pixels) -> class 0 value 0" in out
    with Project.open(tmp_path / "imgs") as p:
        table = p.classes
        if case == "binary":
            assert [(c.id, c.name, c.ignore) for c in table.classes] == [
                (0, "value 0", False), (1, "value 255", False), (255, "unlabelled", True)]
            assert f"value 255 ({int((a == 1).sum() + (b == 1).sum()):,} pixels) -> class 1 " \
                   "value 255" in out
        elif case == "three":
            assert [c.name for c in table.classes] == ["value 0", "value 1", "value 2",
                                                       "unlabelled"]
            assert table.ids == [0, 1, 2, 255]
        else:
            assert [(c.id, c.name) for c in table.classes] == [
                (0, "value 0"), (1, "value 1000"), (2, "value 2000"), (255, "unlabelled")]
        # the stored masks hold class ids: never an imported value made "unlabelled"
        assert np.array_equal(p.load_mask(p.find("a.png")), a.astype(np.uint8))
        assert np.array_equal(p.load_mask(p.find("b.png")), b.astype(np.uint8))
    assert main(["export", str(tmp_path / "imgs"), "--format", "index", "--out",
                 str(tmp_path / "out")]) == 0
    for name, arr in src.items():
        got = _read(tmp_path / "out" / name)
        assert got.dtype == dtype and np.array_equal(got, arr), name
    # and the export imports back into a fresh project as the same masks
    _images(tmp_path / "again", src)
    assert main(["import-masks", str(tmp_path / "again"), str(tmp_path / "out")]) == 0
    capsys.readouterr()
    with Project.open(tmp_path / "again") as q:
        assert np.array_equal(q.load_mask(q.find("a.png")), a.astype(np.uint8))
        assert np.array_equal(q.load_mask(q.find("b.png")), b.astype(np.uint8))


def _labelled_project(tmp_path):
    a, b = _masks()
    _images(tmp_path / "imgs", ["a.png", "b.png"])
    with Project.open(tmp_path / "imgs") as p:
        p.set_classes(TABLE)  # ids 0, 1, 2, 3 and 11 (unlabelled)
    return a, b


def test_map_value_to_id_and_unknown_values_stop_with_counts(tmp_path, capsys):
    a, b = _labelled_project(tmp_path)
    _write(tmp_path / "masks/a.png", np.where(a == 1, 255, 0).astype(np.uint8))
    _write(tmp_path / "masks/b.png", np.where(b == 2, 40, b).astype(np.uint8))
    folder, masks = str(tmp_path / "imgs"), str(tmp_path / "masks")
    assert main(["import-masks", folder, masks]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"40 ({int((b == 2).sum()):,} pixels), 255 ({int((a == 1).sum()):,} pixels)" in err[0]
    assert "--map 40=ID" in err[0] and "--unknown-to-ignore" in err[0]
    with Project.open(tmp_path / "imgs") as p:
        assert p.status_counts()["corrected"] == 0
    # a value that no mask holds, a name where the files hold values, an unknown id
    for bad, said in ((["--map", "7=1"], "--map 7=1: no mask in"),
                      (["--map", "car=2"], "--map car=2: the masks in"),
                      (["--map", "255=9", "--map", "40=2"], "--map 255=9: 9 is not a class id")):
        assert main(["import-masks", folder, masks, *bad]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and said in err[0], err
    assert main(["import-masks", folder, masks, "--map", "255=1", "--map", "40=3"]) == 0
    out = capsys.readouterr().out
    assert f"value 255 ({int((a == 1).sum()):,} pixels) -> class 1 Straße (your --map)" in out
    assert "value 40" in out and "-> class 3 tree (your --map)" in out
    with Project.open(tmp_path / "imgs") as p:
        assert np.array_equal(p.load_mask(p.find("a.png")), a.astype(np.uint8))
        assert np.array_equal(p.load_mask(p.find("b.png")), np.where(b == 2, 3, b))
    # --unknown-to-ignore is the user's choice to make them unlabelled
    assert main(["import-masks", folder, masks, "--unknown-to-ignore", "--overwrite"]) == 0
    capsys.readouterr()
    with Project.open(tmp_path / "imgs") as p:
        assert np.array_equal(p.load_mask(p.find("a.png")), np.where(a == 1, 11, 0))


def test_unknown_name_key_is_an_error_naming_it(tmp_path, capsys):
    _labelled_project(tmp_path)
    lm = tmp_path / "lm"
    lm.mkdir()
    (lm / "a.json").write_text(json.dumps({
        "shapes": [{"label": "bus", "points": [[0, 0], [3, 0], [3, 3]]}],
        "imagePath": "a.png", "imageHeight": 12, "imageWidth": 16}), encoding="utf-8")
    assert main(["import-masks", str(tmp_path / "imgs"), str(lm), "--map", "bsu=2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--map bsu=2: no class named 'bsu'" in err[0] and "bus" in err[0]


def test_voc_void_border_becomes_unlabelled_in_a_proposed_table(tmp_path, capsys):
    a, _ = _masks()
    _images(tmp_path / "imgs", ["a.png"])
    voc = np.where(a == 1, 15, 0).astype(np.uint8)
    voc[0, :] = 255  # VOC's void border
    _write(tmp_path / "voc/SegmentationClass/a.png", voc)
    assert main(["import-masks", str(tmp_path / "imgs"), str(tmp_path / "voc")]) == 0
    out = capsys.readouterr().out
    assert "value 255 (16 pixels) -> class 255 unlabelled" in out
    assert "-> class 15 value 15" in out
    with Project.open(tmp_path / "imgs") as p:
        assert np.array_equal(p.load_mask(p.find("a.png")), voc)
        assert p.classes.ids == [0, 15, 255]


def test_a_binary_proposal_names_no_object_and_shows_on_the_image(tmp_path, capsys):
    """Issue 25, item 15: a 0/255 import named 0 "background", marked it BG and coloured it
    black, which hid the EM membranes (value 0) in the overlay.  Each value is named for
    itself, none is background, and every colour is saturated (none black, white or grey)."""
    from segstudio.core.classes import BACKGROUND_SETTING, DISTINCT_COLORS
    from segstudio.gui.project_controller import project_classes

    a, b = _masks()
    _images(tmp_path / "imgs", ["a.png", "b.png"])
    _write(tmp_path / "masks/a.png", np.where(a == 1, 255, 0).astype(np.uint8))
    _write(tmp_path / "masks/b.png", np.where(b == 1, 255, 0).astype(np.uint8))
    with Project.open(tmp_path / "imgs") as p:
        p.set_setting(BACKGROUND_SETTING, [0])  # marked in the default table before
    assert main(["import-masks", str(tmp_path / "imgs"), str(tmp_path / "masks")]) == 0
    capsys.readouterr()
    with Project.open(tmp_path / "imgs") as p:
        table = project_classes(p)
        assert [(c.id, c.name, c.background) for c in table.classes] == [
            (0, "value 0", False), (1, "value 255", False), (255, "unlabelled", False)]
        colours = [c.color for c in table.classes if not c.ignore]
        assert colours == DISTINCT_COLORS[:2]
        for rgb in colours:
            assert max(rgb) - min(rgb) >= 100  # saturated: shows on a grey micrograph
