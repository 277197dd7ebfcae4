"""Imports a hostile tester (or a tired annotator) runs: a second folder of binary masks,
the first folder again with --overwrite, values that would silently become unlabelled,
--map given twice, a stem two images share, a read-only masks/ folder."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from segstudio.cli.main import main
from segstudio.core.project import Project
from tests.readonly_mount import read_only  # noqa: F401 - the fixture

from .conftest import write_image


def _binary(i: int, h: int = 12, w: int = 16) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[2 + i: 8 + i, 3: 9 + i] = 255
    return m


def _save(path, arr) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _run(capsys, *args):
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture()
def binary_project(tmp_path, capsys):
    """Four images; b1 (masks of im0, im1) imported first, b2 (im2, im3) waiting."""
    imgs = tmp_path / "imgs"
    for i in range(4):
        write_image(imgs / f"im{i}.png", 12, 16, seed=i)
    for i in range(4):
        _save(tmp_path / ("b1" if i < 2 else "b2") / f"im{i}.png", _binary(i))
    rc, out, err = _run(capsys, "import-masks", imgs, tmp_path / "b1")
    assert rc == 0, err
    assert "value 255" in out and "-> class 1 value 255" in out
    return tmp_path


def test_a_second_binary_import_reads_255_as_the_first_did(binary_project, capsys):
    imgs = binary_project / "imgs"
    rc, out, err = _run(capsys, "import-masks", imgs, binary_project / "b2")
    assert rc == 0, err
    fg = sum(int((_binary(i) == 255).sum()) for i in (2, 3))
    assert f"value 255 ({fg:,} pixels) -> class 1 value 255 (as the project's earlier " \
           "import)" in out
    with Project.open(imgs) as p:
        for i in range(4):
            assert np.array_equal(p.load_mask(p.find(f"im{i}.png")), _binary(i) // 255), i
    # the index export gives every source mask back, bit for bit
    rc, out, err = _run(capsys, "export", imgs, "--format", "index", "--out",
                        binary_project / "out")
    assert rc == 0, err
    for i in range(4):
        got = np.asarray(Image.open(binary_project / "out" / f"im{i}.png"))
        assert np.array_equal(got, _binary(i)), i
    # the first folder again, with --overwrite: every mask is already what it holds
    rc, out, err = _run(capsys, "import-masks", imgs, binary_project / "b1", "--overwrite")
    assert rc == 0, err
    assert "0 imported, 2 already identical" in out and "trash" not in out


def test_a_value_that_would_become_unlabelled_stops_the_import(binary_project, capsys):
    imgs = binary_project / "imgs"
    # 0/1 masks: the project writes its unlabelled pixels as 1 (255 is class 1 there)
    _save(binary_project / "b3" / "im2.png", _binary(2) // 255)
    rc, out, err = _run(capsys, "import-masks", imgs, binary_project / "b3")
    assert rc == 1 and out == ""
    err = err.strip().splitlines()
    assert len(err) == 1 and "values 1 (" in err[0], err
    assert "would become class 255 unlabelled, which training ignores; nothing was " \
           "imported" in err[0] and "--map 1=ID" in err[0]
    with Project.open(imgs) as p:
        assert p.find("im2.png").status == "unlabelled"
    rc, out, err = _run(capsys, "import-masks", imgs, binary_project / "b3", "--map", "1=1")
    assert rc == 0, err
    with Project.open(imgs) as p:
        assert np.array_equal(p.load_mask(p.find("im2.png")), _binary(2) // 255)


def test_binary_masks_into_a_labelled_project_do_not_lose_their_objects(tmp_path, capsys):
    imgs = tmp_path / "imgs"
    write_image(imgs / "a.png", 12, 16, seed=0)
    write_image(imgs / "b.png", 12, 16, seed=1)
    with Project.open(imgs) as p:  # labelled by hand: the default table, 255 unlabelled
        p.save_mask(p.find("a.png"), np.ones((12, 16), np.uint8))
    _save(tmp_path / "m" / "b.png", _binary(0))
    rc, out, err = _run(capsys, "import-masks", imgs, tmp_path / "m")
    assert rc == 1 and "values 255 (" in err and "would become class 255 unlabelled" in err
    rc, out, err = _run(capsys, "import-masks", imgs, tmp_path / "m", "--map", "255=1")
    assert rc == 0, err
    with Project.open(imgs) as p:
        assert np.array_equal(p.load_mask(p.find("b.png")), _binary(0) // 255)


def test_a_value_mapped_twice_is_an_error(binary_project, capsys):
    rc, out, err = _run(capsys, "import-masks", binary_project / "imgs",
                        binary_project / "b2", "--map", "255=1", "--map", "255=0")
    err = err.strip().splitlines()
    assert rc == 1 and len(err) == 1
    assert err[0] == ("segstudio import-masks: error: --map 255=1 and --map 255=0: 255 is "
                      "mapped twice; give each value or name once")


def test_a_stem_two_images_share_is_named_as_such(tmp_path, capsys):
    imgs = tmp_path / "imgs"
    write_image(imgs / "s1" / "x.png", 12, 16, seed=0)
    write_image(imgs / "s2" / "x.png", 12, 16, seed=1)
    with Project.open(imgs) as p:
        p.save_mask(p.find("s1/x.png"), np.zeros((12, 16), np.uint8))
    _save(tmp_path / "m" / "x.png", np.ones((12, 16), np.uint8))
    rc, out, err = _run(capsys, "import-masks", imgs, tmp_path / "m")
    assert rc == 1
    assert (f"skipped {tmp_path / 'm' / 'x.png'}: its name fits 2 images (s1/x.png, s2/x.png);"
            " put it at the image's relative path to say which") in out


def test_a_read_only_masks_folder_replaces_nothing_and_says_so(binary_project, capsys,
                                                              read_only):  # noqa: F811
    imgs = binary_project / "imgs"
    masks = imgs / ".segstudio" / "masks"
    before = {f: f.read_bytes() for f in masks.iterdir()}
    for i in range(2):  # different masks for the two labelled images
        _save(binary_project / "b4" / f"im{i}.png", 255 - _binary(i))
    read_only(masks)
    rc, out, err = _run(capsys, "import-masks", imgs, binary_project / "b4", "--overwrite")
    assert rc == 1
    assert "0 imported, 2 skipped" in out and "kept in trash" not in out
    assert out.count("cannot write") == 2, out
    assert {f: f.read_bytes() for f in masks.iterdir()} == before
    trash = imgs / ".segstudio" / "trash"
    assert not trash.exists() or not [f for f in trash.rglob("*") if f.is_file()]
