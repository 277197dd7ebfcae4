"""Helpers for the format tests: small projects with generated images and masks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core.classes import ClassInfo, ClassTable
from segstudio.core.project import Project

TABLE = ClassTable((
    ClassInfo(0, "background", (0, 0, 0)),
    ClassInfo(1, "Straße", (200, 30, 30)),  # non-ASCII class name
    ClassInfo(2, "car", (30, 200, 30)),
    ClassInfo(3, "tree", (30, 30, 200)),
    ClassInfo(11, "unlabelled", (250, 250, 250), ignore=True),
), name="test classes")


def write_image(path: Path, h: int, w: int, seed: int, ext_mode: str = "RGB") -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)


def build_project(folder: Path, masks: dict[str, np.ndarray], table: ClassTable = TABLE,
                  extra_images: dict[str, tuple[int, int]] | None = None) -> Project:
    """A project whose images have the masks' sizes; each mask saved as corrected."""
    for i, (rel, mask) in enumerate(sorted(masks.items())):
        write_image(folder / rel, *mask.shape, seed=i)
    for j, (rel, (h, w)) in enumerate(sorted((extra_images or {}).items())):
        write_image(folder / rel, h, w, seed=100 + j)
    project = Project.open(folder)
    project.set_classes(table)
    for rel, mask in masks.items():
        project.save_mask(project.find(rel), mask)
    return project


def fresh_copy(project: Project, folder: Path, table: ClassTable | None = None) -> Project:
    """The same images in a new folder, no masks: the target of an import."""
    shutil.copytree(project.root, folder, ignore=shutil.ignore_patterns(".segstudio"))
    other = Project.open(folder)
    other.set_classes(table or project.classes)
    return other


def masks_of(project: Project) -> dict[str, np.ndarray]:
    return {r.relpath: project.load_mask(r) for r in project.images() if r.has_human_mask}


def shapes_mask(h: int = 48, w: int = 64) -> np.ndarray:
    """Circles, a rectangle with a hole holding another class and unlabelled
    pixels, touching classes, a class on the border, a single pixel."""
    yy, xx = np.mgrid[:h, :w]
    m = np.full((h, w), 11, np.uint8)
    m[:6, :] = 0  # on the border
    m[(yy - 24) ** 2 + (xx - 16) ** 2 <= 100] = 1  # circle
    m[(yy - 24) ** 2 + (xx - 16) ** 2 <= 16] = 11  # unlabelled hole in it
    m[14:40, 34:60] = 2  # rectangle
    m[20:34, 40:54] = 11  # its hole ...
    m[24:30, 44:50] = 3  # ... holding another class
    m[40:48, 34:60] = 3  # touching the rectangle, on the bottom border
    m[44, 5] = 2  # a single pixel
    return m


@pytest.fixture()
def edge_masks() -> dict[str, np.ndarray]:
    h, w = 24, 32
    empty = np.full((h, w), 11, np.uint8)
    single = empty.copy()
    single[7, 9] = 2
    border = empty.copy()
    border[:, 0] = 1
    border[-1, :] = 3
    border[0, -1] = 2
    full = np.zeros((h, w), np.uint8)
    return {
        "empty.png": empty,
        "single.png": single,
        "sub/border.png": border,
        "sub/straße ü.png": shapes_mask()[::-1].copy(),  # non-ASCII file name
        "full.jpg": full,
        "shapes.png": shapes_mask(),
    }
