"""SegNet and SegNet-Basic (Badrinarayanan, Kendall, Cipolla, TPAMI 2017).

SegNet: the 13 convolutions of VGG16 with batch norm (torchvision's
``vgg16_bn`` feature layers, built with ``torchvision.models.vgg.make_layers``
so no 134 M-parameter classifier is allocated) in 5 blocks, each followed by
2x2 max pooling that keeps its argmax indices; a mirrored decoder of 12
conv + BN + ReLU layers whose blocks first unpool with those indices (to the
exact size before pooling, so any input size works, odd ones included), and a
final 3x3 convolution to K class scores (no BN, no ReLU on the logits).
29,449,932 parameters for K=12 and 3 input channels.

SegNet-Basic: 4 encoders (7x7 conv, 64 channels, BN, ReLU, 2x2 max pooling
with indices), 4 decoders (unpool, 7x7 conv, BN; the paper's decoders have no
ReLU) and a 1x1 classifier; 1,416,652 parameters for K=12.

``width`` scales every channel count (0.25, 0.5, 1.0) for CPU users.

The modules are TorchScript-scriptable.  :func:`fold_batchnorm` makes the
inference form (BN folded into the preceding conv).
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

import torch
import torch.nn.functional as F
from torch import nn

from ..names import ARCHS  # noqa: F401 - re-exported
from ..registry import MODELS

WIDTHS = (0.25, 0.5, 1.0)
VGG16_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GRAY_MEAN = (0.449,)
GRAY_STD = (0.226,)


class ModelConfigError(ValueError):
    pass


class ModelConfig(TypedDict):
    """What builds a model again (:func:`model_from_config`): a checkpoint's
    ``model_config``.  Files written before dropout existed have no ``dropout``."""

    arch: str
    width: float
    in_channels: int
    num_classes: int
    dropout: NotRequired[float]


def scaled(channels: int, width: float) -> int:
    return max(8, int(round(channels * width)))


class _Net(nn.Module):
    """Encoder blocks, each pooled with indices; decoder blocks, each unpooled first."""

    arch = ""

    def __init__(self, encoders: nn.ModuleList, decoders: nn.ModuleList, classifier: nn.Module,
                 num_classes: int, in_channels: int, width: float):
        super().__init__()
        self.encoders = encoders
        self.decoders = decoders  # in decoding order (deepest first)
        self.classifier = classifier
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.width = width
        self.depth = len(encoders)
        # Bayesian SegNet (Kendall, Badrinarayanan, Cipolla 2015): dropout after the
        # central (deepest) half of the encoders, after pooling, and after the same
        # number of decoders; ``mc_dropout`` keeps it on in eval mode for Monte Carlo
        # sampling.  No parameters, so checkpoints are the same with and without it.
        self.dropout = 0.0
        self.mc_dropout = False
        self.central = (self.depth + 1) // 2

    def config(self) -> dict[str, Any]:
        return {"arch": self.arch, "width": float(self.width),
                "in_channels": int(self.in_channels), "num_classes": int(self.num_classes),
                "dropout": float(self.dropout)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes: list[list[int]] = []
        indices: list[torch.Tensor] = []
        drop = self.dropout > 0 and (self.training or self.mc_dropout)
        n = self.depth
        i = 0
        for enc in self.encoders:
            x = enc(x)
            sizes.append([x.shape[2], x.shape[3]])
            x, idx = F.max_pool2d(x, kernel_size=2, stride=2, return_indices=True)
            indices.append(idx)
            if drop and i >= n - self.central:
                x = F.dropout2d(x, self.dropout, True)
            i += 1  # noqa: SIM113 - TorchScript scripts this loop
        i = 0
        for dec in self.decoders:
            # torch's stub wants a list for kernel_size / stride; the function (and
            # TorchScript) takes an int for both sides, as max_pool2d's stub does
            x = F.max_unpool2d(x, indices[n - 1 - i], kernel_size=2, stride=2,  # type: ignore[arg-type]
                               output_size=sizes[n - 1 - i])
            x = dec(x)
            if drop and i < self.central:
                x = F.dropout2d(x, self.dropout, True)
            i += 1  # noqa: SIM113 - TorchScript scripts this loop
        logits: torch.Tensor = self.classifier(x)
        return logits


def _cbr(cin: int, cout: int, k: int, relu: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, padding=k // 2), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return layers


# torchvision is imported on first use, often on a worker thread of the window; two
# threads importing it at once can hit Python's import deadlock detection
# (_DeadlockError in torchvision.models.vgg), so every import of it takes this lock.
_TORCHVISION = threading.Lock()


def vgg16_bn_features(width: float = 1.0) -> nn.Sequential:
    """torchvision's VGG16-BN feature layers (``vgg16_bn().features``) at a width."""
    with _TORCHVISION:
        from torchvision.models.vgg import cfgs, make_layers

    cfg = [v if v == "M" else scaled(int(v), width) for v in cfgs["D"]]
    features: nn.Sequential = make_layers(cfg, batch_norm=True)  # torchvision has no stubs
    return features


