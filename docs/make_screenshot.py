"""Make docs/screenshot.png: the window on real CamVid images, mid-workflow.

    .venv/bin/python docs/make_screenshot.py [--model CKPT] [--out docs/screenshot.png]

A project of 30 CamVid training images (symlinks into ../shared/datasets/camvid)
with the CamVid classes: 20 carry their human masks (one reviewed), 10 are left
unlabelled.  The Training panel trains the CPU defaults for a few epochs so
the plots hold real curves; then the given checkpoint (default: the one in
models/ when present, else the run just trained) becomes the active model,
predicts the unlabelled image on screen, and the window is grabbed at 1400x900
(offscreen Qt).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CAMVID = Path(os.environ.get("SEGSTUDIO_CAMVID", REPO.parent / "shared" / "datasets" / "camvid"))
SHIPPED = REPO / "models" / "camvid-segnet-w0.25.pt"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from _common import pump  # noqa: E402


def build_project(root: Path) -> Path:
    from segstudio.core.classes import ClassTable
    from segstudio.core.maskio import read_mask
    from segstudio.core.project import Project

    folder = root / "camvid"
    folder.mkdir()
    names = sorted(os.listdir(CAMVID / "train"))[:30]
    for name in names:
        (folder / name).symlink_to(CAMVID / "train" / name)
    with Project.open(folder) as project:
        project.set_classes(ClassTable.load_json(CAMVID / "classes.json"))
        recs = project.images()
        for i, rec in enumerate(recs[:20]):
            project.save_mask(rec, read_mask(CAMVID / "trainannot" / rec.relpath),
                              "reviewed" if i == 1 else "corrected")
    return folder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(SHIPPED) if SHIPPED.is_file() else None)
    ap.add_argument("--out", default=str(REPO / "docs" / "screenshot.png"))
    ap.add_argument("--epochs", type=int, default=8)
    args = ap.parse_args()
    if not (CAMVID / "train").is_dir():
        print(f"CamVid not found at {CAMVID}; set SEGSTUDIO_CAMVID")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SEGSTUDIO_SETTINGS"] = str(Path(tmp) / "settings.ini")
        os.environ["SEGSTUDIO_DATA_DIR"] = str(Path(tmp) / "userdata")
        folder = build_project(Path(tmp))

        from segstudio.gui.app import make_app
        from segstudio.gui.main_window import MainWindow
        from segstudio.nn.config import default_train_config

        app = make_app()
        win = MainWindow()
        win.resize(1400, 900)
        win.show()
        win.open_folder(folder)
        ui = win.training
        pump(app, lambda: win.canvas.document() is not None and ui.ready, timeout=300)
        ui.panel.set_device("cpu")
        ui.panel.set_config(default_train_config("cpu").replace(epochs=args.epochs, seed=0,
                                                                imagenet=None))
        ui.panel.set_mode("scratch")
        ui.panel.start_button.click()
        pump(app, lambda: ui.trainer.running, timeout=300)
        pump(app, lambda: not ui.trainer.running, timeout=1800)
        if args.model:
            ui.runs.use_checkpoint_file(args.model)
            pump(app, lambda: ui.runs.active == str(Path(args.model).resolve()))
        project = win.controller.project
        target = next(r for r in project.images() if r.status == "unlabelled")
        win.browser.select_image(target.id)
        pump(app, lambda: win.canvas.document() is not None
             and win.canvas.document().rec.id == target.id)
        ui.actions["predict"].trigger()
        pump(app, lambda: win.canvas.document().prediction is not None, timeout=120)
        win.actions_.layers["show_prediction"].setChecked(True)
        pump(app, lambda: not win.thumbs.busy(), timeout=60)
        t_end = time.perf_counter() + 0.5
        pump(app, lambda: time.perf_counter() > t_end)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not win.grab().save(str(out)):
            print(f"{out}: could not be written")
            return 1
        print(f"wrote {out}")
        ui.trainer.stop_and_wait(60000)
        win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
