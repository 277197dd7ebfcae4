"""Export a checkpoint's model to TorchScript or ONNX, with a metadata JSON beside it.

The exported model is the inference form (BatchNorm folded into the convs).
Input: float32 NCHW, ``(pixel / 255 - mean) / std`` per channel, height and
width of any size >= 32 (SegNet-Basic: 16).  Output: float32 NCHW logits, one
plane per trained class; ``channel_ids[argmax]`` gives the class id.

ONNX goes through ``torch.onnx.export(..., dynamo=False)`` (the TorchScript-
based exporter): the dynamo exporter needs the ``onnxscript`` package, which is
not installed here.  For ONNX, pooling indices never cross the graph: each
unpooling finds the argmax of its 2x2 window in the kept pre-pooling tensor
(first maximum in row-major order, PyTorch's tie rule) and places the value
there, with Reshape/ArgMax/Equal/Mul/Pad, which every runtime implements the same
way (runtimes disagree on MaxPool index layouts; onnx's reference evaluator
mis-numbers them for 1x1 pools).
"""

from __future__ import annotations

import io
import json
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.atomic import atomic_write, atomic_write_bytes, atomic_write_text
from ..core.errors import SegStudioError
from .models.segnet import _Net, fold_batchnorm, min_input_size
from .runs.checkpoint import Checkpoint, load_checkpoint

FORMATS = ("torchscript", "onnx")
ONNX_OPSET = 17


class ExportError(SegStudioError):
    pass


class ExportCheck(TypedDict):
    """The exported file's output against eager PyTorch's on one random input."""

    input: list[int]  # its shape
    max_abs_diff: float
    max_abs_output: float
    tolerance: float
    ok: bool
    runtime: NotRequired[str]  # what ran an ONNX file


def inference_model(ckpt: Checkpoint) -> _Net:
    return fold_batchnorm(ckpt.build_model()).eval()


def window_unpool(pre: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Max-unpool ``y`` (N, C, h, w) into the shape of ``pre`` (N, C, H, W), the tensor
    before 2x2 pooling: each value goes to its window's first maximum."""
    n, c, hh, ww = pre.shape[0], pre.shape[1], pre.shape[2], pre.shape[3]
    h, w = y.shape[2], y.shape[3]
    win = pre[:, :, : 2 * h, : 2 * w].reshape(n, c, h, 2, w, 2).permute(0, 1, 2, 4, 3, 5)
    arg = win.reshape(n, c, h, w, 4).argmax(dim=-1, keepdim=True)
    slots = torch.arange(4, device=y.device).view(1, 1, 1, 1, 4)
    out = (slots == arg).to(y.dtype) * y.unsqueeze(-1)
    out = out.reshape(n, c, h, w, 2, 2).permute(0, 1, 2, 4, 3, 5).reshape(n, c, 2 * h, 2 * w)
    return F.pad(out, (0, ww - 2 * w, 0, hh - 2 * h))


class PortableNet(nn.Module):
    """The same network and weights, unpooling with :func:`window_unpool` (for ONNX)."""

    def __init__(self, net: _Net):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kept: list[torch.Tensor] = []
        for enc in self.net.encoders:
            x = enc(x)
            kept.append(x)
            x = F.max_pool2d(x, kernel_size=2, stride=2)
        for i, dec in enumerate(self.net.decoders):
            x = dec(window_unpool(kept[len(kept) - 1 - i], x))
        logits: torch.Tensor = self.net.classifier(x)
        return logits


def click_io(ckpt: Checkpoint) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(input, output, how the inputs are made) of a click model's metadata: the image's
    channels, then the positive and negative clicks' maps and the previous mask."""
    from .click import simulate as C

    size = int(ckpt.click_size)
    image = ["R", "G", "B"] if ckpt.image_channels == 3 else [f"image {i}" for i in
                                                              range(ckpt.image_channels)]
    planes = image + ["positive clicks", "negative clicks", "previous mask"]
    inp = {"name": "image", "dtype": "float32", "layout": "NCHW",
           "channels": ckpt.in_channels, "planes": planes, "height": size, "width": size}
    out = {"name": "logits", "dtype": "float32", "layout": "NCHW", "channels": 1,
           "meaning": "the clicked object's logit per pixel; sigmoid >= 0.5 is the object"}
    how = {
        "box": f"a square box of the image round the clicks and the previous mask (their "
               f"extent times {C.EXPAND}, at least {C.MIN_BOX} of the image's short side; a "
               f"lone first click: {C.FIRST_WINDOW} of the short side centred on it), "
               f"resized to {size}x{size}; the output is resized back into the box",
        "click_maps": f"per click kind, each pixel holds round(255 * (1 - d / {size / 4:g})) "
                      "clipped at 0, d its distance in model pixels to the nearest click "
                      "(the larger value where clicks meet)",
        "previous_mask": "255 inside the previous result, 0 outside (0 before the first "
                         "click)",
        "normalization": "every plane as (value / 255 - mean) / std with the mean and std "
                         "above (0 and 1 for the three maps)",
    }
    return inp, out, how


def _normalization(ckpt: Checkpoint) -> dict[str, Any]:
    norm: dict[str, Any] = {"mean": list(ckpt.mean), "std": list(ckpt.std),
                            "formula": "(pixel / 255 - mean) / std, per channel"}
    if ckpt.normalize == "image":
        from .normalize import HIGH, LOW

        norm["per_image"] = {
            "kind": "percentile", "low": LOW, "high": HIGH,
            "formula": f"first, over the whole image (not per tile): the {LOW} and {HIGH} "
                       "percentiles lo and hi of all its uint8 values (channels together) "
                       "from its histogram; pixel = clip(round((pixel - lo) * 255 / (hi - lo)), "
                       "0, 255) when hi - lo >= 2"}
    return norm


def metadata(ckpt: Checkpoint, fmt: str, model: _Net) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "format": "segstudio-model",
        "model_format": fmt,
        "model_config": ckpt.model_config,
        "classes": ckpt.classes.to_json_dict(),
        "channel_ids": [int(v) for v in ckpt.classes.channel_ids()],
        "normalization": _normalization(ckpt),
        "input": {"name": "image", "dtype": "float32", "layout": "NCHW",
                  "channels": ckpt.in_channels, "min_size": min_input_size(model)},
        "output": {"name": "logits", "dtype": "float32", "layout": "NCHW",
                   "meaning": "class scores per model channel; class id = channel_ids[argmax]"},
        "source_checkpoint": str(ckpt.path) if ckpt.path else None,
        "epoch": ckpt.epoch,
        "metrics": ckpt.metrics,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "torch_version": torch.__version__,
        "task": ckpt.task,
    }
    if ckpt.task == "click":
        inp, out, how = click_io(ckpt)
        inp["min_size"] = min_input_size(model)
        meta.update(input=inp, output=out, click_encoding=how)
        del meta["channel_ids"]  # one output: the object, of whichever class it is labelled
    return meta


