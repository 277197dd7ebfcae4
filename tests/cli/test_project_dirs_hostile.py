"""Where a project goes: --project-dir equal to the image folder or empty, `segstudio
control` on a folder without a project, and a read-only project that info and export
still read (and that the other commands refuse with a true hint)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from segstudio.cli.main import main
from segstudio.core.project import Project
from tests.conftest import write_png
from tests.readonly_mount import read_only  # noqa: F401 - the fixture


@pytest.fixture()
def folder(tmp_path):
    for i in range(3):
        write_png(tmp_path / "imgs" / f"im{i}.png", np.full((8, 8, 3), 40 * i, np.uint8))
    return tmp_path / "imgs"


def _one_line(capsys) -> str:
    out = capsys.readouterr()
    err = out.err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_the_image_folder_is_not_a_project_dir(folder, capsys):
    assert main(["info", str(folder), "--project-dir", str(folder)]) == 1
    line = _one_line(capsys)
    assert f"--project-dir {folder} is the image folder itself" in line
    assert f"the project goes to {folder / '.segstudio'}" in line
    assert sorted(p.name for p in folder.iterdir()) == ["im0.png", "im1.png", "im2.png"]


def test_an_empty_project_dir_is_not_the_current_directory(folder, tmp_path, capsys,
                                                           monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert main(["info", str(folder), "--project-dir", ""]) == 1
    assert "--project-dir is empty" in _one_line(capsys)
    assert list(cwd.iterdir()) == [] and not (folder / ".segstudio").exists()


def test_control_on_a_folder_without_a_project_creates_none(folder, capsys):
    assert main(["control", str(folder), "stop"]) == 1
    assert f"{folder}: no segstudio project here" in _one_line(capsys)
    assert not (folder / ".segstudio").exists()


def test_a_read_only_project_is_read_by_info_and_export(folder, tmp_path, capsys,
                                                        read_only):  # noqa: F811
    with Project.open(folder) as p:
        p.save_mask(p.find("im1.png"), np.ones((8, 8), np.uint8))
    read_only(folder / ".segstudio")
    assert main(["info", str(folder)]) == 0
    out = capsys.readouterr()
    assert "images       3" in out.out and "corrected 1" in out.out
    assert "is read-only: shown as stored, without a rescan" in out.err
    assert main(["export", str(folder), "--format", "index", "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "im1.png")),
                          np.ones((8, 8), np.uint8))
    assert main(["classes", str(folder)]) == 0
    assert "  1  #" in capsys.readouterr().out
    # a command that changes the project says so, and does not send the user to an empty one
    assert main(["import-masks", str(folder), str(tmp_path / "out")]) == 1
    line = _one_line(capsys)
    assert f"the project directory {folder / '.segstudio'} is read-only, so this command " \
           "cannot change it" in line
    assert "`segstudio info`, `classes` and `export` read it as it is" in line
