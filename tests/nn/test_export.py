"""export-model: TorchScript and ONNX outputs equal PyTorch's; metadata travels along."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from segstudio.core.classes import ClassInfo, ClassTable
from segstudio.nn.checkpoint import checkpoint_dict, load_checkpoint, save_checkpoint
from segstudio.nn.export import ExportError, PortableNet, export_model, inference_model
from segstudio.nn.segnet import IMAGENET_MEAN, IMAGENET_STD, SegNet, SegNetBasic

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
