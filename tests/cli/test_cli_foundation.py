"""The CLI contract of the foundation: info, import-masks, classes, errors, no Qt."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import segstudio
from segstudio.cli.main import COMMANDS
from tests.conftest import write_png

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args, check=True):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("QT_QPA_PLATFORM", None)  # a headless command must not need it
    proc = subprocess.run([sys.executable, "-m", "segstudio", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def test_info_json_counts(tmp_path):
    folder = tmp_path / "imgs"
    for i in range(3):
        write_png(folder / f"{i}.png", np.zeros((4, 5, 3), np.uint8))
    out = json.loads(run_cli("info", folder, "--json").stdout)
    assert out["images"] == 3
    assert out["status"] == {"unlabelled": 3, "predicted": 0, "partial": 0, "corrected": 0,
                             "reviewed": 0}
    assert [c["name"] for c in out["classes"]] == ["background", "object", "unlabelled"]
    assert out["ignore_index"] == 255


def test_import_masks_camvid_via_cli(camvid, tmp_path):
    proc = run_cli("import-masks", camvid / "train", camvid / "trainannot",
                   "--classes", camvid / "classes.json", "--project-dir", tmp_path / "p")
    assert "367 imported, 0 skipped" in proc.stdout
    info = json.loads(run_cli("info", camvid / "train", "--project-dir", tmp_path / "p",
                              "--json").stdout)
    assert info["status"]["corrected"] == 367 and info["ignore_index"] == 11
    assert len(info["classes"]) == 12


def test_classes_export_import(tmp_path, camvid):
    folder = tmp_path / "imgs"
    write_png(folder / "a.png", np.zeros((4, 5, 3), np.uint8))
    run_cli("classes", folder, "--import", camvid / "classes.json")
    run_cli("classes", folder, "--export", tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["ignore_index"] == 11 and data["classes"][3]["name"] == "Road"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_and_project_dir(command):
    proc = run_cli(command, "--help")
    assert "--project-dir" in proc.stdout or command == "export-model"
    assert proc.stdout.startswith("usage:")


@pytest.mark.parametrize("args, message", [
    (["info", "/no/such/folder"], "no such folder"),
    (["import-masks", "{folder}", "/no/such/masks"], "no such folder of masks"),
    (["classes", "{folder}", "--import", "{folder}/a.png"], "not valid JSON"),
])
def test_bad_input_gives_one_line_and_nonzero(tmp_path, args, message):
    folder = tmp_path / "imgs"
    write_png(folder / "a.png", np.zeros((4, 5, 3), np.uint8))
    proc = run_cli(*[a.format(folder=folder) for a in args], check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def _qt_free_modules() -> list[str]:
    names = []
    for pkg in ("segstudio.core", "segstudio.nn", "segstudio.cli"):
        try:
            mod = __import__(pkg, fromlist=["_"])
        except ImportError:
            continue
        names.append(pkg)
        names += [m.name for m in pkgutil.walk_packages(mod.__path__, pkg + ".")]
    return names


def test_core_nn_and_cli_never_import_qt(tmp_path):
    """Import every Qt-free module and run a CLI command: PySide6 must stay unloaded."""
    folder = tmp_path / "imgs"
    write_png(folder / "a.png", np.zeros((4, 5, 3), np.uint8))
    modules = _qt_free_modules()
    assert "segstudio.core.project" in modules
    code = (
        "import sys, importlib\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "from segstudio.cli import main\n"
        f"assert main(['info', {str(folder)!r}, '--json']) == 0\n"
        "bad = sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'))\n"
        "assert not bad, bad\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_version():
    assert run_cli("--version").stdout.strip() == f"segstudio {segstudio.__version__}"
