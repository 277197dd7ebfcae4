"""An export never lands silently in a folder that holds another project's export
(issue 25, item 2): the manifest names the project it came from, and a folder whose
manifests name another one (or, from before, list images this project lacks) is refused
before anything is written, unless the caller says to go on (the window asks)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from segstudio.cli import main
from segstudio.core.formats import ExportOptions, OtherProjectExportError, export_masks

from .conftest import build_project


def _masks(seed: int, names: list[str]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {n: rng.integers(0, 4, (12, 16)).astype(np.uint8) for n in names}


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file()}


def test_an_export_into_another_projects_export_is_refused(tmp_path, capsys):
    out = tmp_path / "exports"
    with build_project(tmp_path / "a", _masks(1, ["a1.png", "a2.png"])) as a:
        export_masks(a, out, "index")
        manifest = json.loads((out / "segstudio_export_index.json").read_text("utf-8"))
        assert manifest["project"] == str(a.project_dir.resolve())
        export_masks(a, out, "index")  # its own folder: fine, every file identical
    before = _files(out)
    with build_project(tmp_path / "b", _masks(2, ["b1.png"])) as b:
        with pytest.raises(OtherProjectExportError, match=r"holds an export \(index\) of the "
                           r"project in .*a/\.segstudio.*Nothing was written"):
            export_masks(b, out, "index")
        assert _files(out) == before
        # the CLI says the same in one line and exits non-zero
        assert main(["export", str(b.root), "--format", "index", "--out", str(out)]) != 0
        assert "holds an export (index) of the project in" in capsys.readouterr().err
        assert _files(out) == before
        # told to go on (the window asks the user): written beside the other's files
        report = export_masks(b, out, "index", replace(ExportOptions(),
                                                       beside_other_projects=True))
        assert report.exported == [("b1.png", "human")]
        assert set(_files(out)) == set(before) | {"b1.png"}


def test_an_older_manifest_without_its_project_is_judged_by_its_images(tmp_path):
    out = tmp_path / "exports"
    with build_project(tmp_path / "a", _masks(1, ["a1.png"])) as a:
        export_masks(a, out, "voc")
    path = out / "segstudio_export_voc.json"
    doc = json.loads(path.read_text("utf-8"))
    del doc["project"]  # as exports made before the manifest named its project
    path.write_text(json.dumps(doc), encoding="utf-8")
    with build_project(tmp_path / "b", _masks(2, ["b1.png"])) as b, pytest.raises(
            OtherProjectExportError, match=r"images this project does not have \(e\.g\. a1"):
        export_masks(b, out, "index")
    with build_project(tmp_path / "a", _masks(1, ["a1.png"])) as a:
        assert export_masks(a, out, "voc").exported == [("a1.png", "human")]  # its own
