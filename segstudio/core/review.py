"""Where a person is in the review queue, free of Qt (the window's Review dock shows it).

:class:`ReviewState` holds the queue's regions (best first), the one on screen, and
what was answered and skipped in this session; an answer or a skip moves on to the
next region nobody answered or skipped.  :meth:`ReviewState.replace` takes a
refreshed queue (after a training round) and goes on from its start, leaving out the
regions already answered.  ``answers_since_round`` counts the answers since the last
training round, so the window can start one every :data:`ROUND_REGIONS` answers.
"""

from __future__ import annotations

from collections.abc import Sequence

from .regions import Region

# answers between training rounds: the benchmark's region rounds (bench_loop.py) label
# thousands of superpixels per round; a person answers far fewer, so a round every 100
# answers keeps the proposals fresh at a few minutes of answering per round
ROUND_REGIONS = 100
ROUND_SETTING = "review_round_regions"

Key = tuple[str, int]


class ReviewState:
    def __init__(self, regions: Sequence[Region] = ()):
        self.regions: list[Region] = list(regions)
        self.position = 0
        self.answered: set[Key] = set()
        self.skipped: set[Key] = set()
        self.answers_since_round = 0
        self._skip_done()

    @staticmethod
    def key(region: Region) -> Key:
        return region.relpath, region.segment

    def current(self) -> Region | None:
        return self.regions[self.position] if self.position < len(self.regions) else None

    def _skip_done(self) -> None:
        while self.position < len(self.regions) and self._done(self.regions[self.position]):
            self.position += 1

    def _done(self, region: Region) -> bool:
        k = self.key(region)
        return k in self.answered or k in self.skipped

    def answer(self) -> Region | None:
        """The region on screen is answered; returns it (None at the end)."""
        region = self.current()
        if region is not None:
            self.answered.add(self.key(region))
            self.answers_since_round += 1
            self._skip_done()
        return region

    def skip(self) -> Region | None:
        region = self.current()
        if region is not None:
            self.skipped.add(self.key(region))
            self._skip_done()
        return region

    def back(self) -> Region | None:
        """Back to the previous region (answered or skipped ones too: to look again)."""
        if self.position > 0:
            self.position -= 1
            k = self.key(self.regions[self.position])
            self.skipped.discard(k)
        return self.current()

    def replace(self, regions: Sequence[Region]) -> None:
        """A refreshed queue: from its start, without the regions answered already."""
        self.regions = [r for r in regions if self.key(r) not in self.answered]
        self.position = 0
        self.skipped.clear()
        self._skip_done()

    def round_done(self) -> None:
        self.answers_since_round = 0

    def where(self, image_order: dict[str, int], images: int) -> str:
        """"region 12 of 40, image 7 of 120" (the image's place among the project's)."""
        region = self.current()
        if region is None:
            return f"no region left of {len(self.regions)}" if self.regions else \
                "no regions proposed"
        n = image_order.get(region.relpath)
        place = f", image {n + 1} of {images}" if n is not None else ""
        return f"region {self.position + 1} of {len(self.regions)}{place}"
