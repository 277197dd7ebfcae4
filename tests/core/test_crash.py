"""Kill a process that is saving masks, at random moments, 50 times.

Afterwards every mask must open and equal either its previous or its new
content, and the database must pass PRAGMA integrity_check."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from segstudio.core.project import Project
from tests.conftest import write_png
from tests.core.crash_child import decode_version, make_mask, table
from tests.sigkill import run_and_kill

CHILD = Path(__file__).with_name("crash_child.py")


def _run_and_kill(folder: Path, start: int, delay: float) -> list[list[str]]:
    return run_and_kill(CHILD, [str(folder), str(start)], delay)


def test_sigkill_while_saving_never_corrupts(tmp_path):
    folder = tmp_path / "imgs"
    for i in range(3):
        write_png(folder / f"im{i}.png", np.zeros((384, 512, 3), np.uint8))
    with Project.open(folder) as p:
        p.set_classes(table())
        recs = p.images()
        for i, rec in enumerate(recs):
            p.save_mask(rec, make_mask(i, 0))
    committed = {i: 0 for i in range(3)}
    rnd = random.Random(1234)
    start = 1
    kills_mid_write = 0
    for _ in range(50):
        lines = _run_and_kill(folder, start, rnd.uniform(0.0, 0.25))
        inflight: dict[int, int] = {}
        for kind, i, v in lines:
            i, v = int(i), int(v)
            if kind == "begin":
                inflight[i] = v
            else:
                committed[i] = v
                inflight.pop(i, None)
        kills_mid_write += bool(inflight)
        with Project.open(folder, scan=False) as p:
            assert p.db.integrity_check() == "ok"
            for i, rec in enumerate(p.images()):
                mask = p.load_mask(rec)  # opens: never a broken file
                v = decode_version(mask)
                allowed = {committed[i]} | ({inflight[i]} if i in inflight else set())
                assert v in allowed, (i, v, allowed)
                assert np.array_equal(mask, make_mask(i, v))
                committed[i] = v
                assert rec.status == "corrected"
        start = max(committed.values()) + 1
        leftovers = list((folder / ".segstudio" / "masks").glob(".*tmp-*"))
        assert leftovers == []  # temp files of the dead child are swept on open
    assert start > 50  # the child really saved many versions
    assert kills_mid_write > 0  # some kills landed inside a save
