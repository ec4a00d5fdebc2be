"""A worker process: ticks a Desk on a PostgreSQL schema until nothing is due, then exits.

Usage: pg_tick_worker.py URL SCHEMA POLICY NOW EVENTS_FILE

POLICY names a policy of pg_cases; NOW is the ISO time of the worker's ManualClock. Prints
"ready" once connected, waits for one line on stdin (the start signal), then ticks. Each
event it records is written to EVENTS_FILE as "CASE SEQ KIND" after its transaction
committed (flushed at once, so the lines survive a SIGKILL). Prints "done N" at the end.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TextIO

from escalate_postgres import PostgresStore
from pg_cases import policy

from escalate import Case, Desk, Event, ManualClock


class Recorder:
    """Writes each committed event to the events file."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.count = 0

    def escalate_event_committed(self, desk: Desk, case: Case, event: Event) -> None:
        self.out.write(f"{event.case_id} {event.seq} {event.kind.value}\n")
        self.out.flush()
        self.count += 1


def main() -> None:
    url, schema, name, now, events_file = sys.argv[1:6]
    with open(events_file, "a", encoding="utf-8") as out:
        recorder = Recorder(out)
        store = PostgresStore(url, schema=schema, pool_min=1, pool_max=2)
        desk = Desk(policy(name), store=store, clock=ManualClock(datetime.fromisoformat(now)),
                    plugins=[recorder], autoload_plugins=False)
        print("ready", flush=True)
        sys.stdin.readline()
        while desk.tick(batch=20):
            pass  # another round: timers of cases other workers held may be free now
        desk.shutdown()
    print(f"done {recorder.count}", flush=True)


if __name__ == "__main__":
    main()
