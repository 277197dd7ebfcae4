"""Class tables and mask files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from segstudio.core import maskio
from segstudio.core.classes import ClassInfo, ClassTable, default_classes
from segstudio.core.errors import ClassTableError, MaskError


def test_default_set_has_distinct_ignore_class():
    t = default_classes()
    assert [c.name for c in t.classes] == ["background", "object", "unlabelled"]
    assert t.ignore_index == 255
    assert [c.id for c in t.trainable] == [0, 1]
    assert t.unlabelled_value() == 255
    lut = t.train_lut()
    assert lut[0] == 0 and lut[1] == 1 and lut[255] == 255 and lut[7] == 255


def test_camvid_json_loads_with_weights(camvid):
    t = ClassTable.load_json(camvid / "classes.json")
    assert t.ignore_index == 11
    assert t.num_trainable == 11
    assert t.by_id(3).name == "Road" and t.by_id(3).color == (128, 64, 128)
    assert t.weights is not None and len(t.weights) == 11 and t.weights[6] == pytest.approx(9.6446)
    assert t.by_name("road").id == 3


def test_json_roundtrip_keeps_everything(tmp_path):
    t = ClassTable((ClassInfo(0, "Zelle", (1, 2, 3)), ClassInfo(4, "Kern 核", (250, 0, 9)),
                    ClassInfo(9, "void", (5, 5, 5), True)), name="cells", weights=(0.5, 2.0))
    t.save_json(tmp_path / "c.json")
    back = ClassTable.load_json(tmp_path / "c.json")
    assert back == t and back.weights == (0.5, 2.0)
    data = json.loads((tmp_path / "c.json").read_text("utf-8"))
    assert data["ignore_index"] == 9
    assert data["classes"][1] == {"id": 4, "name": "Kern 核", "color": [250, 0, 9]}


@pytest.mark.parametrize("bad, message", [
    ({"classes": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}, "unique"),
    ({"classes": [{"id": 300, "name": "a"}]}, "outside 0..255"),
    ({"classes": [{"id": 0, "name": "a", "ignore": True}, {"id": 1, "name": "b", "ignore": True}]},
     "only one"),
    ({"classes": [{"id": 0, "name": "a", "color": [0, 0, 999]}]}, "not RGB"),
    ({"nothing": 1}, "'classes' list"),
    ({"classes": [{"id": 0, "name": "only", "ignore": True}]}, "at least one class"),
])
def test_bad_tables_are_refused_clearly(tmp_path, bad, message):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad))
    with pytest.raises(ClassTableError, match=message) as err:
        ClassTable.load_json(p)
    assert "bad.json" in str(err.value)


def test_broken_json_names_file(tmp_path):
    p = tmp_path / "broken.json"
    p.write_text("{ not json")
    with pytest.raises(ClassTableError, match=r"broken\.json: not valid JSON"):
        ClassTable.load_json(p)


def test_edits_return_new_tables():
    t = default_classes()
    t2 = t.with_class(ClassInfo(t.next_free_id(), "car", t.next_color()))
    assert t2.by_name("car").id == 2 and t.by_name("car") is None
    assert t2.reordered([255, 2, 1, 0]).ids == [255, 2, 1, 0]
    assert t2.without(1).ids == [0, 255, 2]


def test_mask_png_is_palette_with_ids(tmp_path):
    t = default_classes()
    mask = np.array([[0, 1, 255], [1, 1, 0]], np.uint8)
    maskio.write_mask(tmp_path / "m.png", mask, t.palette())
    im = Image.open(tmp_path / "m.png")
    assert im.mode == "P"
    pal = im.getpalette()
    assert pal[3:6] == list(t.by_id(1).color) and pal[255 * 3:255 * 3 + 3] == [224, 224, 192]
    assert np.array_equal(np.asarray(im), mask)
    assert np.array_equal(maskio.read_mask(tmp_path / "m.png"), mask)
    # any viewer shows it in colour
    assert np.asarray(im.convert("RGB"))[0, 1].tolist() == list(t.by_id(1).color)


def test_colour_coded_mask_maps_to_ids(tmp_path):
    t = default_classes()
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 1] = t.by_id(1).color
    rgb[1, 2] = (224, 224, 192)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    ids = maskio.read_mask(tmp_path / "c.png", t.palette(), t.known_lut())
    assert ids.tolist() == [[0, 1, 0], [0, 0, 255]]
    rgb[0, 0] = (1, 2, 3)
    Image.fromarray(rgb).save(tmp_path / "c2.png")
    with pytest.raises(MaskError, match=r"c2\.png: colour \(1, 2, 3\)"):
        maskio.read_mask(tmp_path / "c2.png", t.palette(), t.known_lut())


def test_16bit_mask_with_small_ids_reads_and_large_refused(tmp_path):
    import cv2

    m = np.array([[0, 3], [7, 255]], np.uint16)
    cv2.imwrite(str(tmp_path / "m16.png"), m)
    assert maskio.read_mask(tmp_path / "m16.png").tolist() == [[0, 3], [7, 255]]
    m[0, 0] = 300
    cv2.imwrite(str(tmp_path / "big.png"), m)
    with pytest.raises(MaskError, match="value 300"):
        maskio.read_mask(tmp_path / "big.png")


def test_broken_mask_files(tmp_path):
    (tmp_path / "z.png").write_bytes(b"")
    with pytest.raises(MaskError, match=r"z\.png.*empty"):
        maskio.read_mask(tmp_path / "z.png")
    (tmp_path / "g.png").write_bytes(b"garbage")
    with pytest.raises(MaskError, match=r"g\.png.*not a readable image"):
        maskio.read_mask(tmp_path / "g.png")


def test_unknown_ids():
    known = default_classes().known_lut()
    assert maskio.unknown_ids(np.array([[0, 200, 1, 17]], np.uint8), known) == [17, 200]
