"""A window killed (SIGKILL) while it paints and autosaves leaves valid masks.

The child (editor_crash_child.py) runs the real main window offscreen, paints
through the canvas and autosaves every 30 ms; it prints the SHA1 of every
array it is about to save.  After each kill every mask file must open and
equal either the mask it had before that run or one of those arrays."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from segstudio.core import maskio
from segstudio.core.project import Project
from tests.sigkill import run_and_kill

CHILD = Path(__file__).with_name("editor_crash_child.py")


def _disk_state(folder: Path) -> dict[str, str | None]:
    with Project.open(folder, scan=False) as p:
        assert p.db.integrity_check() == "ok"
        out = {}
        for rec in p.images():
            path = p.mask_path(rec)
            # read_mask raises on a broken or partial file
            out[rec.relpath] = (hashlib.sha1(maskio.read_mask(path).tobytes()).hexdigest()
                                if path.exists() else None)
        return out


def _run_and_kill(folder: Path, settings: Path, seed: int, delay: float) -> list[list[str]]:
    return run_and_kill(CHILD, [str(folder), str(settings), str(seed)], delay,
                        ready_prefix="ready", start_timeout=60, QT_QPA_PLATFORM="offscreen")


def test_sigkill_while_painting_and_autosaving_leaves_saved_states(tmp_path, street_project):
    folder, _images, _labels = street_project
    rnd = random.Random(7)
    done_total = 0
    state = _disk_state(folder)
    for run in range(3):
        lines = _run_and_kill(folder, tmp_path / f"settings{run}.ini", run, rnd.uniform(0.8, 1.8))
        candidates = {rel: {sha} for rel, sha in state.items()}
        for parts in lines:
            if parts[0] in ("begin", "done"):
                candidates[parts[1]].add(parts[2])
                done_total += parts[0] == "done"
        after = _disk_state(folder)
        assert set(after) == set(state)
        for rel, sha in after.items():
            assert sha in candidates[rel], f"{rel}: the file is no state that was saved"
        state = after
    print(f"saves completed: {done_total}")
    assert done_total >= 3, "the child saved too little for the test to mean anything"
