"""The editor's Qt-free tool options: clamping, one typed signal per real change (psygnal),
the stored values and what "preserve other classes" lets the tools overwrite."""

import numpy as np

from segstudio.core import edits
from segstudio.core.classes import ClassInfo, ClassTable
from segstudio.core.editor_state import MAX_RADIUS, EditorOptions, preserved_lut

TABLE = ClassTable((ClassInfo(0, "sky", (128, 128, 128)), ClassInfo(3, "car", (64, 0, 128)),
                    ClassInfo(7, "road", (128, 64, 128), background=True),
                    ClassInfo(255, "unlabelled", (0, 0, 0), ignore=True)))


def test_values_are_clamped_and_each_real_change_is_reported_once():
    opts = EditorOptions()
    seen = []
    opts.events.connect(lambda info: seen.append((info.signal.name, *info.args)))
    radii = []
    opts.events.radius.connect(radii.append)
    assert opts.set_radius(10_000) and opts.radius == MAX_RADIUS
    assert not opts.set_radius(MAX_RADIUS + 5)  # clamps to the same value: no report
    assert opts.set_tolerance(-4) is False and opts.tolerance == 0
    assert opts.set_tolerance(300) and opts.tolerance == 255
    assert opts.set_preserve(True) and not opts.set_preserve(True)
    assert opts.set_replace_from(3) and opts.set_active_class(7)
    assert seen == [("radius", MAX_RADIUS, 8), ("tolerance", 255, 0), ("preserve", True, False),
                    ("replace_from", 3, None), ("active_class", 7, None)]
    assert radii == [MAX_RADIUS]  # each field has its own typed signal (new value, old)
    assert EditorOptions(radius=-3, tolerance=999).radius == 0  # made clamped too


def test_grow_radius_steps_fifteen_percent_and_at_least_one_pixel():
    opts = EditorOptions(radius=2)
    opts.grow_radius(+1)
    assert opts.radius == 3
    opts.set_radius(100)
    opts.grow_radius(+1)
    assert opts.radius == 115
    opts.grow_radius(-1)
    assert opts.radius == 98  # 15 % of 115 is 17
    opts.set_radius(0)
    opts.grow_radius(-1)
    assert opts.radius == 0


def test_settings_round_trip_and_bad_stored_values_take_defaults():
    opts = EditorOptions(radius=21, tolerance=12, preserve=True)
    back = EditorOptions.from_settings({k: str(v) for k, v in opts.settings().items()})
    assert (back.radius, back.tolerance, back.preserve) == (21, 12, True)
    bad = EditorOptions.from_settings({"radius": "wide", "tolerance": None, "preserve": "yes"})
    assert (bad.radius, bad.tolerance, bad.preserve) == (8, 0, False)
    assert EditorOptions.from_settings({"radius": 9999.0}).radius == MAX_RADIUS



def test_paint_class_needs_a_class_of_the_table():
    opts = EditorOptions(active_class=None)
    assert opts.paint_class(TABLE) is None
    opts.set_active_class(5)  # not in the table
    assert opts.paint_class(TABLE) is None
    opts.set_active_class(3)
    assert opts.paint_class(TABLE) == 3


def test_preserve_lets_tools_overwrite_only_unlabelled_and_background_pixels():
    opts = EditorOptions()
    assert opts.allowed(TABLE) is None  # switch off: everything may change
    opts.set_preserve(True)
    lut = opts.allowed(TABLE)
    assert lut is not None and np.flatnonzero(lut).tolist() == [7, 255]
    assert opts.allowed(TABLE) is lut  # kept for the same table
    mask = np.array([[0, 3, 7, 255]], np.uint8)
    edits.fill_rect(mask, (0, 0), (4, 1), 3, allowed=lut)
    assert mask.tolist() == [[0, 3, 3, 3]]
    bare = ClassTable((ClassInfo(0, "a", (1, 1, 1)), ClassInfo(1, "b", (2, 2, 2))))
    assert preserved_lut(bare) is None
    assert not opts.allowed(bare).any()  # nothing is background: no pixel may change


def test_a_new_table_forgets_a_deleted_replace_source():
    opts = EditorOptions()
    opts.set_replace_from(3)
    seen = []
    opts.events.connect(lambda info: seen.append(info.signal.name))
    opts.classes_changed(TABLE)
    assert opts.replace_from == 3
    small = ClassTable((ClassInfo(0, "sky", (128, 128, 128)),))
    tables = []
    opts.events.table.connect(tables.append)
    opts.classes_changed(small)
    assert opts.replace_from is None and seen == ["table", "replace_from", "table"]
    assert tables == [small]
