"""DDP through torchrun: two CPU processes (gloo) train one run on a tiny real project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from segstudio.core.classes import ClassTable
from segstudio.core.project import Project
from segstudio.nn.runs.checkpoint import load_checkpoint


def _tiny_camvid(camvid, folder: Path, n: int = 6) -> None:
    """``n`` CamVid frames at 120x160 with their label maps as corrected masks."""
    folder.mkdir()
    names = sorted(os.listdir(camvid / "train"))[:n]
    for name in names:
        img = cv2.imread(str(camvid / "train" / name))
        cv2.imwrite(str(folder / name), cv2.resize(img, (160, 120), interpolation=cv2.INTER_AREA))
    with Project.open(folder) as project:
        project.set_classes(ClassTable.load_json(camvid / "classes.json"))
        for rec in project.images():
            lab = cv2.imread(str(camvid / "trainannot" / rec.relpath), cv2.IMREAD_GRAYSCALE)
            project.save_mask(rec, cv2.resize(lab, (160, 120), interpolation=cv2.INTER_NEAREST))


@pytest.mark.skipif(shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None,
                    reason="torchrun is not installed beside this Python")
def test_torchrun_two_processes_train_one_run(camvid, tmp_path):
    folder = tmp_path / "imgs"
    _tiny_camvid(camvid, folder)
    torchrun = str(Path(sys.executable).parent / "torchrun")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).parents[2]))
    proc = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "segstudio", "train",
         str(folder), "--epochs", "2", "--batch-size", "2", "--crop", "64x96", "--device", "cpu",
         "--val-split", "0.34", "--imagenet", "none", "--from", "scratch"],
        capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    # rank 0 alone reports: one run, world size and backend in the log
    assert out.count("info: distributed: 2 processes, backend gloo; this is rank 0; "
                     "effective batch 2 x 2 = 4") == 1, out
    assert out.count("run 1 on cpu") == 1 and "4 train / 2 val images" in out
    assert out.count("epoch   1/2") == 1 and out.count("epoch   2/2") == 1
    with Project.open(folder, scan=False) as project:
        runs = project.runs.all()
        assert len(runs) == 1 and runs[0].status == "completed"
        epochs = project.runs.epochs(runs[0].id)
        # 4 training images split 2 + 2: each epoch counts both processes' images once
        assert [e.epoch for e in epochs] == [1, 2]
        assert [e.train_images for e in epochs] == [4, 4]
        best = project.settings.get("active_checkpoint")
    ckdir = Path(best).parent
    assert sorted(p.name for p in ckdir.iterdir()) == ["best.pt", "last.pt"]
    assert load_checkpoint(ckdir / "last.pt").epoch == 2
    # each process took one step of 2 images per epoch (the sampler's shard), so two
    # optimizer steps in all, not four
    assert load_checkpoint(ckdir / "last.pt").train_state["global_step"] == 2



@pytest.mark.skipif(shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None,
                    reason="torchrun is not installed beside this Python")
def test_an_elastic_restart_resumes_from_the_last_checkpoint(camvid, tmp_path):
    """Rank 0 is killed after two epochs; torchrun (--max-restarts 1) starts the processes
    again and the job resumes from the killed attempt's last checkpoint."""
    import signal
    import time

    folder = tmp_path / "imgs"
    _tiny_camvid(camvid, folder)
    torchrun = str(Path(sys.executable).parent / "torchrun")
    # pytorch#135712: without it the restarted processes can hang in the gloo set-up
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).parents[2]),
               TORCH_DISABLE_SHARE_RDZV_TCP_STORE="1")
    log = open(tmp_path / "torchrun.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [torchrun, "--standalone", "--nproc_per_node", "2", "--max-restarts", "1", "-m",
         "segstudio", "train", str(folder), "--epochs", "5", "--batch-size", "2", "--crop",
         "64x96", "--device", "cpu", "--val-split", "0.34", "--imagenet", "none", "--from",
         "scratch"], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    killed = None
    try:
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.3)
            if killed is None:
                with Project.open(folder, scan=False) as project:
                    runs = project.runs.all()
                    if runs and len(project.runs.epochs(runs[0].id)) >= 2:
                        killed = runs[0].pid
                        os.kill(killed, signal.SIGKILL)
        rc = proc.poll()
    finally:
        if proc.poll() is None:  # never leave a hung job behind
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        log.close()
    out = (tmp_path / "torchrun.log").read_text()
    assert killed is not None, out[-3000:]
    assert rc == 0, out[-3000:]
    assert "info: torchrun restart 1: resuming from" in out
    with Project.open(folder, scan=False) as project:
        runs = project.runs.all()
        first, second = runs[0], runs[-1]
        assert first.status == "interrupted" and len(runs) == 2
        assert second.status == "completed"
        done = [e.epoch for e in project.runs.epochs(first.id)]
        # the second attempt starts after the first one's last completed epoch
        assert [e.epoch for e in project.runs.epochs(second.id)] == list(range(done[-1] + 1,
                                                                               6))
    assert load_checkpoint(Path(second.checkpoint)).epoch == 5
