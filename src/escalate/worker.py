"""The worker loop: fire due timers and deliver notifications until told to stop."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .desk import Desk

__all__ = ["run_worker"]

log = logging.getLogger("escalate.worker")


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event, enabled: bool) -> Iterator[None]:
    """Set `stop` on SIGINT/SIGTERM while inside; only possible in the main thread."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping after the transaction in flight",
                 signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_worker(desk: Desk, *, max_sleep: float = 30.0, stop: threading.Event | None = None,
               handle_signals: bool = True, iterations: int | None = None) -> None:
    """Tick and dispatch in a loop, sleeping until the next due timer (at most `max_sleep`).

    Stops cleanly when `stop` is set or on SIGINT/SIGTERM, always between transactions.
    `iterations` bounds the number of rounds (for tests and scripts).
    """
    stop = stop or threading.Event()
    rounds = 0
    log.info("worker started on %s", desk.store.url)
    with _stop_on_signals(stop, handle_signals):
        while not stop.is_set():
            fired = desk.tick(stop=stop)
            if fired:
                kinds: dict[str, int] = {}
                for event in fired:
                    kinds[event.kind.value] = kinds.get(event.kind.value, 0) + 1
                log.info("fired %d timer events: %s", len(fired),
                         ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
            if stop.is_set():
                break
            attempted = desk.dispatch(stop=stop)
            if attempted:
                outcomes: dict[str, int] = {}
                for row in attempted:
                    outcomes[row.status] = outcomes.get(row.status, 0) + 1
                log.info("notifications: %d delivered, %d to retry, %d dead-lettered",
                         outcomes.get("delivered", 0), outcomes.get("pending", 0),
                         outcomes.get("dead", 0))
            rounds += 1
            if iterations is not None and rounds >= iterations:
                break
            sleep = _seconds_until_next(desk, max_sleep)
            if sleep <= 0:
                continue
            desk.store.wait_for_timer_change(sleep, stop=stop)
    log.info("worker stopped")


def _seconds_until_next(desk: Desk, max_sleep: float) -> float:
    due = desk.next_due()
    if due is None:
        return max_sleep
    return max(0.0, min(max_sleep, (due - desk.clock.now()).total_seconds()))
