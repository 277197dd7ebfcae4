"""Speed of the NN layer: training throughput and inference latency at 360x480,
side by side with a plain eager fp32 SegNet written here as the baseline.

    .venv/bin/python benchmarks/bench_nn.py                      # CPU, everything (slow)
    .venv/bin/python benchmarks/bench_nn.py --models segnet --widths 1.0 --what infer
    .venv/bin/python benchmarks/bench_nn.py --what epoch         # CPU default config
    .venv/bin/python benchmarks/bench_nn.py --what large         # 8000x8000 tiled
    .venv/bin/python benchmarks/bench_nn.py --device cuda --train-batch 8
    .venv/bin/python benchmarks/bench_nn.py --quality --device cuda   # SegNet-Basic on CamVid

Every figure is the median of ``--repeats`` runs after one warm-up; ours and the
baseline are measured alternately in the same process so that load from other
processes hits both alike.  The baseline has the same layout (weights are copied
into it and the outputs compared) but uses plain nn.Conv2d / BatchNorm2d / ReLU /
MaxPool2d(return_indices) / MaxUnpool2d in NCHW fp32 with no other tricks.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from segstudio.nn.device import configure_cpu_threads, resolve_device  # noqa: E402
from segstudio.nn.inference import Predictor  # noqa: E402
from segstudio.nn.models.segnet import (IMAGENET_MEAN, IMAGENET_STD, VGG16_BLOCKS,  # noqa: E402
                                 build_model, count_parameters, scaled)
from segstudio.nn.train.step import TrainStep, amp_settings, use_channels_last  # noqa: E402
from segstudio.core.classes import ClassInfo, ClassTable  # noqa: E402

CAMVID = Path(os.environ.get("SEGSTUDIO_CAMVID", REPO.parent / "shared" / "datasets" / "camvid"))
H, W, K = 360, 480, 11


# -- the baseline: a plain eager SegNet of the same layout ------------------------------

class PlainSegNet(nn.Module):
    def __init__(self, arch: str, width: float, k: int, cin: int = 3):
        super().__init__()
        if arch == "segnet":
            blocks = [[scaled(c, width) for c in b] for b in VGG16_BLOCKS]
            kk, relu_dec = 3, True
        else:
            c = scaled(64, width)
            blocks = [[c]] * 4
            kk, relu_dec = 7, False
        self.enc = nn.ModuleList()
        prev = cin
        for b in blocks:
            layers = []
            for c in b:
                layers += [nn.Conv2d(prev, c, kk, padding=kk // 2), nn.BatchNorm2d(c),
                           nn.ReLU(inplace=True)]
                prev = c
            self.enc.append(nn.Sequential(*layers))
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, 2)
        self.dec = nn.ModuleList()
        for i in range(len(blocks) - 1, -1, -1):
            b = blocks[i]
            if arch == "segnet":
                outs = b[1:] + [blocks[i - 1][-1]] if i > 0 else b[:1]
                ins = b if i > 0 else b[:1]
            else:
                outs, ins = [b[0]], [b[0]]
            layers = []
            for ci, co in zip(ins, outs):
                layers += [nn.Conv2d(ci, co, kk, padding=kk // 2), nn.BatchNorm2d(co)]
                if relu_dec:
                    layers.append(nn.ReLU(inplace=True))
            self.dec.append(nn.Sequential(*layers))
        self.cls = nn.Conv2d(blocks[0][0], k, 3 if arch == "segnet" else 1,
                             padding=1 if arch == "segnet" else 0)

    def forward(self, x):
        stack = []
        for e in self.enc:
            x = e(x)
            size = x.size()
            x, idx = self.pool(x)
            stack.append((idx, size))
        for d in self.dec:
            idx, size = stack.pop()
            x = d(self.unpool(x, idx, output_size=size))
        return self.cls(x)


def copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Same layout, same order of parameters and buffers."""
    s, d = list(src.state_dict().values()), dst.state_dict()
    assert len(s) == len(d), (len(s), len(d))
    dst.load_state_dict({k: v.clone() for k, v in zip(d.keys(), s)})


# -- timing helpers ------------------------------------------------------------------------

def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device) -> float:
    sync(device)
    t = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t


def alternate(fns: dict, repeats: int, device) -> dict:
    """One warm-up each, then ``repeats`` rounds of each in turn: {name: (median, min)}."""
    for f in fns.values():
        timed(f, device)
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            times[k].append(timed(f, device))
    return {k: (statistics.median(v), min(v)) for k, v in times.items()}


