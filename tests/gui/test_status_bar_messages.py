"""The status bar's messages (issue 25): the line at the end of a training run names
the model that is active, read from the project, not the run's best when the round was
not made active (item 5); a cancelled run says "cancelled" once (item 16)."""

from __future__ import annotations

from segstudio.nn.runs.events import Finished

from .conftest import open_and_wait


def _finished(status: str, message: str, run: int, activated: bool | None) -> Finished:
    details = {} if activated is None else {"activated": activated,
                                            "verdict": "" if activated else "not better"}
    return Finished(status=status, run_id=run, epochs_done=3,
                    last_checkpoint=f"/p/checkpoints/run-{run}/last.pt",
                    best_checkpoint=f"/p/checkpoints/run-{run}/best.pt", best_miou=0.3,
                    message=message, seconds=9.0, details=details)


def test_the_end_of_a_round_names_the_model_that_is_active(qtbot, window, street_project):
    open_and_wait(qtbot, window, street_project[0])
    project, bar = window.controller.project, window.statusBar()
    trainer = window.training.trainer
    project.settings.set("active_checkpoint", "/p/checkpoints/run-1/best.pt")
    # round 5 was not better: the engine left run 1 active, and so does the status bar
    trainer.event.emit(_finished("completed", "3 epochs", 5, activated=False))
    text = bar.currentMessage()
    assert "run-5" not in text
    assert text == ("Training completed: 3 epochs; this run's best was not made active, "
                    "the active model stays /p/checkpoints/run-1/best.pt")
    # round 6 was made active (the engine wrote the setting before its event)
    project.settings.set("active_checkpoint", "/p/checkpoints/run-6/best.pt")
    trainer.event.emit(_finished("completed", "3 epochs", 6, activated=True))
    assert bar.currentMessage() == ("Training completed: 3 epochs; the active model is "
                                    "/p/checkpoints/run-6/best.pt")


def test_a_cancelled_run_says_so_once(qtbot, window, street_project):
    open_and_wait(qtbot, window, street_project[0])
    ui = window.training
    ui.ensure_views()
    ui.trainer.event.emit(Finished("cancelled", 2, 1, None, None, None, "cancelled"))
    assert window.statusBar().currentMessage() == "Training cancelled"
    assert ui.panel.status.text() == "Cancelled"
    assert ui.panel.log.toPlainText().rstrip().endswith("  cancelled")
    assert "cancelled: cancelled" not in ui.panel.log.toPlainText()
    ui.trainer.event.emit(Finished("cancelled", 3, 1, None, None, None,
                                   "cancelled during epoch 2"))
    assert window.statusBar().currentMessage() == "Training cancelled: cancelled during epoch 2"
