"""Shared fixtures.  Qt runs offscreen: without a display it would abort.

The session gets a home of its own (HOME and the XDG folders in a temp folder, removed
at the end) before anything imports Qt: Qt keeps its own settings, such as the file
dialog's history in ``QtProject.conf``, in the user's config folder, and the tests
must not write into the real one (tests/test_private_home.py checks it).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "2")

_HOME = Path(tempfile.mkdtemp(prefix="segstudio-tests-home-"))
atexit.register(shutil.rmtree, _HOME, True)
os.environ["HOME"] = str(_HOME)
for _var, _sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                   ("XDG_CACHE_HOME", ".cache"), ("XDG_STATE_HOME", ".local/state")):
    os.environ[_var] = str(_HOME / _sub)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CAMVID = Path(os.environ.get("SEGSTUDIO_CAMVID", REPO.parent / "shared" / "datasets" / "camvid"))


@pytest.fixture(scope="session")
def camvid() -> Path:
    """The CamVid folder from ../shared/datasets/camvid (skips when absent)."""
    if not (CAMVID / "train").is_dir() or not (CAMVID / "trainannot").is_dir():
        pytest.skip(f"CamVid not found at {CAMVID} (set SEGSTUDIO_CAMVID); "
                    "tests on real data need ../shared/datasets/camvid")
    return CAMVID


NUCLEI = Path(os.environ.get("SEGSTUDIO_NUCLEI", REPO.parent / "shared" / "datasets" / "nuclei"))


@pytest.fixture(scope="session")
def nuclei() -> Path:
    """The real microscopy set from ../shared/datasets/nuclei (skips when absent)."""
    if not (NUCLEI / "images").is_dir() or not (NUCLEI / "masks").is_dir():
        pytest.skip(f"the nuclei set not found at {NUCLEI} (set SEGSTUDIO_NUCLEI); "
                    "tests on real microscopy need ../shared/datasets/nuclei")
    return NUCLEI


@pytest.fixture()
def camvid_subset(camvid, tmp_path) -> Path:
    """A folder with the first 8 CamVid training images and their label maps
    (copied to a temp folder, never into the repo): images/ and labels/."""
    import shutil

    names = sorted(os.listdir(camvid / "train"))[:8]
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    for n in names:
        shutil.copy(camvid / "train" / n, tmp_path / "images" / n)
        shutil.copy(camvid / "trainannot" / n, tmp_path / "labels" / n)
    shutil.copy(camvid / "classes.json", tmp_path / "classes.json")
    return tmp_path


def write_png(path: Path, array: np.ndarray) -> Path:
    """Write an RGB/gray uint8 array as PNG with Pillow (test helper)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


@pytest.fixture()
def make_images(tmp_path):
    """make_images(n, size=(h, w), folder=None) -> folder of n generated RGB PNGs."""

    def make(n: int = 3, size: tuple[int, int] = (48, 64), folder: Path | None = None) -> Path:
        folder = folder or tmp_path / "imgs"
        rng = np.random.default_rng(0)
        for i in range(n):
            write_png(folder / f"img_{i:03d}.png", rng.integers(0, 255, (*size, 3), dtype=np.uint8))
        return folder

    return make
