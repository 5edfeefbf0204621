"""The bounded queue in front of the model: one generation at a time, a few waiting, the rest refused.

The in-process model (llama.cpp) keeps one context, so model calls run one at a time. Without a
bound, the tenth concurrent user would wait ten answers long with nothing to tell them so. The
:class:`GenerationQueue` lets ``slots`` calls run, up to ``max_waiting`` more wait in arrival order
(each told its position), and refuses any call beyond that at once with :class:`QueueFullError`,
which carries a ``Retry-After`` estimate. Every queued and refused call is logged.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Seconds one model call is assumed to take before any call has been timed (SmolLM2-135M on two
#: shared cores answers in 5-15 s in generative mode; see README "Answer modes").
DEFAULT_CALL_S = 10.0
#: Weight of the newest call in the running mean of call durations (exponential moving average).
_EMA_WEIGHT = 0.3
#: Longest Retry-After ever advised, in seconds.
MAX_RETRY_AFTER_S = 600


class QueueFullError(RuntimeError):
    """Too many questions are waiting for the model; try again after ``retry_after`` seconds.

    Attributes:
        retry_after: Whole seconds after which a place is expected to be free (>= 1).
        waiting: Questions waiting when this one was refused.
    """

    def __init__(self, retry_after: int, waiting: int):
        self.retry_after = retry_after
        self.waiting = waiting
        super().__init__(
            f"The assistant is busy: {waiting} question{'s are' if waiting != 1 else ' is'} already waiting for the "
            f"model (limit: setting max_queue). Try again in {retry_after} s."
        )


class QueueCancelledError(RuntimeError):
    """The caller gave up while waiting (it left the queue without running)."""


class GenerationQueue:
    """A lock for model calls with a bounded, ordered waiting line.

    Usable as ``with queue:`` like a ``threading.Lock`` (blocking), or through :meth:`acquire` to be
    told the position while waiting and to leave the line when cancelled.

    Args:
        max_waiting: Calls allowed to wait while ``slots`` calls run; one more is refused. ``None``:
            no limit.
        slots: Calls that run at once (1: llama.cpp has one context per model).

    Example:
        >>> q = GenerationQueue(max_waiting=0)
        >>> with q:  # one call runs; with max_waiting=0 nothing may wait, so the next is refused
        ...     q.is_full()
        True
        >>> q.is_full()
        False
    """

    def __init__(self, max_waiting: int | None, slots: int = 1):
        self.max_waiting = max_waiting
        self.slots = slots
        self._cond = threading.Condition()
        self._running: dict[int, float] = {}  # ticket -> start time (perf_counter)
        self._waiting: deque[int] = deque()
        self._next_ticket = 0
        self._mean_call_s: float | None = None
        self.refused = 0
        self._local = threading.local()

    # -- state --------------------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """Calls waiting now."""
        with self._cond:
            return len(self._waiting)

    @property
    def running(self) -> int:
        """Calls running now."""
        with self._cond:
            return len(self._running)

    def is_full(self) -> bool:
        """True when a call arriving now would be refused."""
        with self._cond:
            return self._full()

    def retry_after(self) -> int:
        """Seconds until a place is expected to be free: mean call time x calls ahead / slots (>= 1).

        The mean is an exponential moving average of the timed calls (:data:`DEFAULT_CALL_S` before
        the first one), capped at :data:`MAX_RETRY_AFTER_S`.
        """
        with self._cond:
            return self._retry_after()

    def snapshot(self) -> dict:
        """``{"running", "waiting", "max_waiting", "refused", "mean_call_s"}`` for ``/v1/health``."""
        with self._cond:
            return {"running": len(self._running), "waiting": len(self._waiting), "max_waiting": self.max_waiting,
                    "refused": self.refused,
                    "mean_call_s": None if self._mean_call_s is None else round(self._mean_call_s, 2)}

    def _refusal(self) -> QueueFullError:
        self.refused += 1
        err = QueueFullError(self._retry_after(), len(self._waiting))
        log.warning("model queue full: refused a question (%d running, %d waiting, max_queue=%s, Retry-After %d s)",
                    len(self._running), len(self._waiting), self.max_waiting, err.retry_after)
        return err

    def _full(self) -> bool:
        busy = len(self._running) >= self.slots or bool(self._waiting)
        return busy and self.max_waiting is not None and len(self._waiting) >= self.max_waiting

    def _retry_after(self) -> int:
        mean = self._mean_call_s if self._mean_call_s is not None else DEFAULT_CALL_S
        ahead = len(self._running) + len(self._waiting)
        return max(1, min(MAX_RETRY_AFTER_S, math.ceil(mean * ahead / self.slots)))

    # -- acquire / release --------------------------------------------------------------------------

    def acquire(self, on_position: Callable[[int], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> None:
        """Wait for a slot.

        Args:
            on_position: Called with the 1-based place in the line each time it changes while
                waiting (called with the queue's lock held: it must be quick and must not block).
            cancelled: Polled twice a second while waiting; when it returns True the caller leaves
                the line.

        Raises:
            QueueFullError: ``max_waiting`` calls already wait (nothing was queued).
            QueueCancelledError: ``cancelled()`` became true while waiting.
        """
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            if len(self._running) < self.slots and not self._waiting:
                self._start(ticket)
                return
            if self._full():
                raise self._refusal()
            self._waiting.append(ticket)
            log.info("model busy: question queued at position %d (%d running)", len(self._waiting), len(self._running))
            shown = None
            try:
                while not (self._waiting[0] == ticket and len(self._running) < self.slots):
                    position = self._waiting.index(ticket) + 1
                    if on_position is not None and position != shown:
                        on_position(position)
                        shown = position
                    if cancelled is not None and cancelled():
                        raise QueueCancelledError("left the queue")
                    self._cond.wait(timeout=0.5 if cancelled is not None else None)
            except BaseException:
                self._waiting.remove(ticket)
                self._cond.notify_all()
                raise
            self._waiting.popleft()
            self._start(ticket)

    def release(self) -> None:
        """Give back the slot taken by this thread's :meth:`acquire` and wake the next in line.

        Must be called from the thread that acquired the slot (the slot is remembered per thread).
        """
        ticket = self._local.ticket
        with self._cond:
            started = self._running.pop(ticket)
            took = time.perf_counter() - started
            self._mean_call_s = took if self._mean_call_s is None else (
                _EMA_WEIGHT * took + (1 - _EMA_WEIGHT) * self._mean_call_s)
            self._cond.notify_all()

    def _start(self, ticket: int) -> None:
        self._running[ticket] = time.perf_counter()
        self._local.ticket = ticket

    def __enter__(self) -> GenerationQueue:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
