"""Import rules: class-name mapping, unsafe paths, matching, overwrite, reports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segstudio.core.formats import (
    FormatError,
    UnknownClassesError,
    UnknownValuesError,
    detect_format,
    export_masks,
    import_masks,
)
from segstudio.core.importmasks import import_index_masks, match_masks
from segstudio.core.maskio import write_mask

from .conftest import build_project, fresh_copy, masks_of, shapes_mask


def _labelme(path, image_path, labels, h=8, w=8):
    path.parent.mkdir(parents=True, exist_ok=True)
    shapes = [{"label": lab, "points": [[1, 1], [5, 1], [5, 5]], "shape_type": "polygon"}
              for lab in labels]
    path.write_text(json.dumps({"shapes": shapes, "imagePath": image_path, "imageHeight": h,
                                "imageWidth": w}), encoding="utf-8")


def test_unknown_names_raise_a_typed_error_and_a_mapping_resolves_them(tmp_path):
    project = build_project(tmp_path / "images", {}, extra_images={"a.png": (8, 8),
                                                                   "b.png": (8, 8)})
    _labelme(tmp_path / "lm/a.json", "a.png", ["car", "bus", "Lorry"])
    _labelme(tmp_path / "lm/b.json", "b.png", ["bus"])
    with pytest.raises(UnknownClassesError) as err:
        import_masks(project, tmp_path / "lm")
    assert err.value.names == ["bus", "Lorry"]
    assert "'bus', 'Lorry'" in str(err.value)
    assert all(not r.has_human_mask for r in project.images())  # nothing written
    report = import_masks(project, tmp_path / "lm", mapping={"bus": 2, "lorry": 3})
    assert len(report.imported) == 2
    a = project.load_mask(project.find("a.png"))
    assert a[2, 4] == 3 and a[0, 0] == 11  # the last shape wins, outside is unlabelled
    with pytest.raises(FormatError, match="not a class id"):
        import_masks(project, tmp_path / "lm", mapping={"bus": 99})


def test_ids_of_another_class_table_are_mapped_by_name(tmp_path):
    m = shapes_mask()
    src = build_project(tmp_path / "src", {"a.png": m})
    export_masks(src, tmp_path / "voc", "voc")
    # the target project numbers the same classes differently
    from segstudio.core.classes import ClassInfo, ClassTable
    table = ClassTable((ClassInfo(5, "car", (1, 1, 1)), ClassInfo(6, "tree", (2, 2, 2)),
                        ClassInfo(7, "straße", (3, 3, 3)), ClassInfo(8, "Background", (0, 0, 0)),
                        ClassInfo(9, "void", (4, 4, 4), ignore=True)))
    target = fresh_copy(src, tmp_path / "target", table)
    import_masks(target, tmp_path / "voc")
    lut = np.arange(256, dtype=np.uint8)
    lut[[0, 1, 2, 3, 11]] = [8, 7, 5, 6, 9]
    assert np.array_equal(target.load_mask(target.find("a.png")), lut[m])


@pytest.mark.parametrize("bad", ["../../etc/passwd", "/etc/passwd", "C:\\Windows\\x.png",
                                 "..\\..\\x.png"])
def test_paths_outside_the_folder_are_refused(tmp_path, bad):
    project = build_project(tmp_path / "images", {}, extra_images={"passwd.png": (4, 4),
                                                                   "x.png": (4, 4)})
    doc = {"images": [{"id": 1, "file_name": bad, "height": 4, "width": 4}],
           "annotations": [], "categories": [{"id": 1, "name": "car"}]}
    (tmp_path / "coco.json").write_text(json.dumps(doc), encoding="utf-8")
    report = import_masks(project, tmp_path / "coco.json")
    assert report.imported == [] and len(report.skipped) == 1
    assert "refused" in report.skipped[0][1]
    _labelme(tmp_path / "lm/x.json", bad, ["car"], 4, 4)
    report = import_masks(project, tmp_path / "lm")
    assert report.imported == [] and "refused" in report.skipped[0][1]
    assert all(not r.has_human_mask for r in project.images())


def test_matching_by_relative_path_then_unique_stem(tmp_path):
    project = build_project(tmp_path / "images", {}, extra_images={
        "x/one.png": (6, 6), "y/one.png": (6, 6), "two.jpg": (6, 6), "deep/three.png": (6, 6)})
    masks = tmp_path / "masks"
    for rel, value in [("x/one.png", 1), ("y/one.png", 2), ("elsewhere/two.png", 3),
                       ("three.png", 0), ("one.png", 3), ("nothing.png", 1)]:
        write_mask(masks / rel, np.full((6, 6), value, np.uint8), None)
    report = import_masks(project, masks, "index")
    got = masks_of(project)
    assert got["x/one.png"][0, 0] == 1 and got["y/one.png"][0, 0] == 2
    assert got["two.jpg"][0, 0] == 3 and got["deep/three.png"][0, 0] == 0
    skipped = dict(report.skipped)
    assert "no image with this path" in skipped[str(masks / "nothing.png")]
    assert skipped[str(masks / "one.png")].startswith(  # the stem is ambiguous, and said so
        "its name fits 2 images (x/one.png, y/one.png)")
    matches, orphans = match_masks(project, masks)  # the older API still answers
    assert len(matches) == 4 and len(orphans) == 2


def test_existing_human_masks_are_kept_unless_overwrite(tmp_path):
    m = shapes_mask()
    project = build_project(tmp_path / "images", {"a.png": m, "b.png": m})
    export_masks(project, tmp_path / "out", "coco")
    changed = m.copy()
    changed[0, 0] = 3
    project.save_mask(project.find("b.png"), changed, "reviewed")
    report = import_masks(project, tmp_path / "out")
    assert [f.action for f in sorted(report.files, key=lambda f: f.file)] == [
        "unchanged", "skipped"]
    assert "pass --overwrite" in report.skipped[0][1]
    assert project.find("b.png").status == "reviewed"
    assert np.array_equal(project.load_mask(project.find("b.png")), changed)
    report = import_masks(project, tmp_path / "out", overwrite=True)
    assert len(report.imported) == 1
    assert np.array_equal(project.load_mask(project.find("b.png")), m)
    assert project.find("b.png").status == "corrected"


def test_size_mismatch_is_per_file_and_unknown_values_stop_the_import(tmp_path):
    # unknown values used to skip only their file; they now stop the whole import,
    # before anything is written, listing each value with its pixel count
    project = build_project(tmp_path / "images", {}, extra_images={"a.png": (6, 6),
                                                                   "b.png": (6, 6)})
    masks = tmp_path / "masks"
    write_mask(masks / "a.png", np.zeros((5, 6), np.uint8), None)
    write_mask(masks / "b.png", np.full((6, 6), 42, np.uint8), None)
    with pytest.raises(UnknownValuesError) as err:
        import_index_masks(project, masks)
    assert err.value.counts == {42: 36}
    assert "42 (36 pixels)" in str(err.value) and "--map 42=ID" in str(err.value)
    assert "--unknown-to-ignore" in str(err.value)
    assert project.status_counts()["corrected"] == 0
    report = import_index_masks(project, masks, unknown_to_ignore=True)
    reasons = dict(report.skipped)
    assert "mask is 6x5 but image a.png is 6x6" in reasons[str(masks / "a.png")]
    assert report.imported == [str(masks / "b.png")]
    assert (project.load_mask(project.find("b.png")) == 11).all()


def test_export_keeps_other_files_and_refuses_to_overwrite_different_ones(tmp_path):
    m = shapes_mask()
    project = build_project(tmp_path / "images", {"a.png": m, "b.png": m})
    out = tmp_path / "out"
    (out / "SegmentationClass").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    (out / "SegmentationClass/b.png").write_bytes(b"not the export")
    report = export_masks(project, out, "voc")
    assert report.refused == ["SegmentationClass/b.png"]
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "SegmentationClass/b.png").read_bytes() == b"not the export"
    again = export_masks(project, out, "voc")
    assert again.refused == ["SegmentationClass/b.png"] and not again.written
    assert len(again.unchanged) == len(report.written)
    from segstudio.core.formats import ExportOptions
    forced = export_masks(project, out, "voc", ExportOptions(overwrite=True))
    assert forced.written == ["SegmentationClass/b.png"]
    assert (out / "notes.txt").read_text() == "mine"
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]


def test_selection_status_progress_and_cancel(tmp_path):
    m = shapes_mask()
    project = build_project(tmp_path / "images", {f"{i}.png": m for i in range(5)},
                            extra_images={"p.png": m.shape, "u.png": m.shape})
    project.save_prediction(project.find("p.png"), np.zeros_like(m))
    from segstudio.core.formats import ExportOptions
    report = export_masks(project, tmp_path / "sel", "index", ExportOptions(
        images=["1.png", "p.png", "u.png"]))
    assert [i for i, _ in report.exported] == ["1.png"]
    reasons = dict(report.skipped)
    assert "add 'predicted'" in reasons["p.png"] and "no mask yet" in reasons["u.png"]
    with pytest.raises(FormatError, match="not images of this project: nope.png"):
        export_masks(project, tmp_path / "sel", "index", ExportOptions(images=["nope.png"]))
    with pytest.raises(FormatError, match="nothing to export"):
        export_masks(project, tmp_path / "sel", "index", ExportOptions(images=["u.png"]))
    with pytest.raises(FormatError, match="cannot be exported"):
        export_masks(project, tmp_path / "sel", "index", ExportOptions(statuses=["unlabelled"]))
    calls = []
    polls = iter([False, False])
    report = export_masks(project, tmp_path / "cancel", "coco", ExportOptions(workers=1),
                          progress=lambda d, t: calls.append((d, t)),
                          cancelled=lambda: next(polls, True))
    assert report.cancelled and len(report.exported) == 2
    assert calls[0] == (0, 5) and calls[-1] == (2, 5)
    assert not (tmp_path / "cancel/annotations.json").exists()
    calls.clear()
    report = export_masks(project, tmp_path / "full", "coco", progress=lambda d, t: calls.append(
        (d, t)))
    assert calls[-1] == (5, 5) and not report.cancelled


def test_detection(tmp_path):
    m = shapes_mask()
    project = build_project(tmp_path / "images", {"a.png": m})
    for fmt in ["index", "color", "voc", "camvid", "coco", "labelme"]:
        export_masks(project, tmp_path / fmt, fmt)
        assert detect_format(tmp_path / fmt) == ("index" if fmt == "color" else fmt)
    (tmp_path / "coco/segstudio_export_coco.json").unlink()
    assert detect_format(tmp_path / "coco") == "coco"
    assert detect_format(tmp_path / "coco/annotations.json") == "coco"
    assert detect_format(tmp_path / "labelme/a.json") == "labelme"
    export_masks(project, tmp_path / "overlay", "overlay")
    with pytest.raises(FormatError, match="overlay pictures"):
        import_masks(project, tmp_path / "overlay")
    with pytest.raises(FormatError, match="no such folder of masks"):
        import_masks(project, tmp_path / "missing")


def test_export_never_writes_into_the_image_folder(tmp_path):
    m = shapes_mask()
    project = build_project(tmp_path / "data/images", {"a.png": m})
    before = (tmp_path / "data/images/a.png").read_bytes()
    for out in (tmp_path / "data/images", tmp_path / "data/images/exports"):
        with pytest.raises(FormatError, match="inside the image folder"):
            export_masks(project, out, "index")
    # exporting to the parent: the COCO image copies would land on the sources
    from segstudio.core.formats import ExportOptions
    report = export_masks(project, tmp_path / "data", "labelme",
                          ExportOptions(overwrite=True, classes_json="images/classes.json"))
    refused = {f.path: f.reason for f in report.files if f.action == "refused"}
    assert refused == {"images/classes.json": "it would land in the image folder"}
    report = export_masks(project, tmp_path / "data/images/..", "index")
    assert (tmp_path / "data/images/a.png").read_bytes() == before


def test_colliding_export_names_still_find_their_images(tmp_path):
    m = shapes_mask()
    masks = {"a__b.png": m, "a/b.png": m[::-1].copy(), "c.png": m, "c.jpg": m[:, ::-1].copy()}
    project = build_project(tmp_path / "images", masks)
    for fmt in ("voc", "camvid", "index"):
        report = export_masks(project, tmp_path / fmt, fmt)
        assert len(report.exported) == 4
        target = fresh_copy(project, tmp_path / f"again_{fmt}")
        back = import_masks(target, tmp_path / fmt)
        assert len(back.imported) == 4, (fmt, back.skipped)
        got = masks_of(target)
        assert all(np.array_equal(got[rel], mask) for rel, mask in masks.items()), fmt


def test_import_progress_and_cancel(tmp_path):
    m = shapes_mask()
    project = build_project(tmp_path / "images", {f"{i}.png": m for i in range(4)})
    export_masks(project, tmp_path / "out", "index")
    target = fresh_copy(project, tmp_path / "again")
    calls = []
    polls = iter([False])
    report = import_masks(target, tmp_path / "out", progress=lambda d, t: calls.append((d, t)),
                          cancelled=lambda: next(polls, True))
    assert report.cancelled and len(report.imported) == 1 and calls == [(0, 4)]
    assert "(cancelled)" in report.summary()
    calls.clear()
    report = import_masks(target, tmp_path / "out", progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (4, 4) and len(report.imported) == 3 and len(report.unchanged) == 1


def test_labelme_rectangles_circles_and_other_shapes(tmp_path):
    project = build_project(tmp_path / "images", {}, extra_images={"a.png": (20, 30),
                                                                   "b.png": (20, 30)})
    shapes = [
        {"label": "background", "shape_type": "rectangle", "points": [[0, 0], [29, 19]]},
        {"label": "car", "shape_type": "circle", "points": [[10, 10], [14, 10]]},
        {"label": "tree", "shape_type": "polygon", "points": [[20.4, 2.6], [27.3, 2.6],
                                                              [27.3, 8.4], [20.4, 8.4]]},
        {"label": "tree", "shape_type": "line", "points": [[0, 0], [5, 5]]},
        {"label": "tree", "shape_type": "point", "points": [[3, 3]]},
    ]
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm/a.json").write_text(json.dumps(
        {"shapes": shapes, "imagePath": "a.png", "imageHeight": 20, "imageWidth": 30}))
    (tmp_path / "lm/b.json").write_text(json.dumps(
        {"shapes": [], "imagePath": "b.png", "imageHeight": 20, "imageWidth": 30}))
    report = import_masks(project, tmp_path / "lm", "labelme")
    notes = {f.image: f.reason for f in report.files}
    assert notes["a.png"] == "1 line shapes (no area) left out; 1 point shapes (no area) left out"
    assert notes["b.png"] == "no shapes: imported as all unlabelled"
    a = project.load_mask(project.find("a.png"))
    yy, xx = np.mgrid[:20, :30]
    disc = (yy - 10) ** 2 + (xx - 10) ** 2 <= 16
    assert (a[disc] == 2).all() and a[10, 15] == 0 and a[10, 16] == 0
    # Pillow's polygon, outline included, as labelme paints it: x 20..27, y 2..8
    tree = np.zeros_like(disc)
    tree[2:9, 20:28] = True
    assert np.array_equal(a == 3, tree)
    assert (project.load_mask(project.find("b.png")) == 11).all()


def test_several_formats_share_one_folder(tmp_path):
    m = shapes_mask()
    project = build_project(tmp_path / "images", {"a.png": m})
    for fmt in ("voc", "camvid", "coco", "labelme"):
        report = export_masks(project, tmp_path / "out", fmt)
        assert not report.refused, (fmt, report.refused)
    for fmt in ("voc", "camvid", "coco"):
        target = fresh_copy(project, tmp_path / f"again_{fmt}")
        back = import_masks(target, tmp_path / "out", fmt)
        assert back.imported and np.array_equal(masks_of(target)["a.png"], m), fmt
