"""Mask export speed: 1,000 CamVid-size masks (480x360) to COCO RLE and to VOC.

Masks are real CamVid label maps cycled (generated multi-class maps when the
data set is absent).  Prints masks per second, the median of several runs,
with 1 thread and with the default pool, plus the RLE codec on its own
(against pycocotools when installed).

Usage: python benchmarks/bench_export.py [--masks N] [--repeat R] [--cache DIR]
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median_ms, report  # noqa: E402

from segstudio.core.classes import ClassTable, default_classes  # noqa: E402
from segstudio.core.formats import ExportOptions, export_masks, import_masks  # noqa: E402
from segstudio.core.formats import rle  # noqa: E402
from segstudio.core.formats.output import default_workers  # noqa: E402
from segstudio.core.maskio import read_mask  # noqa: E402
from segstudio.core.project import Project  # noqa: E402

CAMVID = Path(os.environ.get("SEGSTUDIO_CAMVID",
                             Path(__file__).resolve().parents[2] / "shared/datasets/camvid"))


def generated_labels(n: int) -> list[np.ndarray]:
    """Road-scene-like label maps: bands of classes with blobs, 11 classes + ignore."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:360, :480]
    out = []
    for _ in range(n):
        m = np.zeros((360, 480), np.uint8)
        m[yy > 120 + rng.integers(-20, 20)] = 1
        m[yy > 230 + rng.integers(-20, 20)] = 3
        for _ in range(12):
            cy, cx, r = rng.integers(0, 360), rng.integers(0, 480), rng.integers(5, 60)
            m[(yy - cy) ** 2 + ((xx - cx) // 2) ** 2 < r * r] = rng.integers(0, 12)
        out.append(m)
    return out


def build(cache: Path, n: int) -> Path:
    folder = cache / f"export-{n}"
    marker = folder / ".segstudio" / "bench-complete"
    if marker.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if (CAMVID / "trainannot").is_dir():
        names = sorted(os.listdir(CAMVID / "trainannot"))
        labels = [read_mask(CAMVID / "trainannot" / nm) for nm in names]
        images = [CAMVID / "train" / nm for nm in names]
        table = ClassTable.load_json(CAMVID / "classes.json")
        print(f"masks: {len(labels)} real CamVid label maps, cycled to {n}")
    else:
        labels = generated_labels(min(n, 50))
        images = []
        table = ClassTable.from_json_dict({"ignore_index": 11, "classes": [
            {"id": i, "name": f"c{i}"} for i in range(12)]})
        print(f"masks: CamVid not found at {CAMVID}; {len(labels)} generated label maps, cycled")
    import cv2
    for i in range(n):
        dest = folder / f"seq{i // 250:02d}" / f"frame_{i:05d}.png"
        dest.parent.mkdir(exist_ok=True)
        if images:
            os.symlink(images[i % len(images)], dest)
        else:
            cv2.imwrite(str(dest), np.random.default_rng(i).integers(0, 255, (360, 480, 3),
                                                                     dtype=np.uint8))
    project = Project.open(folder)
    project.set_classes(table if table.ids else default_classes())
    for i, rec in enumerate(project.images()):
        project.save_mask(rec, labels[i % len(labels)])
    project.splits.assign(0.2)
    project.close()
    marker.write_text("ok")
    return folder


def time_export(project: Project, out_root: Path, fmt: str, options: ExportOptions,
                repeat: int) -> tuple[float, int]:
    times = []
    n = 0
    for r in range(repeat):
        out = out_root / f"{fmt}-{r}"
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        rep = export_masks(project, out, fmt, options)
        times.append(time.perf_counter() - t0)
        n = len(rep.exported)
        shutil.rmtree(out, ignore_errors=True)
    return statistics.median(times), n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--masks", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "segstudio-bench"))
    args = ap.parse_args()
    cache = Path(args.cache)
    folder = build(cache, args.masks)
    out_root = Path(tempfile.mkdtemp(prefix="segstudio-export-", dir=cache))
    print(f"{args.masks} masks of 480x360 in {folder}; {os.cpu_count()} CPU cores; "
          f"default pool {default_workers()} threads; median of {args.repeat} runs")
    project = Project.open(folder)
    try:
        for fmt, images in (("coco", False), ("voc", False), ("voc", True), ("camvid", False),
                            ("index", False)):
            for workers in (1, None):
                opts = ExportOptions(include_images=images, workers=workers)
                sec, n = time_export(project, out_root, fmt, opts, args.repeat)
                what = f"{fmt}{' + images' if images else ' masks only'}"
                pool = "1 thread" if workers == 1 else f"{default_workers()} threads"
                report(f"export {what}, {pool}", n / sec, "masks/s")
        coco_dir = out_root / "coco-import"
        export_masks(project, coco_dir, "coco", ExportOptions(include_images=False))
    finally:
        project.close()
    # COCO import into a copy of the project
    imp = cache / f"import-{args.masks}"
    shutil.rmtree(imp, ignore_errors=True)
    shutil.copytree(folder, imp, symlinks=True, ignore=shutil.ignore_patterns(".segstudio"))
    target = Project.open(imp)
    target.set_classes(Project.open(folder, scan=False).classes)
    t0 = time.perf_counter()
    rep = import_masks(target, coco_dir / "annotations.json")
    sec = time.perf_counter() - t0
    report("import coco (decode + atomic save, 1 thread)", len(rep.imported) / sec, "masks/s")
    target.close()
    shutil.rmtree(imp, ignore_errors=True)

    # the codec alone, on one real label map
    probe = Project.open(folder, scan=False)
    mask = probe.load_mask(probe.images()[0])
    probe.close()

    def ours():
        return rle.encode_label_map(mask)

    ms = median_ms(ours, repeat=21)
    report("RLE encode + area + bbox, all classes of one 480x360 map (ours)", ms, "ms")
    strings = {c: s for c, s, _, _ in ours()}
    dec = median_ms(lambda: rle.decode_labels(
        [(c, rle.string_to_counts(s)) for c, s in strings.items()], *mask.shape, fill=11),
        repeat=21)
    report("RLE decode to a label map (ours)", dec, "ms")
    try:
        from pycocotools import mask as mask_api
    except ImportError:
        print("pycocotools not installed: no comparison")
    else:
        def theirs():
            out = {}
            for c in np.unique(mask):
                enc = mask_api.encode(np.asfortranarray((mask == c).astype(np.uint8)))
                out[int(c)] = (enc, mask_api.area(enc), mask_api.toBbox(enc))
            return out
        ref = median_ms(theirs, repeat=21)
        report("RLE encode + area + bbox, all classes (pycocotools)", ref, "ms")
        report("ratio pycocotools / ours (encode)", ref / ms, "x")
    shutil.rmtree(out_root, ignore_errors=True)


if __name__ == "__main__":
    main()
