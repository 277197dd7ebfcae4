"""Fixtures for the NN tests: small CamVid projects built with the core Project API."""

from __future__ import annotations

from pathlib import Path

import pytest

from segstudio.core.classes import ClassTable
from segstudio.core.maskio import read_mask
from segstudio.core.project import Project


def label_project(folder: Path, labels: Path, classes_json: Path, n_masks: int | None = None
                  ) -> Project:
    """Open ``folder`` as a project with CamVid's classes and save the first
    ``n_masks`` label maps (all by default) as corrected masks."""
    project = Project.open(folder)
    project.set_classes(ClassTable.load_json(classes_json))
    recs = project.images()
    for rec in recs[: len(recs) if n_masks is None else n_masks]:
        project.save_mask(rec, read_mask(labels / rec.relpath))
    return project


@pytest.fixture()
def camvid_project(camvid_subset):
    """8 CamVid training images, all with corrected masks."""
    project = label_project(camvid_subset / "images", camvid_subset / "labels",
                            camvid_subset / "classes.json")
    yield project
    project.close()


@pytest.fixture(autouse=True)
def _deterministic_threads():
    """Tests compare floats across runs: keep the thread count fixed."""
    import torch

    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)
