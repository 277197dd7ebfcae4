"""Foundation figures: opening a 10,000-image folder, atomic mask saves.

Prints medians. Usage: python benchmarks/bench_project.py [--images N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median_ms, report  # noqa: E402

from segstudio.core.classes import ClassInfo, ClassTable  # noqa: E402
from segstudio.core.project import Project  # noqa: E402


def make_folder(root: Path, n: int) -> Path:
    folder = root / f"images-{n}"
    marker = folder / ".complete"
    if marker.exists():
        return folder
    rng = np.random.default_rng(0)
    for i in range(n):
        sub = folder / f"batch{i // 1000:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
        cv2.imwrite(str(sub / f"img_{i:05d}.png"), img)
    marker.write_text("ok")
    return folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "segstudio-bench"))
    args = ap.parse_args()
    cache = Path(args.cache)
    folder = make_folder(cache, args.images)
    print(f"folder of {args.images} images of 64x48: {folder}")

    first, reopen = [], []
    for _ in range(args.repeat):
        pdir = Path(tempfile.mkdtemp(prefix="bench-proj-"))
        t0 = time.perf_counter()
        with Project.open(folder, pdir) as p:
            recs = p.images()
        first.append(time.perf_counter() - t0)
        assert len(recs) == args.images
        t0 = time.perf_counter()
        with Project.open(folder, pdir) as p:
            recs = p.images()
        reopen.append(time.perf_counter() - t0)
        shutil.rmtree(pdir)
    report(f"open {args.images} images, first time (scan + list)",
           statistics.median(first) * 1000, "ms", "<= 2000 ms")
    report(f"open {args.images} images, reopen (rescan + list)",
           statistics.median(reopen) * 1000, "ms", "<= 500 ms")

    # atomic save of a 4096x4096 mask with 12 classes of blocky regions
    big = cache / "big"
    big.mkdir(parents=True, exist_ok=True)
    if not (big / "big.png").exists():
        cv2.imwrite(str(big / "big.png"), np.zeros((4096, 4096), np.uint8))
    pdir = Path(tempfile.mkdtemp(prefix="bench-proj-"))
    with Project.open(big, pdir) as p:
        p.set_classes(ClassTable(tuple(ClassInfo(i, f"c{i}", (i * 20, 0, 0), i == 11)
                                       for i in range(12))))
        rec = p.images()[0]
        rng = np.random.default_rng(1)
        small = rng.integers(0, 12, (64, 64), dtype=np.uint8)
        mask = cv2.resize(small, (4096, 4096), interpolation=cv2.INTER_NEAREST)
        ms = median_ms(lambda: p.save_mask(rec, mask), repeat=9)
        size = p.mask_path(rec).stat().st_size
    shutil.rmtree(pdir)
    report("atomic save of a 4096x4096 12-class mask (fsync incl.)", ms, "ms", "<= 150 ms")
    print(f"  (file size {size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
