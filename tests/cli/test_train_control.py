"""segstudio control, train --config and --add-epochs: steering and continuing runs from
the command line."""

from __future__ import annotations

import json

from segstudio.core.project import Project
from segstudio.nn.runs import control

from .test_nn_cli import cli, tiny  # noqa: F401 - the fixture

BASE = ("--batch-size", "2", "--crop", "64x96", "--device", "cpu", "--val-split", "0.34",
        "--imagenet", "none", "--from", "scratch")


def test_control_needs_a_running_run(tiny, capsys):  # noqa: F811
    rc, out, err = cli(capsys, "control", tiny, "stop")
    assert rc == 1 and out == ""
    assert err.strip() == ("segstudio control: error: no run is training in this project; "
                           "nothing to stop")
    rc, out, err = cli(capsys, "train", tiny, "--epochs", "1", *BASE)
    assert rc == 0, err
    rc, out, err = cli(capsys, "control", tiny, "1", "pause")
    assert rc == 1
    assert err.strip() == ("segstudio control: error: run 1 is not training (it is "
                           "completed); nothing to pause")
    rc, out, err = cli(capsys, "control", tiny, "7", "stop")
    assert rc == 1 and "the project has no run 7" in err


def test_control_writes_the_runs_control_file(tiny, capsys):  # noqa: F811
    with Project.open(tiny) as project:  # a run some other process is training
        run_id = project.runs.create({"arch": "segnet"}, "cpu")
    rc, out, err = cli(capsys, "control", tiny, "pause")
    assert rc == 0, err
    with Project.open(tiny) as project:
        path = control.control_path(project, run_id)
    assert out.strip() == f"run {run_id}: asked to pause ({path})"
    assert control.read(path) == "pause"


def test_config_file_and_add_epochs(tiny, capsys, tmp_path):  # noqa: F811
    from segstudio.nn.config import default_train_config

    cfg = default_train_config("cpu").replace(epochs=1, lr=0.002, seed=3)
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"device": "cpu", "config": cfg.to_dict()}))
    rc, out, err = cli(capsys, "train", tiny, "--config", str(settings), *BASE)
    assert rc == 0, err
    with Project.open(tiny) as project:
        run = project.runs.all()[-1]
    assert run.config["lr"] == 0.002 and run.config["seed"] == 3
    assert run.config["crop"] == [64, 96]  # the command line wins over the file
    last = run.checkpoint
    rc, out, err = cli(capsys, "train", tiny, "--resume", last, "--add-epochs", "2",
                       "--device", "cpu")
    assert rc == 0, err
    with Project.open(tiny) as project:
        assert [e.epoch for e in project.runs.epochs(project.runs.all()[-1].id)][-1] == 3
    rc, out, err = cli(capsys, "train", tiny, "--add-epochs", "2", "--device", "cpu")
    assert rc == 1 and "--add-epochs continues a run: give its checkpoint with --resume" in err
    settings.write_text("{broken")
    rc, out, err = cli(capsys, "train", tiny, "--config", str(settings), *BASE)
    assert rc == 1
    assert f"--config {settings}: not a readable settings file" in err
