"""Child process for the crash test: saves masks in a loop until it is killed.

Prints "begin I V" before writing version V of image I and "end I V" after.
"""

import sys

import numpy as np

from segstudio.core.classes import ClassInfo, ClassTable
from segstudio.core.project import Project


def make_mask(i: int, v: int, shape=(384, 512)) -> np.ndarray:
    rng = np.random.default_rng(i * 1_000_003 + v)
    small = rng.integers(0, 250, (12, 16), dtype=np.uint8)
    mask = np.kron(small, np.ones((shape[0] // 12, shape[1] // 16), np.uint8))
    mask[0, :4] = np.frombuffer(int(v).to_bytes(4, "little"), np.uint8)
    return mask


def decode_version(mask: np.ndarray) -> int:
    return int.from_bytes(mask[0, :4].tobytes(), "little")


def table() -> ClassTable:
    return ClassTable(tuple(ClassInfo(i, f"c{i}", (i, i, i), ignore=(i == 255))
                            for i in range(256)))


def main() -> None:
    folder, start = sys.argv[1], int(sys.argv[2])
    project = Project.open(folder, scan=False)
    recs = project.images()
    v = start
    while True:
        for i, rec in enumerate(recs):
            print(f"begin {i} {v}", flush=True)
            project.save_mask(rec, make_mask(i, v))
            print(f"end {i} {v}", flush=True)
        v += 1


if __name__ == "__main__":
    main()
