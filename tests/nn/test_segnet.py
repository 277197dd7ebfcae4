"""SegNet / SegNet-Basic: exact sizes, any input size, pooling indices, ImageNet init."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from segstudio.nn.models.segnet import (
    ImagenetWeightsError,
    SegNet,
    SegNetBasic,
    _Net,
    build_model,
    count_parameters,
    fold_batchnorm,
    imagenet_cache_path,
    load_imagenet_encoder,
    vgg16_bn_features,
)


def test_parameter_counts_match_the_paper_layouts():
    assert count_parameters(SegNet(12, 3)) == 29_449_932
    # SegNet-Basic: 4 x (7x7 conv + BN) encoders and decoders, 1x1 classifier: ~1.42 M
    assert count_parameters(SegNetBasic(12, 3)) == 1_416_652
    assert count_parameters(SegNetBasic(11, 3)) == 1_416_587
    assert count_parameters(SegNet(12, 1)) == 29_449_932 - 2 * 64 * 9
    assert count_parameters(SegNet(12, 3, width=0.5)) == 7_370_604
    assert count_parameters(SegNet(12, 3, width=0.25)) == 1_846_716
    assert count_parameters(SegNetBasic(12, 3, width=0.25)) == 90_748


def test_segnet_layout():
    m = SegNet(12)
    convs = [x for x in m.modules() if isinstance(x, nn.Conv2d)]
    bns = [x for x in m.modules() if isinstance(x, nn.BatchNorm2d)]
    assert len(convs) == 26 and len(bns) == 25  # 13 + 12 conv-BN-ReLU, 1 bare classifier
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert [len(e) // 3 for e in m.encoders] == [2, 2, 3, 3, 3]
    assert [len(d) // 3 for d in m.decoders] == [3, 3, 3, 2, 1]
    assert m.classifier.out_channels == 12 and m.classifier is convs[-1]
    basic = SegNetBasic(11)
    assert [type(x) for x in basic.decoders[0]] == [nn.Conv2d, nn.BatchNorm2d]  # no ReLU
    assert basic.classifier.kernel_size == (1, 1)


def test_encoder_is_torchvision_vgg16_bn_features():
    import torchvision

    ref = torchvision.models.vgg16_bn(weights=None).features
    ours = vgg16_bn_features(1.0)
    assert [(k, tuple(v.shape)) for k, v in ref.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in ours.state_dict().items()]
    enc = SegNet(11).encoders
    assert sum(p.numel() for p in enc.parameters()) == sum(p.numel() for p in ref.parameters())


@pytest.mark.parametrize("size", [(360, 480), (361, 479), (33, 95)])
def test_any_input_size(size):
    torch.manual_seed(0)
    for model in (SegNet(5, 3, width=0.25), SegNetBasic(5, 1, width=0.25)):
        x = torch.randn(1, model.in_channels, *size)
        with torch.no_grad():
            y = model.eval()(x)
        assert y.shape == (1, 5, *size)
        assert torch.isfinite(y).all()


def _pool_unpool_net() -> _Net:
    """One pooling level with identity convolutions: output = unpool(pool(x))."""
    return _Net(nn.ModuleList([nn.Identity()]), nn.ModuleList([nn.Identity()]), nn.Identity(),
                1, 1, 1.0)


def test_unpooling_puts_values_back_where_the_maxima_were():
    x = torch.tensor([[1., 5., 2., 0., 7.],
                      [3., 4., 9., 1., 8.],
                      [6., 2., 1., 3., 4.]]).view(1, 1, 3, 5)
    out = _pool_unpool_net()(x)[0, 0]
    # 2x2 windows over rows 0-1: max 5 at (0,1), max 9 at (1,2); row 2 and column 4 are
    # not pooled (odd size) and come back as zeros
    expect = torch.tensor([[0., 5., 0., 0., 0.],
                           [0., 0., 9., 0., 0.],
                           [0., 0., 0., 0., 0.]])
    assert torch.equal(out, expect)


def test_unpooling_ties_take_the_first_position():
    x = torch.zeros(1, 1, 2, 2)
    assert torch.equal(_pool_unpool_net()(x + 3)[0, 0], torch.tensor([[3., 0.], [0., 0.]]))


def test_fold_batchnorm_keeps_outputs():
    torch.manual_seed(1)
    m = SegNet(4, width=0.25)
    for mod in m.modules():  # non-trivial BN statistics
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
    m.eval()
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        ref = m(x)
        folded = fold_batchnorm(m)
        got = folded(x)
    assert not any(isinstance(mod, nn.BatchNorm2d) for mod in folded.modules())
    assert torch.allclose(ref, got, rtol=1e-4, atol=1e-4 * float(ref.abs().max()))


def test_bad_configs():
    with pytest.raises(ValueError, match="input channels"):
        SegNet(3, in_channels=2)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("unet", 3)


def test_imagenet_weights_from_a_named_file(tmp_path):
    torch.manual_seed(2)
    feats = vgg16_bn_features(1.0)
    for p in feats.parameters():
        p.data.normal_()
    path = tmp_path / "vgg16_bn.pth"
    torch.save({f"features.{k}": v for k, v in feats.state_dict().items()}, path)
    model = SegNet(11)
    decoder_before = model.decoders[0][0].weight.clone()
    note = load_imagenet_encoder(model, path)
    assert "initialised from ImageNet weights" in note
    assert torch.equal(model.encoders[0][0].weight, feats[0].weight)
    assert torch.equal(model.encoders[4][7].running_var, feats[41].running_var)  # conv5_3's BN
    gray = SegNet(11, in_channels=1)
    load_imagenet_encoder(gray, path)
    assert torch.allclose(gray.encoders[0][0].weight, feats[0].weight.sum(1, keepdim=True))
    # the decoder keeps its He initialisation
    assert torch.equal(model.decoders[0][0].weight, decoder_before)
    with pytest.raises(ImagenetWeightsError, match="not found"):
        load_imagenet_encoder(SegNet(11, width=0.25), tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a weights file")
    with pytest.raises(ImagenetWeightsError, match="not a readable"):
        load_imagenet_encoder(SegNet(11), tmp_path / "junk.pth")


def test_imagenet_weights_from_torch_cache_only_when_present(tmp_path):
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    try:
        note = load_imagenet_encoder(SegNet(11))
        assert "nothing is downloaded" in note and "He initialisation" in note
        cached = imagenet_cache_path()
        assert cached.name == "vgg16_bn-6c64b313.pth"
        cached.parent.mkdir(parents=True)
        feats = vgg16_bn_features(1.0)
        torch.save({f"features.{k}": v for k, v in feats.state_dict().items()}, cached)
        model = SegNet(11)
        assert "initialised from" in load_imagenet_encoder(model)
        assert torch.equal(model.encoders[1][0].weight, feats[7].weight)
        assert "width 1.0" in load_imagenet_encoder(SegNet(11, width=0.5))
    finally:
        torch.hub.set_dir(old)


class _RunsCode:
    def __reduce__(self):
        import os
        return (os.getcwd, ())


def test_an_imagenet_file_that_runs_code_is_refused_in_one_line(tmp_path):
    from segstudio.nn.models.segnet import ImagenetWeightsError, SegNet, load_imagenet_encoder

    bad = tmp_path / "evil.pth"
    torch.save({"features.0.weight": _RunsCode()}, bad)
    with pytest.raises(ImagenetWeightsError) as err:
        load_imagenet_encoder(SegNet(12, 3, 1.0), str(bad))
    text = str(err.value)
    assert "\n" not in text and "weights_only" not in text
    assert text.startswith(f"{bad}: refused: the file holds more than weights")
