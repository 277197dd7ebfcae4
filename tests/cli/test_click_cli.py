"""segstudio train --task click: the click model trains on a tiny CamVid project, becomes
the project's click model (not its segmentation model) and continues in rounds."""

from __future__ import annotations

from segstudio.core.project import Project
from segstudio.nn.runs.checkpoint import load_checkpoint

from .test_nn_cli import cli, tiny  # noqa: F401 - the fixture

BASE = ("--task", "click", "--epochs", "1", "--batch-size", "2", "--crop", "64x64",
        "--device", "cpu", "--val-split", "0.34")


def test_train_task_click_and_a_second_round(tiny, capsys):  # noqa: F811
    rc, out, err = cli(capsys, "train", tiny, *BASE)
    assert rc == 0, err
    assert "click model: segnet width 0.25" in out and "crop 64x64, batch 2, adamw" in out
    assert "4 train / 2 val images" in out
    assert "val IoU after 1 / 3 clicks" in out and "NoC@85" in out and "*best" in out
    assert "it is the project's click model now (the editor's Click tool, key C)" in out
    with Project.open(tiny) as project:
        run = project.runs.all()[-1]
        click = project.settings.get("active_click_checkpoint")
        assert project.settings.get("active_checkpoint", None) is None
    assert click == run.best_checkpoint and run.config["task"] == "click"
    ck = load_checkpoint(click)
    assert ck.task == "click" and ck.click_size == 64 and ck.image_channels == 3

    # the next round starts from the project's click model and is compared with it
    rc, out, err = cli(capsys, "train", tiny, *BASE)
    assert rc == 0, err
    assert f"info: continuing from the active model {click} (a correction round" in out
    assert "the click model this round starts from scores" in out
    assert "mean IoU after 3 clicks on this run's" in out

    # its box must be square; a semantic run never starts from the click model
    rc, out, err = cli(capsys, "train", tiny, *BASE[:-6], "--crop", "64x96", "--device", "cpu")
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "square input" in err
    rc, out, err = cli(capsys, "train", tiny, "--from", click, "--epochs", "1", "--crop",
                       "64x96", "--device", "cpu")
    assert rc == 1 and "is a click model, not a semantic one" in err
