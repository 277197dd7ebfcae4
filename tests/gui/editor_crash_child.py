"""Child process of test_editor_crash: the real window, offscreen, painting forever.

    python editor_crash_child.py FOLDER SETTINGS SEED

Paints random rectangles and brush strokes through the canvas viewport,
switches images now and then, and autosaves every 30 ms.  Every mask save
prints ``begin RELPATH SHA1`` (of the exact array about to be written)
before the write and ``done RELPATH SHA1`` after it; ``ready`` once editing
starts.  The parent kills it with SIGKILL at a random moment.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def sha(mask) -> str:
    return hashlib.sha1(mask.tobytes()).hexdigest()


def say(*parts) -> None:
    sys.stdout.write(" ".join(parts) + "\n")
    sys.stdout.flush()


def main() -> None:
    folder, settings_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtTest import QTest

    from segstudio.gui.app import make_app

    app = make_app()
    from segstudio.gui.main_window import MainWindow
    from segstudio.gui.settings import AppSettings

    win = MainWindow(AppSettings(settings_path))
    win.resize(1000, 700)
    win.show()

    def pump(until, timeout=20.0):
        t0 = time.monotonic()
        while not until():
            app.processEvents()
            time.sleep(0.002)
            if time.monotonic() - t0 > timeout:
                raise SystemExit("timed out")

    win.open_folder(folder)
    pump(lambda: win.canvas.document() is not None and win.canvas.document().ok)
    project = win.controller.project
    real = project.save_mask

    def save_mask(rec, mask, status="corrected"):
        digest = sha(mask)
        say("begin", rec.relpath, digest)
        out = real(rec, mask, status)
        say("done", rec.relpath, digest)
        return out

    project.save_mask = save_mask
    editor = win.editor
    editor.saver.set_interval(30)
    canvas = win.canvas
    vp = canvas.viewport()
    rnd = random.Random(seed)
    classes = [c.id for c in project.classes.classes]
    say("ready")

    def at(x: float, y: float) -> QPoint:
        p = canvas.viewportTransform().map(QPointF(x, y))
        return QPoint(round(p.x()), round(p.y()))

    while True:
        doc = canvas.document()
        if doc is None or not doc.ok:
            app.processEvents()
            continue
        editor.set_tool(rnd.choice(["rectangle", "brush"]))
        editor.set_radius(rnd.randint(1, 8))
        win.class_panel.set_active_class(rnd.choice(classes))
        w, h = doc.width, doc.height
        pts = [at(rnd.uniform(0, w), rnd.uniform(0, h)) for _ in range(rnd.randint(2, 5))]
        QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
        for p in pts[1:]:
            QTest.mouseMove(vp, p)
        QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])
        if rnd.random() < 0.15:
            QTest.keyClick(canvas, rnd.choice([Qt.Key.Key_D, Qt.Key.Key_A]))
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.01:
            app.processEvents()


if __name__ == "__main__":
    main()
