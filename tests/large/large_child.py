"""Child process for the SIGKILL test: saves strokes into a chunked mask until killed.

Version V of the mask paints every pixel of chunks (0, 0) .. (0, 3) of level 0 with
V % 200; prints "begin V" before a save and "end V" after it."""

import sys
from pathlib import Path

import numpy as np

from segstudio.core.chunked_mask import ChunkedMask


def main() -> None:
    path = Path(sys.argv[1])
    mask = ChunkedMask(path, (2048, 2048), 255)
    v = int(sys.argv[2])
    while True:
        mask.write(0, 0, np.full((512, 2048), v % 200, np.uint8))
        print(f"begin {v}", flush=True)
        mask.save(mask.snapshot())
        print(f"end {v}", flush=True)
        v += 1


if __name__ == "__main__":
    main()
