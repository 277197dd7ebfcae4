"""segstudio export / import-masks from the command line (in-process)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segstudio.cli.main import main

from .conftest import build_project, fresh_copy, masks_of, shapes_mask


@pytest.fixture()
def project(tmp_path):
    m = shapes_mask()
    p = build_project(tmp_path / "images", {"a.png": m, "sub/b.png": m[::-1].copy()},
                      extra_images={"p.png": m.shape})
    p.save_prediction(p.find("p.png"), np.where(m == 11, 0, m).astype(np.uint8))
    yield p
    p.close()


def test_help(capsys):
    for cmd in ("export", "import-masks"):
        with pytest.raises(SystemExit) as exit_:
            main([cmd, "--help"])
        assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--format" in out and "--status" in out and "--map VALUE=ID|NAME=ID" in out


@pytest.mark.parametrize("fmt", ["coco", "labelme", "camvid"])
def test_export_then_import(tmp_path, project, capsys, fmt):
    folder = str(project.root)
    out = tmp_path / "out"
    assert main(["export", folder, "--format", fmt, "--out", str(out),
                 "--status", "corrected,predicted"]) == 0
    text = capsys.readouterr().out
    assert "3 images (2 human masks, 1 model predictions)" in text
    assert "from predictions (not checked by a person): p.png" in text
    target = fresh_copy(project, tmp_path / "again")
    assert main(["import-masks", str(target.root), str(out)]) == 0
    assert f"{fmt}: 3 imported, 0 skipped" in capsys.readouterr().out
    target.close()
    from segstudio.core.project import Project
    with Project.open(tmp_path / "again") as again:
        got = masks_of(again)
        assert np.array_equal(got["a.png"], project.load_mask(project.find("a.png")))
        assert np.array_equal(got["p.png"], project.load_prediction(project.find("p.png")))


def test_selection_list_file_and_opacity(tmp_path, project, capsys):
    listing = tmp_path / "list.txt"
    listing.write_text("# chosen\nsub/b.png\n", encoding="utf-8")
    assert main(["export", str(project.root), "--format", "overlay", "--out",
                 str(tmp_path / "ov"), "--images-from", str(listing), "--opacity", "0.3"]) == 0
    manifest = json.loads((tmp_path / "ov/segstudio_export_overlay.json").read_text(
        encoding="utf-8"))
    assert [e["image"] for e in manifest["images"]] == ["sub/b.png"]
    assert (tmp_path / "ov/sub/b.png").is_file() and not (tmp_path / "ov/a.png").exists()


@pytest.mark.parametrize("args, message", [
    (["export", "{folder}", "--format", "coco", "--out", "{out}", "--images", "nope.png"],
     "not images of this project: nope.png"),
    (["export", "{folder}", "--format", "coco", "--out", "{out}", "--status", "unlabelled"],
     "cannot be exported"),
    (["export", "{folder}", "--format", "coco", "--out", "{out}", "--images-from", "/no/list"],
     "list file not found"),
    (["import-masks", "{folder}", "{lm}"], "class names not in the project: 'bus'"),
    (["import-masks", "{folder}", "{out}/x.json"], "no such folder of masks"),
])
def test_bad_input_one_line_nonzero(tmp_path, project, capsys, args, message):
    lm = tmp_path / "lm"
    lm.mkdir()
    (lm / "a.json").write_text(json.dumps({"shapes": [{"label": "bus", "points": [[0, 0], [3, 0],
                                                                                  [3, 3]]}],
                                           "imagePath": "a.png", "imageHeight": 48,
                                           "imageWidth": 64}), encoding="utf-8")
    argv = [a.format(folder=project.root, out=tmp_path / "out", lm=lm) for a in args]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_bad_option_values_are_refused(project, tmp_path, capsys):
    for argv in (["--format", "tiff"], ["--format", "overlay", "--opacity", "1.5"]):
        with pytest.raises(SystemExit) as exit_:
            main(["export", str(project.root), "--out", str(tmp_path / "o"), *argv])
        assert exit_.value.code == 2
    assert "--opacity: 1.5: must be between 0 and 1" in capsys.readouterr().err


def test_refused_files_fail_and_overwrite_replaces(tmp_path, project, capsys):
    out = tmp_path / "out"
    (out / "a.png").parent.mkdir(parents=True)
    (out / "a.png").write_bytes(b"someone else's file")
    assert main(["export", str(project.root), "--format", "index", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "(a.png): differs from the existing file; pass --overwrite" in err[0]
    assert (out / "a.png").read_bytes() == b"someone else's file"
    assert main(["export", str(project.root), "--format", "index", "--out", str(out),
                 "--overwrite"]) == 0
    assert (out / "a.png").read_bytes()[:4] == b"\x89PNG"


def test_import_with_mapping_option(tmp_path, project, capsys):
    lm = tmp_path / "lm"
    lm.mkdir()
    (lm / "p.json").write_text(json.dumps({"shapes": [{"label": "bus", "points": [[0, 0], [3, 0],
                                                                                  [3, 3], [0, 3]]}],
                                           "imagePath": "p.png", "imageHeight": 48,
                                           "imageWidth": 64}), encoding="utf-8")
    assert main(["import-masks", str(project.root), str(lm), "--map", "bus=2"]) == 0
    from segstudio.core.project import Project
    with Project.open(project.root) as again:
        mask = again.load_mask(again.find("p.png"))
    assert (mask[:4, :4] == 2).all() and (mask[5:] == 11).all()
