#!/usr/bin/env python3
"""Write the segstudio sample project (drawn street scenes with exact masks) into a folder.

The window makes the same sample by itself at first use (into the per-user
data folder); this script is for looking at it, or for putting a copy
somewhere else:

    python resources/make_sample.py /tmp/segstudio-sample
    segstudio /tmp/segstudio-sample/street-scenes
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dest", help="folder to create (must not exist)")
    p.add_argument("-n", type=int, default=8, help="number of scenes (default 8)")
    args = p.parse_args(argv)
    from segstudio.core.sample import make_sample

    dest = Path(args.dest)
    if dest.exists():
        print(f"{dest} already exists; choose a new folder", file=sys.stderr)
        return 1
    images = make_sample(dest, args.n)
    print(f"sample project written; open it with: segstudio {images}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
