"""export-model: TorchScript and ONNX outputs equal PyTorch's; metadata travels along."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from segstudio.core.classes import ClassInfo, ClassTable
from segstudio.nn.export import ExportError, PortableNet, export_model, inference_model
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, SegNet, SegNetBasic
from segstudio.nn.runs.checkpoint import checkpoint_dict, load_checkpoint, save_checkpoint

CLASSES = ClassTable((ClassInfo(0, "bg", (0, 0, 0)), ClassInfo(4, "fg", (255, 0, 0)),
                      ClassInfo(255, "void", (9, 9, 9), ignore=True)), name="two")


@pytest.fixture()
def ckpt_path(tmp_path):
    torch.manual_seed(3)
    model = SegNet(2, 3, width=0.25)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return save_checkpoint(tmp_path / "m.pt", checkpoint_dict(model, CLASSES, IMAGENET_MEAN,
                                                               IMAGENET_STD, epoch=7))


def test_torchscript_output_equals_pytorch(ckpt_path, tmp_path):
    out = tmp_path / "model.ts"
    meta = export_model(ckpt_path, "torchscript", out)
    assert meta["check"]["ok"] and meta["check"]["max_abs_diff"] < 1e-4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        loaded = torch.jit.load(str(out))
    ck = load_checkpoint(ckpt_path)
    x = torch.randn(2, 3, 61, 83)
    with torch.inference_mode():
        ref = ck.build_model()(x)
        got = loaded(x)
    assert got.shape == (2, 2, 61, 83)
    assert torch.allclose(got, ref, rtol=0, atol=1e-4 * max(1.0, float(ref.abs().max())))
    side = json.loads((tmp_path / "model.ts.json").read_text())
    assert side["model_format"] == "torchscript"
    assert side["channel_ids"] == [0, 4]
    assert side["classes"] == CLASSES.to_json_dict()
    assert side["normalization"]["mean"] == list(IMAGENET_MEAN)
    assert side["model_config"] == {"arch": "segnet", "width": 0.25, "in_channels": 3,
                                    "num_classes": 2, "dropout": 0.0}
    assert side["input"]["min_size"] == 32 and side["epoch"] == 7


def test_portable_unpooling_matches_pytorch_including_ties():
    torch.manual_seed(0)
    model = SegNetBasic(3, 1, width=0.25).eval()
    x = torch.randn(1, 1, 45, 70)
    x[:, :, 10:30, 20:50] = 0.0  # flat region: every 2x2 window ties after the ReLU
    with torch.inference_mode():
        assert torch.equal(PortableNet(model)(x), model(x))


def test_onnx_output_equals_pytorch(ckpt_path, tmp_path):
    pytest.importorskip("onnx", reason="ONNX export needs the optional onnx package")
    import onnx
    from onnx.reference import ReferenceEvaluator

    out = tmp_path / "model.onnx"
    meta = export_model(ckpt_path, "onnx", out)
    check = meta["check"]
    assert check["ok"] and check["max_abs_diff"] < 1e-4, check
    assert meta["exporter"] == "torch.onnx.export(dynamo=False)" and meta["opset"] == 17
    # dynamic height and width: another odd size through onnx's reference evaluator
    x = np.random.default_rng(0).standard_normal((1, 3, 40, 72)).astype(np.float32)
    got = ReferenceEvaluator(onnx.load(str(out))).run(None, {"image": x})[0]
    with torch.inference_mode():
        ref = inference_model(load_checkpoint(ckpt_path))(torch.from_numpy(x)).numpy()
    assert got.shape == (1, 2, 40, 72)
    assert np.abs(got - ref).max() < 1e-4 * max(1.0, float(np.abs(ref).max()))
    assert json.loads((tmp_path / "model.onnx.json").read_text())["model_format"] == "onnx"


def test_bad_export_requests(ckpt_path, tmp_path):
    with pytest.raises(ExportError, match="choose torchscript or onnx"):
        export_model(ckpt_path, "tflite", tmp_path / "x")
    with pytest.raises(ExportError, match="is a folder"):
        export_model(ckpt_path, "torchscript", tmp_path)


def test_click_model_exports_with_its_input_encoding(tmp_path):
    """A click model's export: one output plane, the six input planes named, and the
    exported model fed the documented encoding gives the predictor's own probabilities."""
    from segstudio.nn.click import simulate as C
    from segstudio.nn.click.model import ClickPredictor, click_normalization

    torch.manual_seed(5)
    model = SegNet(1, 3 + C.CLICK_CHANNELS, width=0.25)
    mean, std = click_normalization(IMAGENET_MEAN, IMAGENET_STD)
    path = save_checkpoint(tmp_path / "click.pt", checkpoint_dict(
        model, CLASSES, mean, std, epoch=2, task="click", click={"size": 64}))
    out = tmp_path / "click.ts"
    meta = export_model(path, "torchscript", out)
    assert meta["check"]["ok"]
    assert meta["task"] == "click" and "channel_ids" not in meta
    assert meta["input"]["planes"] == ["R", "G", "B", "positive clicks", "negative clicks",
                                       "previous mask"]
    assert meta["input"]["channels"] == 6 and meta["input"]["height"] == 64
    assert meta["output"]["channels"] == 1
    assert "round(255 * (1 - d / 16))" in meta["click_encoding"]["click_maps"]
    assert json.loads((tmp_path / "click.ts.json").read_text())["task"] == "click"

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    inp = C.model_input(image, C.click_box(image.shape[:2], [(40, 30)], []), 64, [(40, 30)], [])
    x = (torch.from_numpy(inp).float().permute(2, 0, 1)[None] / 255
         - torch.tensor(meta["normalization"]["mean"]).view(1, -1, 1, 1)) \
        / torch.tensor(meta["normalization"]["std"]).view(1, -1, 1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        got = torch.sigmoid(torch.jit.load(str(out))(x))[0, 0].numpy()
    want = ClickPredictor.from_checkpoint(path).probabilities(inp[None])[0]
    assert np.abs(got - want).max() < 1e-4
