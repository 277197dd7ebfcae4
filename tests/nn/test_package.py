"""segstudio.nn's names are listed once (``__init__.pyi``) and imported on first use:
importing the package loads no torch, and each name is the object of its module."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import segstudio.nn as nn

REPO = Path(__file__).resolve().parents[2]
STUB = Path(nn.__file__).with_suffix(".pyi")


def _stub_names() -> dict[str, str]:
    """name -> module, read from the stub."""
    found = {}
    for node in ast.parse(STUB.read_text()).body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1, ast.dump(node)
        for alias in node.names:
            assert alias.asname == alias.name  # "X as X": a re-export type checkers accept
            found[alias.name] = node.module
    return found


def test_every_listed_name_is_its_modules_object():
    names = _stub_names()
    assert len(names) == 28 and sorted(nn.__all__) == sorted(names)
    for name, module in names.items():
        assert getattr(nn, name) is getattr(importlib.import_module(f"segstudio.nn.{module}"),
                                            name)


def test_importing_the_package_and_its_config_loads_no_torch():
    # and the project's plan (fingerprint, recipe, budget): the window computes it early
    code = ("import sys, segstudio.nn, segstudio.nn.config, segstudio.nn.plan.recipe\n"
            "cfg = segstudio.nn.default_train_config\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
