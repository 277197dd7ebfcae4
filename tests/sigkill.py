"""Run a child Python script, wait until it is working, and kill it with SIGKILL.

Shared by the crash tests (tests/core/test_crash.py, tests/gui/test_editor_crash.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_and_kill(script: Path, args: list[str], delay: float, ready_prefix: str | None = None,
                 start_timeout: float = 30.0, **env) -> list[list[str]]:
    """Start ``script args``; once it printed a line (starting with ``ready_prefix``
    when given), sleep ``delay`` s and SIGKILL it.  Returns its stdout, split per line."""
    path = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
    full_env = dict(os.environ, PYTHONPATH=path,
                    **env)
    proc = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=full_env)
    lines: list[list[str]] = []
    ready = threading.Event()

    def reader():
        for line in proc.stdout:
            lines.append(line.split())
            if ready_prefix is None or line.startswith(ready_prefix):
                ready.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    if not ready.wait(start_timeout):
        proc.kill()
        raise AssertionError(f"{script.name} never started: " + proc.stderr.read())
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    t.join(5)
    proc.stderr.close()
    return lines
