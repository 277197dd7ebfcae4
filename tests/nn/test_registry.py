"""The model and optimizer registries: every record builds what it names, and the
settings, the CLI and the Training panel list exactly the registered ones."""

import argparse

import pytest
import torch

from segstudio.cli.main import build_parser
from segstudio.nn.config import OPTIMIZER_DEFAULTS, OPTIMIZERS, TrainConfig, switch_optimizer
from segstudio.nn.models.segnet import (
    ModelConfigError,
    build_model,
    min_input_size,
    model_from_config,
)
from segstudio.nn.names import ARCHS
from segstudio.nn.registry import LOSSES, MODELS
from segstudio.nn.registry import OPTIMIZERS as OPTIMIZER_ENTRIES
from segstudio.nn.train.step import make_optimizer


@pytest.mark.parametrize("name", list(MODELS))
def test_every_registered_model_builds_runs_and_rebuilds_from_its_config(name):
    torch.manual_seed(0)
    model = build_model(name, 5, 6, 0.0625).eval()
    assert (model.arch, model.num_classes, model.in_channels) == (name, 5, 6)
    side = min_input_size(model)
    x = torch.rand(2, 6, side, 2 * side)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 5, side, 2 * side)
    again = model_from_config(model.config())
    again.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(again.eval()(x), y)


def test_an_unknown_model_is_refused_naming_the_registered_ones():
    with pytest.raises(ModelConfigError, match="segnet, segnet-basic"):
        build_model("unet", 3)
    assert tuple(MODELS) == ARCHS


@pytest.mark.parametrize("name", list(OPTIMIZER_ENTRIES))
def test_every_registered_optimizer_steps_with_the_settings_rate_and_decay(name):
    entry = OPTIMIZER_ENTRIES[name]
    cfg = TrainConfig(optimizer=name, lr=0.125, weight_decay=0.0)
    w = torch.nn.Parameter(torch.ones(3))
    opt = make_optimizer(cfg, [w])
    assert opt.param_groups[0]["lr"] == 0.125 and opt.param_groups[0]["weight_decay"] == 0.0
    (w * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    opt.step()
    assert (w.detach() < 1.0).all()  # every weight moved against its gradient
    switched = switch_optimizer(TrainConfig(optimizer="sgd" if name != "sgd" else "adamw"), name)
    assert (switched.lr, switched.weight_decay) == (entry.lr, entry.weight_decay)
    assert OPTIMIZER_DEFAULTS[name] == {"lr": entry.lr, "weight_decay": entry.weight_decay}


def test_settings_and_cli_offer_exactly_the_registered_names():
    assert tuple(OPTIMIZER_ENTRIES) == OPTIMIZERS
    with pytest.raises(Exception, match="choose sgd or adamw"):
        TrainConfig(optimizer="lion").validate()
    parser = build_parser()
    train = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
                 ).choices["train"]
    opts = {a.dest: a for a in train._actions}
    # the flags list the registered names, and refuse others in the settings' words
    assert opts["arch"].option_strings == ["--model"]
    assert opts["arch"].metavar == "|".join(MODELS)
    assert opts["optimizer"].metavar == "|".join(OPTIMIZER_ENTRIES)
    assert opts["loss"].metavar == "|".join(LOSSES)
    with pytest.raises(argparse.ArgumentTypeError, match="^Optimizer 'lion': choose sgd or "
                                                         "adamw$"):
        opts["optimizer"].type("lion")
