"""Storage faults: a read-only file system, a full disk, a database locked past its timeout.

Each must raise a clear StorageError, leave nothing half-written, and leave the desk usable
once the fault clears. The file-system faults use a real tmpfs or a read-only bind mount made
for the test (needs root, as on the CI machines); they skip with a reason where not allowed.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from escalate import Desk, ManualClock, Policy, StorageError


def _mount(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    point = tmp_path / "fs"
    point.mkdir()
    result = _mount(["-t", "tmpfs", "-o", "size=2m", "tmpfs", str(point)])
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()}); needs root")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def snapshot(desk: Desk) -> tuple[object, ...]:
    cases = list(desk.cases())
    return (cases, [desk.history(c.id) for c in cases], desk.outbox(),
            [desk.store.timers(c.id) for c in cases])


def test_read_only_file_system(tmp_path: Path, policy: Policy) -> None:
    source, view = tmp_path / "db", tmp_path / "view"
    source.mkdir()
    view.mkdir()
    desk = Desk(policy, store=f"sqlite:///{source / 'cases.db'}", clock=ManualClock(),
                autoload_plugins=False)
    case = desk.open(title="t", customer="c", channel="phone")
    desk.shutdown()
    bound = _mount(["--bind", str(source), str(view)])
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount here ({bound.stderr.strip()}); needs root")
    try:
        assert _mount(["-o", "remount,ro,bind", str(view)]).returncode == 0
        with pytest.raises(StorageError, match="writable"):
            Desk(policy, store=f"sqlite:///{view / 'cases.db'}", autoload_plugins=False)
        assert _mount(["-o", "remount,rw,bind", str(view)]).returncode == 0
        again = Desk(policy, store=f"sqlite:///{view / 'cases.db'}", clock=ManualClock(),
                     autoload_plugins=False)
        assert again.get(case.id) == case
        assert again.claim(case.id, by="ana").status == "active"
        assert again.verify() == []
        again.shutdown()
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


def test_full_disk(tmpfs: Path, policy: Policy) -> None:
    desk = Desk(policy, store=f"sqlite:///{tmpfs / 'cases.db'}", clock=ManualClock(),
                autoload_plugins=False)
    case = desk.open(title="t", customer="c", channel="phone")
    filler = tmpfs / "filler"
    with pytest.raises(OSError), filler.open("wb") as out:  # fill the disk to the last byte
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    before = snapshot(desk)
    with pytest.raises(StorageError, match=r"disk|full"):
        for n in range(200):  # a large note needs new pages; the disk has none
            desk.note(case.id, f"{n} " + "x" * 50_000, by="ana")
    assert len(desk.history(case.id)) >= len(before[1][0])
    assert desk.verify() == []
    filler.unlink()
    desk.note(case.id, "after the disk was freed", by="ana")
    assert desk.history(case.id)[-1].reason == "after the disk was freed"
    assert desk.verify() == []


def test_locked_past_the_busy_timeout(tmp_path: Path, policy: Policy) -> None:
    path = tmp_path / "cases.db"
    desk = Desk(policy, store=f"sqlite:///{path}", clock=ManualClock(), autoload_plugins=False)
    desk.store.close()
    from escalate.stores import SqliteStore

    desk.store = SqliteStore(path, busy_timeout=0.2)
    case = desk.open(title="t", customer="c", channel="phone")
    before = snapshot(desk)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StorageError, match="another process holds the database"):
            desk.claim(case.id, by="ana")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert snapshot(desk) == before
    assert desk.claim(case.id, by="ana").owner.name == "ana"


def test_an_unreadable_path_is_a_storage_error(tmp_path: Path, policy: Policy) -> None:
    with pytest.raises(StorageError, match="cannot open SQLite database"):
        Desk(policy, store=f"sqlite:///{tmp_path / 'missing' / 'dir' / 'cases.db'}")
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("hello, this is not a database" * 100)
    with pytest.raises(StorageError):
        Desk(policy, store=f"sqlite:///{not_a_db}")
