"""A folder made read-only for a test: a read-only bind mount as root (root ignores the
mode bits), the mode bits otherwise; undone afterwards."""

from __future__ import annotations

import os
import subprocess

import pytest


@pytest.fixture()
def read_only(tmp_path):
    """read_only(folder): writes into it fail from now on (a read-only bind mount as
    root, the mode bits otherwise); undone afterwards."""
    mounted = []

    def make(folder):
        if os.geteuid() != 0:
            folder.chmod(0o555)
            mounted.append(("chmod", folder))
            return
        for cmd in (["mount", "--bind", str(folder), str(folder)],
                    ["mount", "-o", "remount,ro,bind", str(folder)]):
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"cannot make {folder} read-only here: {done.stderr.strip()}")
            if cmd[1] == "--bind":
                mounted.append(("mount", folder))

    yield make
    for how, folder in reversed(mounted):
        if how == "mount":
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        else:
            folder.chmod(0o755)