def conv_flops(model: nn.Module, h: int, w: int, cin: int = 3) -> float:
    flops = 0.0

    def hook(m, inp, out):
        nonlocal flops
        kh, kw = m.kernel_size
        flops += 2.0 * m.in_channels * m.out_channels * kh * kw * out.shape[2] * out.shape[3]

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, cin, h, w))
    for x in hs:
        x.remove()
    return flops


def conv_probe(device):
    """(function, FLOP) of one 3x3 64->64 conv at 360x480 in the faster layout here."""
    conv = nn.Conv2d(64, 64, 3, padding=1).to(device).eval()
    x = torch.randn(1, 64, H, W, device=device)
    flop = 2.0 * 64 * 64 * 9 * H * W
    best = None
    with torch.inference_mode():
        for name, fmt in (("NCHW", torch.contiguous_format), ("channels_last", torch.channels_last)):
            c = conv.to(memory_format=fmt)
            xi = x.contiguous(memory_format=fmt)
            t = alternate({"c": lambda: c(xi)}, 5, device)["c"][1]
            if best is None or t < best[0]:
                best = (t, name, c, xi)
    _, name, c, xi = best

    def run():
        with torch.inference_mode():
            c(xi)

    return run, flop, name


def classes(k: int) -> ClassTable:
    return ClassTable(tuple(ClassInfo(i, f"c{i}", (i, i, i)) for i in range(k)))


# -- benchmarks ---------------------------------------------------------------------------

def bench_infer(arch, width, device, repeats, image, probe=None):
    torch.manual_seed(0)
    ours_model = build_model(arch, K, 3, width)
    base = PlainSegNet(arch, width, K)
    copy_weights(ours_model, base)
    base = base.to(device).eval()
    pred = Predictor(ours_model, classes(K), IMAGENET_MEAN, IMAGENET_STD, device=device)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255
    # .contiguous(): plain NCHW (a permuted uint8 view would hand channels_last strides on)
    x = ((torch.from_numpy(image).to(device).permute(2, 0, 1)[None].float() - mean) / std
         ).contiguous()
    with torch.no_grad():  # same layout and weights: same answer
        agree = (base(x).argmax(1)[0].cpu().numpy().astype(np.uint8)
                 == pred.predict(image).labels).mean()

    def baseline():
        with torch.no_grad():
            base(x).argmax(1).cpu()

    fns = {"ours": lambda: pred.predict(image), "base": baseline}
    if probe is not None:
        fns["conv"] = probe
    return alternate(fns, repeats, device), float(agree)


def bench_train(arch, width, device, repeats, batch, image, target, crop=None):
    torch.manual_seed(0)
    if crop is not None:
        image, target = image[:crop[0], :crop[1]], target[:crop[0], :crop[1]]
    imgs = np.ascontiguousarray(np.repeat(image[None], batch, 0))
    tgts = np.ascontiguousarray(np.repeat(target[None], batch, 0))
    ours_model = build_model(arch, K, 3, width)
    base = PlainSegNet(arch, width, K)
    copy_weights(ours_model, base)
    cl = use_channels_last(device, width, batch)  # as the engine does
    ours_model = ours_model.to(device).to(memory_format=torch.channels_last if cl else
                                          torch.contiguous_format).train()
    base = base.to(device).train()
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    dtype, scaler = amp_settings(device, True)
    opt = torch.optim.SGD(ours_model.parameters(), lr=1e-3, momentum=0.9)
    step = TrainStep(ours_model, opt, device, IMAGENET_MEAN, IMAGENET_STD, cl, dtype, scaler)
    bopt = torch.optim.SGD(base.parameters(), lr=1e-3, momentum=0.9)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255

    def baseline():
        x = ((torch.from_numpy(imgs).to(device).permute(0, 3, 1, 2).float() - mean) / std
             ).contiguous()
        y = torch.from_numpy(tgts).to(device).long()
        bopt.zero_grad()
        loss = nn.functional.cross_entropy(base(x), y, ignore_index=255)
        loss.backward()
        bopt.step()
        float(loss.detach())

    peaks = {}
    fns = {"ours": lambda: step(imgs, tgts), "base": baseline}
    if device.type == "cuda":
        for k, f in fns.items():
            torch.backends.cudnn.benchmark = k == "ours"
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
            f()
            sync(device)
            peaks[k] = torch.cuda.max_memory_allocated(device) / 2**20
        torch.backends.cudnn.benchmark = True
    return alternate(fns, repeats, device), peaks


