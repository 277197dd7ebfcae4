"""segstudio classes --import of hostile class tables: each refused in one line naming the
file, the project's table unchanged; a table without an ignore class gets one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segstudio.cli.main import main
from segstudio.core.project import Project
from tests.conftest import write_png
from tests.fifo_probe import FifoProbe


def _classes(*entries, **top) -> dict:
    return {"classes": [{"id": i, "name": n} for i, n in entries], **top}


@pytest.fixture()
def folder(tmp_path):
    write_png(tmp_path / "imgs" / "a.png", np.zeros((8, 8, 3), np.uint8))
    return tmp_path / "imgs"


CASES = {
    "nested": ("[" * 100_000 + "]" * 100_000, "not a class table (nested too deeply)"),
    "ignore_index x": (_classes((0, "a"), ignore_index="x"),
                       '"ignore_index" \'x\' is not a class id 0..255'),
    "weights text": (_classes((0, "a"), (1, "b"), ignore_index=255,
                              median_frequency_weights=["heavy", 1]),
                     '"median_frequency_weights" must be a list of numbers'),
    "weights nan": ('{"classes": [{"id": 0, "name": "a"}, {"id": 1, "name": "b"}], '
                    '"ignore_index": 255, "median_frequency_weights": [NaN, 1]}',
                    "must be finite, not negative and not all 0"),
    "weights inf": ('{"classes": [{"id": 0, "name": "a"}, {"id": 1, "name": "b"}], '
                    '"ignore_index": 255, "median_frequency_weights": [Infinity, 1]}',
                    "must be finite, not negative and not all 0"),
    "weights negative": (_classes((0, "a"), (1, "b"), ignore_index=255,
                                  median_frequency_weights=[-1, 2]),
                         "must be finite, not negative and not all 0"),
    "255 trainable": (_classes((0, "a"), (255, "void")),
                      "no class is the unlabelled (ignore) one, and unlabelled pixels (255) "
                      "would be trained as 'void'"),
    "newline": (_classes((0, "a\nb"), ignore_index=255), "holds the control character '\\n'"),
    "escape": (_classes((0, "\x1b[31mred"), ignore_index=255),
               "holds the control character '\\x1b'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_class_table_is_refused_in_one_line(folder, tmp_path, capsys, case):
    doc, said = CASES[case]
    path = tmp_path / "table.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    with Project.open(folder) as p:
        before = p.classes
    rc = main(["classes", str(folder), "--import", str(path)])
    out = capsys.readouterr()
    err = out.err.strip().splitlines()
    assert rc == 1 and out.out == ""
    assert len(err) == 1 and err[0].startswith(f"segstudio classes: error: {path}: "), err
    assert said in err[0] and "\x1b" not in err[0]
    with Project.open(folder) as p:
        assert p.classes == before


def test_a_fifo_or_a_device_as_class_table_is_refused_unread(folder, tmp_path, capsys):
    probe = FifoProbe(tmp_path / "table.json", "reader")
    try:
        rc = main(["classes", str(folder), "--import", str(probe.path)])
    finally:
        probe.close()
    assert probe.opened == 0
    assert rc == 1 and "a FIFO (named pipe), not a regular file" in capsys.readouterr().err
    rc = main(["classes", str(folder), "--import", "/dev/zero"])
    assert rc == 1 and "/dev/zero: a character device" in capsys.readouterr().err


def test_a_table_without_an_ignore_class_gets_unlabelled_at_255(folder, tmp_path, capsys):
    path = tmp_path / "table.json"
    path.write_text(json.dumps(_classes((0, "sky"), (1, "road"))))
    assert main(["classes", str(folder), "--import", str(path)]) == 0
    capsys.readouterr()
    with Project.open(folder) as p:
        assert [(c.id, c.name, c.ignore) for c in p.classes.classes] == [
            (0, "sky", False), (1, "road", False), (255, "unlabelled", True)]
