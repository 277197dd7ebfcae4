"""What the README says about the command line holds: its synopsis names every command,
and an index export writes the file names its formats table says."""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from segstudio.cli.main import COMMANDS, main
from segstudio.core.project import Project
from tests.conftest import REPO, write_png


def test_the_synopsis_names_every_command():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    synopsis = text[text.index("## The command line"):text.index("For example, to train")]
    named = set(re.findall(r"^    segstudio ([a-z-]+)", synopsis, re.MULTILINE))
    assert named == set(COMMANDS), set(COMMANDS) ^ named


def test_index_exports_are_named_as_the_readme_says(tmp_path, capsys):
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "(`streets/street_01.jpg` → `streets/street_01.png`" in text
    assert "images that share a name keep their extension: `a.jpg.png`" in text
    folder = tmp_path / "imgs"
    for rel in ("streets/street_01.jpg", "a.jpg", "a.png"):
        write_png(folder / rel, np.zeros((4, 4, 3), np.uint8))  # PNG bytes, any name
    with Project.open(folder) as p:
        for rec in p.images():
            p.save_mask(rec, np.ones((4, 4), np.uint8))
    assert main(["export", str(folder), "--format", "index", "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    written = sorted(str(f.relative_to(tmp_path / "o")) for f in (tmp_path / "o").rglob("*.png"))
    assert written == ["a.jpg.png", "a.png.png", "streets/street_01.png"]
    assert np.asarray(Image.open(tmp_path / "o" / "streets" / "street_01.png")).max() == 1
