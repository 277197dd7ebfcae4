"""segstudio train --from: rounds continue from the active model; scratch is a choice."""

from __future__ import annotations

from segstudio.core.project import Project

from .test_nn_cli import cli, tiny  # noqa: F401 - the fixture

BASE = ("--epochs", "1", "--batch-size", "2", "--crop", "64x96", "--device", "cpu",
        "--val-split", "0.34")


def test_rounds_continue_from_the_active_model_unless_scratch(tiny, capsys):  # noqa: F811
    rc, out, err = cli(capsys, "train", tiny, "--from", "active", *BASE)
    assert rc == 1 and out == ""
    assert err.strip().splitlines() == [
        "segstudio train: error: the project has no active model yet to continue from; "
        "train one from scratch first"]
    rc, out, err = cli(capsys, "train", tiny, *BASE, "--imagenet", "none")
    assert rc == 0, err
    assert "starting from He initialisation" in out and "continuing from" not in out
    with Project.open(tiny) as project:
        active = project.settings.get("active_checkpoint")
    # the next round fine-tunes the active model: half the learning rate, no He init
    rc, out, err = cli(capsys, "train", tiny, *BASE)
    assert rc == 0, err
    assert f"info: continuing from the active model {active} (a correction round" in out
    assert f"info: a new round from the weights of {active} (1 epochs, lr 0.0015)" in out
    assert "the model this round starts from scores" in out
    assert "He initialisation" not in out
    with Project.open(tiny) as project:
        runs = project.runs.all()
    assert runs[-1].config["started_from"] == active and runs[-1].config["lr"] == 0.0015
    # scratch on request
    rc, out, err = cli(capsys, "train", tiny, *BASE, "--from", "scratch", "--imagenet", "none")
    assert rc == 0, err
    assert "starting from He initialisation" in out and "continuing from" not in out
    # a width the active model does not have: scratch by default, an error when asked for
    rc, out, err = cli(capsys, "train", tiny, *BASE, "--width", "0.5", "--imagenet", "none")
    assert rc == 0, err
    assert "info: starting from scratch: the active model does not fit" in out
    rc, out, err = cli(capsys, "train", tiny, *BASE, "--width", "0.5", "--from", "active")
    assert rc == 1 and "has width 0.25, not 0.5" in err
    rc, out, err = cli(capsys, "train", tiny, *BASE, "--from", str(tiny / "missing.pt"))
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "missing.pt" in err
