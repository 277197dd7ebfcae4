"""Provenance actions: mark reviewed, reset to prediction.

Both write through the saver's queue (:meth:`AutoSaver.submit`), so they land
after every save asked before them, and a reset makes older queued saves of
the image void (its sequence number is newer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .autosave import drop_mask

if TYPE_CHECKING:
    from .editor_controller import EditorController


def mark_reviewed(editor: EditorController) -> bool:
    """Save the image on screen with status reviewed (an image with only a prediction:
    the prediction becomes its mask).  False when there is nothing to mark, or when the
    active tool holds an unfinished edit (an open polygon, a preview not filled): that is
    refused with a note, not finished for the user (the edit might be one they would not
    make), and it stays as it is."""
    open_edit = editor.tool.unfinished() if editor.tool is not None else ""
    if open_edit:
        editor.message(f"not marked reviewed: {open_edit}")
        return False
    doc = editor.document()
    project = editor.controller.project
    if doc is None or not doc.ok or project is None:
        return False
    session = editor.sessions.get(doc.rec.id)
    if session is not None:
        session.status = "reviewed"
        editor.saver.save(session, status="reviewed")
        editor.message(f"{doc.rec.relpath} is marked reviewed")
        return True
    if doc.mask is None and doc.prediction is None:
        editor.message(f"{doc.rec.relpath} has no mask or prediction to mark reviewed; "
                       "label it first")
        return False
    rec = doc.rec

    def done(new_rec):
        if new_rec is None:
            return
        editor.controller.update_record(new_rec)
        if editor.document() is doc and doc.mask is None and doc.prediction is not None:
            editor.controller.set_mask(rec.id, doc.prediction.copy())  # what was saved
        editor.message(f"{rec.relpath} is marked reviewed")

    editor.saver.submit(rec.id, lambda: project.set_status(rec, "reviewed"), on_result=done,
                        on_error=lambda msg: editor.message(f"not marked reviewed: {msg}"))
    return True


def reset_to_prediction(editor: EditorController) -> bool:
    """After the user confirms: the human mask goes to the trash folder, the undo
    history of the image is cleared and the prediction (or nothing) is shown."""
    doc = editor.document()
    project = editor.controller.project
    if doc is None or not doc.ok or project is None:
        return False
    rec = doc.rec
    session = editor.sessions.get(rec.id)
    if not rec.has_human_mask and (session is None or not session.on_disk) \
            and doc.mask is None:
        editor.message(f"{rec.relpath} has no human mask to reset")
        return False
    has_pred = doc.prediction is not None
    text = (f"Replace your mask of {rec.relpath} by the "
            f"{'prediction' if has_pred else 'empty (unlabelled) mask'}?\n\n"
            f"The current mask is moved to the project's trash folder "
            f"({project.project_dir / 'trash'}), and this image's undo history is cleared.")
    if not editor.confirm("Reset to prediction", text):
        return False
    if editor.tool is not None:
        editor.tool.abort()
    editor.sessions.drop(rec.id)
    editor.controller.set_mask(rec.id, None)
    editor.state_changed.emit()

    def done(new_rec):
        if new_rec is None:
            return
        editor.controller.update_record(new_rec)
        editor.message(f"{rec.relpath} was reset; the previous mask is in "
                       f"{project.project_dir / 'trash'}")

    editor.saver.submit(rec.id, lambda: drop_mask(project, rec), on_result=done,
                        on_error=lambda msg: editor.message(f"{rec.relpath} was not reset: {msg}"))
    return True