class SegNet(_Net):
    arch = "segnet"

    def __init__(self, num_classes: int, in_channels: int = 3, width: float = 1.0):
        _check(num_classes, in_channels, width)
        features = vgg16_bn_features(width)
        if in_channels != 3:
            first = cast(nn.Conv2d, features[0])  # VGG16 starts with a 3x3 conv
            features[0] = nn.Conv2d(in_channels, first.out_channels, 3, padding=1)
        # slice torchvision's Sequential into the 5 blocks, dropping its MaxPool layers
        blocks: list[list[nn.Module]] = [[]]
        for layer in features:
            if isinstance(layer, nn.MaxPool2d):
                blocks.append([])
            else:
                blocks[-1].append(layer)
        encoders = nn.ModuleList(nn.Sequential(*b) for b in blocks if b)
        chans = [[scaled(c, width) for c in blk] for blk in VGG16_BLOCKS]
        decoders: list[nn.Module] = []
        for b in range(len(chans) - 1, -1, -1):
            blk = chans[b]
            out = chans[b - 1][-1] if b > 0 else blk[0]
            layers: list[nn.Module] = []
            # mirrored: same widths, the last conv of the block narrows to the next block's
            n = len(blk) if b > 0 else len(blk) - 1
            for j in range(n):
                cout = blk[j] if j < n - 1 else out
                layers += _cbr(blk[j], cout, 3)
            decoders.append(nn.Sequential(*layers))
        classifier = nn.Conv2d(chans[0][0], num_classes, 3, padding=1)
        super().__init__(encoders, nn.ModuleList(decoders), classifier, num_classes,
                         in_channels, width)
        he_init(self)


class SegNetBasic(_Net):
    arch = "segnet-basic"

    def __init__(self, num_classes: int, in_channels: int = 3, width: float = 1.0):
        _check(num_classes, in_channels, width)
        c = scaled(64, width)
        encoders = nn.ModuleList(
            nn.Sequential(*_cbr(in_channels if i == 0 else c, c, 7)) for i in range(4))
        decoders = nn.ModuleList(nn.Sequential(*_cbr(c, c, 7, relu=False)) for _ in range(4))
        super().__init__(encoders, decoders, nn.Conv2d(c, num_classes, 1), num_classes,
                         in_channels, width)
        he_init(self)


def _check(num_classes: int, in_channels: int, width: float) -> None:
    if num_classes < 1:
        raise ModelConfigError("the model needs at least one class")
    if in_channels not in (1, 3, 4, 6):  # 4, 6: an image plus a click model's 3 maps
        raise ModelConfigError(f"input channels must be 1 (grayscale) or 3 (RGB), or those "
                               f"plus 3 click maps, not {in_channels}")
    if not 0.0625 <= width <= 2.0:
        raise ModelConfigError(f"width {width} is outside 0.0625..2 (use 0.25, 0.5 or 1.0)")


