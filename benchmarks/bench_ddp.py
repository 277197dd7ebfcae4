"""Distributed training speed: 1 process against N processes (torchrun, DDP) at the
same global batch.

    .venv/bin/python benchmarks/bench_ddp.py                 # CPU, gloo: 1x2 threads vs 2x1
    .venv/bin/python benchmarks/bench_ddp.py --device cuda --nproc 8   # on a GPU server

Each configuration trains ``segstudio train`` on the same CamVid images (links,
never copied) through ``torchrun --standalone``; the figure is the median over
the epochs after the first of the training images per second over all
processes (the epoch line rank 0 prints).  The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _datasets as DS  # noqa: E402

LINE = re.compile(r"epoch\s+(\d+)/\d+.*\(([\d.]+) img/s\)")


def run(folder: Path, nproc: int, threads: int, batch: int, epochs: int, device: str) -> dict:
    torchrun = str(Path(sys.executable).parent / "torchrun")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    cmd = [torchrun, "--standalone", "--nproc_per_node", str(nproc), "-m", "segstudio", "train",
           str(folder), "--epochs", str(epochs), "--batch-size", str(batch), "--device", device,
           "--val-split", "0", "--imagenet", "none", "--from", "scratch"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    rates = [float(m.group(2)) for m in LINE.finditer(proc.stdout) if int(m.group(1)) > 1]
    return {"processes": nproc, "threads": threads, "batch_per_process": batch,
            "images_per_sec": statistics.median(rates) if rates else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--batch", type=int, default=4, help="global batch")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    if not (DS.CAMVID / "train").is_dir():
        print(f"CamVid not found at {DS.CAMVID}: nothing to measure")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        names = DS.camvid_links(root / "imgs", "train", args.images)
        DS.labelled_project(root / "imgs", root / "imgs" / ".segstudio",
                            [(n, DS.camvid_labels("train", n)) for n in names],
                            DS.camvid_classes()).close()
        cpu = args.device == "cpu"
        total = os.cpu_count() or 2
        one = run(root / "imgs", 1, total if cpu else 1, args.batch, args.epochs, args.device)
        many = run(root / "imgs", args.nproc, max(1, total // args.nproc) if cpu else 1,
                   args.batch // args.nproc, args.epochs, args.device)
    ratio = (many["images_per_sec"] / one["images_per_sec"]
             if one["images_per_sec"] and many["images_per_sec"] else None)
    for r in (one, many):
        print(f"{r['processes']} process(es) x {r['threads']} thread(s), batch "
              f"{r['batch_per_process']} each: {r['images_per_sec']} img/s")
    print(f"ratio {args.nproc} processes / 1: {ratio:.2f}" if ratio else "ratio: -")
    print(json.dumps({"device": args.device, "global_batch": args.batch, "one": one,
                      "many": many, "ratio": ratio}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
