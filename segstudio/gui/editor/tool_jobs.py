"""The one way a tool's heavy work runs: on a worker, stamped, stale results dropped.

A :class:`ToolJob` is one kind of request of a tool (GrabCut's region, the
scissors' edge map, the click model's object ...).  :meth:`ToolJob.start`
stamps the request with a new generation and the image it is about, shows a
busy text, and runs ``compute()`` on the host's worker lane; the result
comes back on the GUI thread and ``apply(result)`` runs only when it is
*fresh* (:meth:`ToolJob.is_fresh`, the stale rule, written once):

* it is the latest request of this job (a newer one, or :meth:`ToolJob.cancel`,
  makes it stale: dropped silently, the user already moved on), and
* the document it was made on is still the one on screen, and no other image
  was asked for since (else it is dropped with a note saying so).

Either way the busy text goes, and ``settled()`` (the tool's hint) runs.  An
error of the latest request goes to ``on_error`` (else a note).  Tools never
check images or generations themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..workers import TaskHandle
    from .tool_host import ToolHost


@dataclass(frozen=True, eq=False)
class Stamp:
    """What a request was made for: its generation and the document on screen then."""

    generation: int
    image_id: int
    document: object


class ToolJob:
    """One kind of worker request of a tool (see the module doc)."""

    def __init__(self, host: ToolHost, key: str, what: str,
                 settled: Callable[[], None] | None = None):
        self.host = host
        self.key = key            # the lane key: a new request cancels the previous one
        self.what = what          # in notes: "the GrabCut result was dropped ..."
        self.settled = settled
        self.generation = 0       # requests started so far
        self.handle: TaskHandle | None = None
        self._live: Stamp | None = None

    @property
    def running(self) -> bool:
        """A request is under way (its result not delivered yet)."""
        return self._live is not None

    def start(self, compute: Callable[[], Any], apply: Callable[[Any], None], *,
              busy: str = "", on_error: Callable[[str], None] | None = None) -> bool:
        """Run ``compute()`` (Qt-free; it runs on a worker thread) for the image on
        screen; ``apply(result)`` runs on the GUI thread if the result is fresh.  False
        when no image is shown."""
        doc = self.host.document()
        if doc is None or not doc.ok:
            return False
        self.generation += 1
        stamp = Stamp(self.generation, doc.rec.id, doc)
        self._live = stamp
        self.host.busy_message(busy or f"{self.what} …")
        self.handle = self.host.runner.submit(
            lambda ctx: compute(), key=self.key,
            on_result=lambda value: self._deliver(stamp, value, apply),
            on_error=lambda message: self._failed(stamp, message, on_error),
            on_finished=lambda _cancelled: self._finished(stamp))
        return True

    def cancel(self) -> None:
        """Drop the request under way (its result, should it come, is stale)."""
        if self._live is not None:
            self.host.runner.cancel(self.key)
            self._end()

    def is_fresh(self, stamp: Stamp) -> bool:
        """The stale rule: ``stamp`` is the request under way, its document is on screen
        and no other image was asked for since."""
        if self._live is not stamp:
            return False
        shown = self.host.document()
        if shown is not stamp.document or shown.rec.id != stamp.image_id:
            return False
        asked = self.host.current_image_id()
        return asked is None or asked == stamp.image_id

    # -- delivery (GUI thread) --------------------------------------------------------------
    def _deliver(self, stamp: Stamp, value: Any, apply: Callable[[Any], None]) -> None:
        if self._live is not stamp:
            return  # superseded or cancelled
        fresh = self.is_fresh(stamp)
        self._end()
        if fresh:
            apply(value)
        else:
            self.host.message(f"the {self.what} result was dropped: another image is shown")
        self._settle()

    def _failed(self, stamp: Stamp, message: str,
                on_error: Callable[[str], None] | None) -> None:
        if self._live is not stamp:
            return
        self._end()
        if on_error is not None:
            on_error(message)
        else:
            self.host.message(f"{self.what} failed: {message}")
        self._settle()

    def _finished(self, stamp: Stamp) -> None:
        if self._live is stamp:  # the lane dropped it (its project closed)
            self._end()
            self._settle()

    def _end(self) -> None:
        self._live = None
        self.handle = None
        self.host.busy_message("")

    def _settle(self) -> None:
        if self.settled is not None:
            self.settled()