def he_init(model: nn.Module) -> None:
    """He (Kaiming) normal initialisation of every conv; BN to identity."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def build_model(arch: str, num_classes: int, in_channels: int = 3, width: float = 1.0) -> _Net:
    """A new model of the registered architecture ``arch`` (:data:`registry.MODELS`)."""
    entry = MODELS.get(arch)
    if entry is not None:
        return entry.build(num_classes, in_channels, width)
    raise ModelConfigError(f"unknown model {arch!r}; choose one of {', '.join(ARCHS)}")


def model_from_config(cfg: Mapping[str, Any]) -> _Net:
    """The model a :class:`ModelConfig` describes; ``cfg`` may come from any file, so a
    missing or ill-typed entry is a :class:`ModelConfigError`."""
    try:
        m = build_model(str(cfg["arch"]), int(cfg["num_classes"]), int(cfg["in_channels"]),
                        float(cfg["width"]))
        m.dropout = float(cfg.get("dropout", 0.0))
        return m
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelConfigError(f"bad model configuration {cfg!r}: {exc}") from exc


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def as_net(model: nn.Module) -> _Net:
    """``model`` as the SegNet / SegNet-Basic it has to be for inference and export."""
    if not isinstance(model, _Net):
        raise TypeError(f"expected a SegNet or SegNet-Basic model, not {type(model).__name__}")
    return model


def min_input_size(model: _Net) -> int:
    return int(2 ** model.depth)


# -- ImageNet initialisation ----------------------------------------------------------

def imagenet_cache_path() -> Path:
    """Where torchvision keeps VGG16-BN ImageNet weights once downloaded."""
    with _TORCHVISION:
        from torchvision.models import VGG16_BN_Weights

    name: str = os.path.basename(VGG16_BN_Weights.IMAGENET1K_V1.url)
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def load_imagenet_encoder(model: SegNet, path: str | os.PathLike[str] | None = None) -> str:
    """Copy VGG16-BN ImageNet weights into the encoder; returns a line saying what happened.

    ``path`` None: use torchvision's cached file if present, else keep He init (never
    downloads).  A named file that is missing or unreadable raises
    :class:`ImagenetWeightsError`."""
    if not isinstance(model, SegNet):
        return "SegNet-Basic has no ImageNet encoder; starting from He initialisation"
    named = path is not None
    src = Path(path) if path is not None else imagenet_cache_path()
    if not src.is_file():
        if named:
            raise ImagenetWeightsError(f"{src}: ImageNet weights file not found; give the path of "
                                       "vgg16_bn-6c64b313.pth (torchvision VGG16-BN weights)")
        return (f"no ImageNet weights in {src.parent} (nothing is downloaded); "
                "starting from He initialisation")
    if model.width != 1.0:
        return (f"ImageNet weights exist only for width 1.0, not {model.width}; "
                "starting from He initialisation")
    try:
        state = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        import pickle
        import zipfile

        if isinstance(exc, pickle.UnpicklingError) and zipfile.is_zipfile(src):
            # torch's advice is many lines (and suggests weights_only=False): say it once
            raise ImagenetWeightsError(f"{src}: refused: the file holds more than weights (code "
                                       "that would run when loaded); use a plain VGG16-BN state "
                                       "dict such as torchvision's vgg16_bn file") from exc
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, pickle.UnpicklingError):
            first = "not a file torch.save wrote"
        raise ImagenetWeightsError(f"{src}: not a readable PyTorch weights file ({first})") \
            from exc
    if not isinstance(state, dict):
        raise ImagenetWeightsError(f"{src}: expected a state dict of VGG16-BN weights")
    feats = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    if not feats:
        feats = dict(state)
    # map torchvision's flat Sequential indices to our encoder blocks
    ref = vgg16_bn_features(1.0)
    ref_keys = list(ref.state_dict().keys())
    ours = model.encoders.state_dict()
    mapping = _features_to_blocks(ref)
    missing = [k for k in ref_keys if k not in feats]
    if missing:
        raise ImagenetWeightsError(f"{src}: not VGG16-BN weights (missing {missing[:3]} ...)")
    new: dict[str, torch.Tensor] = {}
    for k in ref_keys:
        idx, rest = k.split(".", 1)
        ok = f"{mapping[int(idx)]}.{rest}"
        t = feats[k]
        if not isinstance(t, torch.Tensor):
            raise ImagenetWeightsError(f"{src}: entry {k} is not a tensor")
        if k == "0.weight" and model.in_channels == 1:
            t = t.sum(dim=1, keepdim=True)  # grayscale: one channel carrying R+G+B
        if tuple(t.shape) != tuple(ours[ok].shape):
            raise ImagenetWeightsError(f"{src}: {k} has shape {tuple(t.shape)}, "
                                       f"expected {tuple(ours[ok].shape)}; not VGG16-BN weights")
        new[ok] = t
    model.encoders.load_state_dict(new)
    return f"encoder initialised from ImageNet weights {src}"


class ImagenetWeightsError(Exception):
    pass


def _features_to_blocks(features: nn.Sequential) -> dict[int, str]:
    """Index in torchvision's features Sequential -> 'block.index' in our encoders."""
    out: dict[int, str] = {}
    block, j = 0, 0
    for i, layer in enumerate(features):
        if isinstance(layer, nn.MaxPool2d):
            block, j = block + 1, 0
            continue
        out[i] = f"{block}.{j}"
        j += 1
    return out


# -- inference form -----------------------------------------------------------------

def fold_batchnorm(model: _Net) -> _Net:
    """A copy in eval mode with every BatchNorm folded into its conv (same outputs)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    m = copy.deepcopy(model).eval()
    # every encoder and decoder block is an nn.Sequential (see SegNet, SegNetBasic)
    for seq in cast(list[nn.Sequential], list(m.encoders) + list(m.decoders)):
        layers = list(seq)
        out: list[nn.Module] = []
        i = 0
        while i < len(layers):
            cur, nxt = layers[i], layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(cur, nn.Conv2d) and isinstance(nxt, nn.BatchNorm2d):
                out.append(fuse_conv_bn_eval(cur, nxt))
                i += 2
            else:
                out.append(cur)
                i += 1
        for k in range(len(seq)):
            seq[k] = out[k] if k < len(out) else nn.Identity()
    return m