def camvid_pair():
    if not (CAMVID / "train").is_dir():
        rng = np.random.default_rng(0)
        print(f"(CamVid not found at {CAMVID}: using random pixels)")
        return (rng.integers(0, 256, (H, W, 3), dtype=np.uint8),
                rng.integers(0, K, (H, W), dtype=np.uint8))
    from segstudio.core.imageio import read_image
    from segstudio.core.maskio import read_mask

    name = sorted(os.listdir(CAMVID / "train"))[0]
    tgt = read_mask(CAMVID / "trainannot" / name)
    tgt[tgt == 11] = 255
    return np.array(read_image(CAMVID / "train" / name)), tgt


def build_camvid_project(root: Path, split: str, n: int | None):
    """A project over CamVid's <split>/ (project dir under root, data read in place)."""
    from segstudio.core.maskio import read_mask
    from segstudio.core.project import Project

    names = sorted(os.listdir(CAMVID / split))[:n]
    folder = root / split
    folder.mkdir(parents=True, exist_ok=True)
    for nm in names:  # symlinks: the dataset is read-only and never copied into the repo
        link = folder / nm
        if not link.exists():
            link.symlink_to(CAMVID / split / nm)
    project = Project.open(folder, root / f"{split}-project")
    project.set_classes(ClassTable.load_json(CAMVID / "classes.json"))
    for rec in project.images():
        if rec.status == "unlabelled":
            project.save_mask(rec, read_mask(CAMVID / f"{split}annot" / rec.relpath))
    return project


def bench_epoch(repeats: int):
    from segstudio.nn.config import default_train_config
    from segstudio.nn.train.engine import fit
    from segstudio.nn.runs.events import EpochEnd, Finished

    if not (CAMVID / "train").is_dir():
        print("epoch: CamVid not found, skipped")
        return
    cfg = default_train_config("cpu").replace(epochs=repeats, imagenet=None)
    with tempfile.TemporaryDirectory() as tmp:
        project = build_camvid_project(Path(tmp), "train", 20)
        ends = []
        for ev in fit(project, cfg, device="cpu", record_run=False, out=Path(tmp) / "m.pt"):
            if isinstance(ev, EpochEnd):
                ends.append(ev.metrics)
            elif isinstance(ev, Finished) and ev.status != "completed":
                print("epoch benchmark failed:", ev.message)
        project.close()
    if not ends:
        return
    med = statistics.median(e.seconds for e in ends)
    train = statistics.median(e.data_seconds + e.compute_seconds for e in ends)
    val = statistics.median(e.val_seconds for e in ends)
    c = cfg
    print(f"CPU default config ({c.arch} width {c.width}, crop {c.crop[0]}x{c.crop[1]}, batch "
          f"{c.batch_size}): epoch over 20 CamVid images ({ends[0].train_images} train / "
          f"{ends[0].val_images} val) median {med:.1f} s (training {train:.1f} s at "
          f"{statistics.median(e.images_per_sec or 0.0 for e in ends):.1f} img/s, validation "
          f"{val:.1f} s, rest {med - train - val:.1f} s) over {len(ends)} epochs")