def _sample(ckpt: Checkpoint, h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn((1, ckpt.in_channels, h, w), generator=g)


def export_torchscript(ckpt: Checkpoint, out: Path, check: bool = True) -> dict[str, Any]:
    model = inference_model(ckpt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.script(model)
        scripted = torch.jit.freeze(scripted)
    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    atomic_write_bytes(out, buf.getvalue())
    if not check:
        return {}
    # check: the saved file against eager PyTorch (with BN, unfused) at an odd size
    x = _sample(ckpt, 67, 93)
    with torch.inference_mode():
        ref = ckpt.build_model()(x)
        got = torch.jit.load(str(out))(x)  # type: ignore[no-untyped-call]  # unannotated in torch
    diff = float((ref - got).abs().max())
    scale = float(ref.abs().max())
    result: ExportCheck = {"input": list(x.shape), "max_abs_diff": diff,
                           "max_abs_output": scale, "tolerance": 1e-4 * max(1.0, scale),
                           "ok": diff <= 1e-4 * max(1.0, scale)}
    return {"check": result}


def export_onnx(ckpt: Checkpoint, out: Path, check: bool = True) -> dict[str, Any]:
    try:
        import onnx  # noqa: F401
    except ImportError as exc:
        raise ExportError("ONNX export needs the 'onnx' package (pip install onnx)") from exc
    model = PortableNet(inference_model(ckpt)).eval()
    x = _sample(ckpt, 64, 96)
    tmp = out.with_name(f".{out.name}.export-{os.getpid()}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model, (x,), str(tmp), dynamo=False, opset_version=ONNX_OPSET,
                input_names=["image"], output_names=["logits"],
                dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                              "logits": {0: "batch", 2: "height", 3: "width"}},
            )
        data = tmp.read_bytes()
    except Exception as exc:  # noqa: BLE001
        raise ExportError(f"ONNX export failed: {str(exc).splitlines()[0]}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    atomic_write_bytes(out, data)
    info: dict[str, Any] = {"opset": ONNX_OPSET, "exporter": "torch.onnx.export(dynamo=False)"}
    if check:
        info["check"] = check_onnx(ckpt, out)
    return info


def check_onnx(ckpt: Checkpoint, path: Path, size: tuple[int, int] = (35, 51)) -> ExportCheck:
    """Compare the ONNX file with eager PyTorch on a small odd-sized input, with
    onnxruntime if installed, else onnx's reference evaluator."""
    import onnx

    x = _sample(ckpt, *size, seed=1)
    with torch.inference_mode():
        ref = ckpt.build_model()(x).numpy()
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    try:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = sess.run(None, {"image": x.numpy()})[0]
        runtime = f"onnxruntime {ort.__version__}"
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        # run gives a dict only for intermediate=True
        outputs = cast(list[Any], ReferenceEvaluator(model).run(None, {"image": x.numpy()}))
        got = outputs[0]
        runtime = f"onnx.reference.ReferenceEvaluator (onnx {onnx.__version__})"
    diff = float(np.abs(ref - got).max())
    scale = float(np.abs(ref).max())
    tol = 1e-3 * max(1.0, scale)
    return {"runtime": runtime, "input": list(x.shape), "max_abs_diff": diff,
            "max_abs_output": scale, "tolerance": tol, "ok": diff <= tol}


def export_model(checkpoint: str | os.PathLike[str], fmt: str, out: str | os.PathLike[str],
                 check: bool = True, progress: Callable[[int, int], None] | None = None
                 ) -> dict[str, Any]:
    """Write ``out`` and ``out + '.json'``; returns the metadata written.
    ``progress(done, total)`` is called after loading, exporting and checking."""
    if fmt not in FORMATS:
        raise ExportError(f"--format {fmt!r}: choose torchscript or onnx")
    ckpt = load_checkpoint(checkpoint)
    if progress is not None:
        progress(1, 3)
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"{out}: is a folder; give a file name for the exported model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is marked deprecated
        if fmt == "torchscript":
            info = export_torchscript(ckpt, out, check)
        else:
            info = export_onnx(ckpt, out, check)
    if progress is not None:
        progress(2, 3)
    meta = metadata(ckpt, fmt, inference_model(ckpt))
    meta.update(info)
    atomic_write_text(str(out) + ".json", json.dumps(meta, indent=2) + "\n")
    if progress is not None:
        progress(3, 3)
    return meta


__all__ = ["export_model", "export_torchscript", "export_onnx", "check_onnx", "ExportError",
           "FORMATS", "atomic_write"]
