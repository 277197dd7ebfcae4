"""A run's journal and control file: another process follows and steers the run."""

from __future__ import annotations

import threading

from segstudio.nn.config import TrainConfig
from segstudio.nn.runs import control
from segstudio.nn.runs.events import EpochEnd, EpochStarted, Finished, Message, RunStarted, Step
from segstudio.nn.runs.journal import JournalReader, JournalWriter, decode, encode, journal_path
from segstudio.nn.train.engine import fit

SMALL = TrainConfig(arch="segnet", width=0.25, epochs=2, batch_size=4, crop=(64, 96), lr=0.05,
                    val_split=0.25, imagenet=None, seed=0)


def test_events_round_trip_through_a_journal_line():
    evs = [
        EpochStarted(2, 5, 3, (4, 7, 9), (1,)),
        Step(1, 2, 3, 0.5, None, 1e-3, 4, 0.1, 0.2, 13.5, 7),
        Message("warning", "a\nb"),
        Finished("cancelled", 3, 1, "/x/last.pt", None, None, "stopped", 1.5, {"verdict": "v"}),
    ]
    for ev in evs:
        back = decode(encode(ev))
        assert back == ev and type(back) is type(ev)
    assert decode("not json") is None
    assert decode('{"type": "Nope"}') is None


def test_the_reader_waits_for_a_line_to_be_complete(tmp_path):
    path = tmp_path / "events.jsonl"
    reader = JournalReader(path)
    assert reader.read() == []  # no journal yet
    line = encode(Message("info", "one"))
    path.write_text(line + "\n" + line[:10])
    assert reader.read() == [Message("info", "one")]
    with open(path, "a") as fh:
        fh.write(line[10:] + "\n")
    assert reader.read() == [Message("info", "one")]
    assert reader.read() == []


def test_steps_are_thinned_but_the_last_of_an_epoch_is_kept(tmp_path):
    now = [0.0]
    writer = JournalWriter(tmp_path / "j.jsonl", step_interval=1.0, clock=lambda: now[0])
    for i in range(1, 5):
        writer.write(Step(1, i, 4, 0.1, None, 0.1, 1, 0, 0, 1, i))
        now[0] += 0.4
    writer.close()
    steps = [e.step for e in JournalReader(tmp_path / "j.jsonl").read()]
    assert steps == [1, 4]  # 2 and 3 came within a second of 1; 4 ends the epoch


def test_a_recorded_run_writes_every_event_to_its_journal(camvid_project):
    events = list(fit(camvid_project, SMALL, device="cpu"))
    run_id = events[-1].run_id
    logged = JournalReader(journal_path(camvid_project, run_id)).read()
    kept = [e for e in events if not isinstance(e, Step)]
    first = next(i for i, e in enumerate(kept) if isinstance(e, RunStarted))
    # from RunStarted (the run's id) on, every event but the thinned steps
    assert [e for e in logged if not isinstance(e, Step)] == kept[first:]
    assert isinstance(logged[-1], Finished) and logged[-1].status == "completed"
    assert len([e for e in logged if isinstance(e, EpochEnd)]) == 2


def test_stop_in_the_control_file_ends_the_run_after_the_batch(camvid_project):
    cancel = threading.Event()
    events = fit(camvid_project, SMALL.replace(epochs=4), device="cpu", cancel=cancel)
    seen = []
    for ev in events:
        seen.append(ev)
        if isinstance(ev, EpochEnd) and ev.epoch == 1:
            control.send(camvid_project, _run_id(seen), "stop")
            assert cancel.wait(30), "the control watcher never read the file"
    fin = seen[-1]
    assert fin.status == "cancelled" and fin.epochs_done == 1
    run = [r for r in camvid_project.runs.all() if r.id == fin.run_id][0]
    assert run.status == "cancelled"


def _run_id(events) -> int:
    return next(e.run_id for e in events if isinstance(e, RunStarted))


def test_the_watcher_pauses_resumes_and_ignores_a_stale_word(tmp_path):
    path = tmp_path / "control"
    path.write_text("stop\n")  # left from before: not an order
    cancel, pause = threading.Event(), threading.Event()
    watcher = control.ControlWatcher(path, cancel, pause, interval=3600)
    try:
        watcher.poll()
        assert not cancel.is_set()
        path.write_text("pause\n")
        watcher.poll()
        assert pause.is_set() and not cancel.is_set()
        path.write_text("resume\n")
        watcher.poll()
        assert not pause.is_set()
        path.write_text("nonsense\n")
        watcher.poll()
        assert not pause.is_set() and not cancel.is_set()
        path.write_text("stop\n")
        watcher.poll()
        assert cancel.is_set()
    finally:
        watcher.close()


def test_unknown_control_words_are_refused(camvid_project):
    import pytest

    from segstudio.core.errors import SegStudioError

    with pytest.raises(SegStudioError, match="unknown control 'halt'"):
        control.send(camvid_project, 1, "halt")


def test_a_pause_from_the_file_holds_the_run_until_resumed(camvid_project):
    cancel, pause = threading.Event(), threading.Event()
    events = fit(camvid_project, SMALL, device="cpu", cancel=cancel, pause=pause)
    seen = []
    resumed = threading.Event()

    def resume_later(run_id):
        assert pause.wait(30)
        control.send(camvid_project, run_id, "resume")
        resumed.set()

    for ev in events:
        seen.append(ev)
        if isinstance(ev, EpochStarted) and ev.epoch == 1:
            run_id = _run_id(seen)
            control.send(camvid_project, run_id, "pause")
            assert pause.wait(30)
            threading.Thread(target=resume_later, args=(run_id,), daemon=True).start()
    texts = [e.text for e in seen if isinstance(e, Message)]
    assert "paused" in texts and "resumed" in texts and resumed.is_set()
    assert seen[-1].status == "completed"