def bench_large(size: int, device):
    """Tiled prediction of a size x size image in a child process (peak RSS isolated)."""
    code = f"""
import resource, time, numpy as np, torch, sys
sys.path.insert(0, {str(REPO)!r})
from segstudio.nn.config import default_train_config
from segstudio.nn.models.segnet import build_model, IMAGENET_MEAN, IMAGENET_STD
from segstudio.nn.inference import Predictor
from segstudio.core.classes import ClassInfo, ClassTable
cfg = default_train_config("cpu")
torch.manual_seed(0)
m = build_model(cfg.arch, {K}, 3, cfg.width)
t = ClassTable(tuple(ClassInfo(i, f"c{{i}}", (i, i, i)) for i in range({K})))
p = Predictor(m, t, IMAGENET_MEAN, IMAGENET_STD, device={str(device)!r})
rng = np.random.default_rng(0)
img = np.empty(({size}, {size}, 3), np.uint8)
for r in range(0, {size}, 250):  # in bands: no full-size temporary
    img[r:r + 250] = rng.integers(0, 256, img[r:r + 250].shape, dtype=np.uint8)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter(); r = p.predict(img); dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{{dt:.1f}} {{r.tiles}} {{before / 1024:.0f}} {{peak / 1024:.0f}} {{cfg.arch}} {{cfg.width}}")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        print("large: failed:", out.stderr[-500:])
        return
    dt, tiles, before, peak, arch, width = out.stdout.split()
    img_mb = size * size * 3 / 2**20
    print(f"tiled {size}x{size} ({arch} width {width}, {tiles} tiles of 512, overlap 128) on "
          f"{device}: {float(dt):.1f} s, peak RSS {float(peak):.0f} MiB (of which the input "
          f"image {img_mb:.0f} MiB and the process before predicting {float(before):.0f} MiB)")


def quality(device, epochs: int, batch: int, limit: int | None = None, cpu_defaults=False,
            out: str | None = None, weights: str | None = None):
    """Trained on CamVid train (367), evaluated on val (101) at full size; ``limit``
    takes the first N images of each (a smoke run).  The model is the paper's
    SegNet-Basic at 360x480 (GPU advised) or, with ``cpu_defaults``, the CPU
    defaults (SegNet width 0.25, 192x256 crops, AdamW) that a CPU user trains."""
    from segstudio.nn.config import TrainConfig, default_train_config
    from segstudio.nn.train.engine import fit
    from segstudio.nn.evaluate import evaluate_project
    from segstudio.nn.runs.events import EpochEnd, Finished

    if cpu_defaults:
        cfg = default_train_config("cpu").replace(epochs=epochs, class_weights=weights or "auto",
                                                  val_split=0.0, imagenet=None, seed=0)
    else:
        cfg = TrainConfig(arch="segnet-basic", width=1.0, epochs=epochs, batch_size=batch,
                          crop=(360, 480), lr=0.1, optimizer="sgd", schedule="poly",
                          class_weights=weights or "table", val_split=0.0, imagenet=None,
                          scale=(1.0, 1.0))
    name = f"{cfg.arch} width {cfg.width:g}, crop {cfg.crop[0]}x{cfg.crop[1]}, batch " \
           f"{cfg.batch_size}, {cfg.optimizer} {cfg.lr:g}, class weights {cfg.class_weights}"
    print(f"quality: {name}, {epochs} epochs on {device}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        train = build_camvid_project(Path(tmp), "train", limit)
        fin = None
        t0 = time.perf_counter()
        ckpt = Path(out) if out else Path(tmp) / "quality.pt"
        for ev in fit(train, cfg, device=device, out=ckpt):
            if isinstance(ev, EpochEnd) and (ev.epoch % 5 == 0 or ev.epoch == 1):
                print(f"  epoch {ev.epoch}: loss {ev.metrics.train_loss:.4f}, "
                      f"{ev.metrics.seconds:.1f} s, {ev.metrics.images_per_sec or 0.0:.1f} img/s",
                      flush=True)
            elif isinstance(ev, Finished):
                fin = ev
        seconds = time.perf_counter() - t0
        train.close()
        if fin is None or fin.status != "completed":
            print("quality: training failed:", fin and fin.message)
            return
        val = build_camvid_project(Path(tmp), "val", limit)
        pred = Predictor.from_checkpoint(fin.last_checkpoint, device)
        res = evaluate_project(val, pred, split="all")
        val.close()
    print(f"{name}: CamVid val ({res['images']} images) after {epochs} epochs "
          f"({seconds / 60:.1f} min of training on {device}): global "
          f"{res['global_accuracy'] * 100:.1f} %, class avg {res['class_accuracy'] * 100:.1f} %, "
          f"mIoU {res['miou'] * 100:.1f} % (paper, SegNet-Basic on the test set: 82.7 / 62.0 / "
          f"47.7)")
    for cls, iou in res["per_class_iou"].items():
        print(f"  {cls:12s} IoU {'-' if iou is None else f'{iou * 100:.1f} %'}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto")
    ap.add_argument("--models", default="segnet,segnet-basic")
    ap.add_argument("--widths", default="0.25,0.5,1.0")
    ap.add_argument("--what", default="infer,train,epoch",
                    help="comma list of infer, train, epoch, large")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--train-batch", type=int, default=None,
                    help="training batch (default 1 on CPU, 8 on CUDA)")
    ap.add_argument("--large-size", type=int, default=8000)
    ap.add_argument("--quality", action="store_true",
                    help="train SegNet-Basic on CamVid train, evaluate on val (GPU advised)")
    ap.add_argument("--quality-epochs", type=int, default=100)
    ap.add_argument("--quality-cpu-defaults", action="store_true",
                    help="quality run with the CPU defaults (SegNet width 0.25, 192x256 crops)")
    ap.add_argument("--quality-out", default=None, help="keep the quality run's checkpoint here")
    ap.add_argument("--quality-weights", choices=("auto", "none", "median", "table"), default=None,
                    help="class weighting (default: table for SegNet-Basic as in the paper, "
                         "none for the CPU defaults)")
    ap.add_argument("--quality-images", type=int, default=None,
                    help="use only the first N train and val images (smoke run)")
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    threads = configure_cpu_threads()
    what = set(args.what.split(","))
    print(f"torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
          + f", {threads} CPU threads, medians of {args.repeats}")
    if args.quality:
        quality(device, args.quality_epochs, args.train_batch or 8, args.quality_images,
                args.quality_cpu_defaults, args.quality_out, args.quality_weights)
        return 0
    image, target = camvid_pair()
    probe, probe_flop, layout = conv_probe(device)
    gflops = probe_flop / alternate({"c": probe}, 5, device)["c"][0] / 1e9
    segnet_flop = conv_flops(build_model("segnet", K, 3, 1.0), H, W)
    print(f"conv throughput (3x3 64->64 at {H}x{W}, {layout}): {gflops:.1f} GFLOP/s; SegNet "
          f"forward at {H}x{W}: {segnet_flop / 1e9:.1f} GFLOP of convolutions -> bound "
          f"{segnet_flop / gflops / 1e9:.2f} s (x1.15: {1.15 * segnet_flop / gflops / 1e9:.2f} s)")
    batch = args.train_batch or (8 if device.type == "cuda" else 1)
    for arch in args.models.split(","):
        for w in (float(v) for v in args.widths.split(",")):
            n = count_parameters(build_model(arch, K, 3, w))
            name = f"{arch:12s} w{w:<4}"
            if "infer" in what:
                big = arch == "segnet" and w == 1.0
                t, agree = bench_infer(arch, w, device, args.repeats, image,
                                       probe if big else None)
                (om, on), (bm, bn) = t["ours"], t["base"]
                print(f"{name} infer  ours {om * 1000:8.1f} ms/image (min {on * 1000:7.1f})  "
                      f"baseline {bm * 1000:8.1f} ms (min {bn * 1000:7.1f})  ours/baseline "
                      f"time {om / bm:5.2f} (mins {on / bn:4.2f}); labels agree "
                      f"{agree * 100:.2f} %, {n:,} params", flush=True)
                if big:
                    cm, cn = t["conv"]
                    for label, tc, to in (("median", cm, om), ("min", cn, on)):
                        bound = segnet_flop / (probe_flop / tc)
                        print(f"    SegNet vs bound ({label}s, conv probe timed in the same "
                              f"rounds: {probe_flop / tc / 1e9:.1f} GFLOP/s): bound "
                              f"{bound:.2f} s, x1.15 {1.15 * bound:.2f} s, ours {to:.2f} s = "
                              f"{to / bound:.2f}x bound", flush=True)
            if "train" in what:
                t, peaks = bench_train(arch, w, device, args.repeats, batch, image, target)
                (om, on), (bm, bn) = t["ours"], t["base"]
                line = (f"{name} train  ours {batch / om:7.2f} img/s (max {batch / on:6.2f})  "
                        f"baseline {batch / bm:7.2f} img/s (max {batch / bn:6.2f})  "
                        f"ours/baseline throughput {bm / om:5.2f} (mins {bn / on:4.2f}), "
                        f"batch {batch}")
                if peaks:
                    line += (f"; peak memory ours {peaks['ours']:.0f} MiB, baseline "
                             f"{peaks['base']:.0f} MiB")
                print(line, flush=True)
    if "epoch" in what and device.type == "cpu":
        from segstudio.nn.config import default_train_config

        c = default_train_config("cpu")
        t, _ = bench_train(c.arch, c.width, device, args.repeats, c.batch_size, image, target,
                           c.crop)
        (om, on), (bm, bn) = t["ours"], t["base"]
        print(f"CPU default training shape ({c.arch} w{c.width}, batch {c.batch_size} of "
              f"{c.crop[0]}x{c.crop[1]}): ours {c.batch_size / om:.2f} img/s, baseline "
              f"{c.batch_size / bm:.2f} img/s, ours/baseline throughput {bm / om:.2f} "
              f"(mins {bn / on:.2f})", flush=True)
        bench_epoch(args.repeats)
    if "large" in what:
        bench_large(args.large_size, device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
