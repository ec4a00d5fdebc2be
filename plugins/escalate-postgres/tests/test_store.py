"""What only the PostgreSQL store has to prove: its database-side rules, text and time
conversions, URL options, errors, claims released by a dead connection, and LISTEN/NOTIFY."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import attrs
import psycopg
import pytest
from escalate_postgres import PostgresStore, escalate_open_store, parse_url, timer_channel
from escalate_postgres.store import PAGE_SIZE
from pgschemas import URL, Schemas

from escalate import (
    Action,
    Agent,
    Case,
    CaseQuery,
    Change,
    ConfigError,
    ConflictError,
    StorageError,
    Timer,
)
from escalate.fold import apply
from escalate.plugins import make_plugin_manager
from escalate.testing.store_contract import T0, following, new_case_change, notification

H = timedelta(hours=1)


def raw() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(URL, autocommit=True)


def create(store: PostgresStore, case_id: str, at: datetime = T0, *,
           timers: tuple[Timer, ...] = (), **data: str) -> Case:
    change = attrs.evolve(new_case_change(case_id, at), timers=timers)
    if data:
        event = attrs.evolve(change.events[0], data={**change.events[0].data, **data})
        change = attrs.evolve(change, case=apply(None, event), events=(event,))
    store.commit(change)
    return change.case


def note(store: PostgresStore, case: Case, *, timers: tuple[Timer, ...] | None = None) -> Case:
    event = following(case, Action.NOTE, case.updated_at)
    after = apply(case, event)
    store.commit(Change(case=after, events=(event,), expected_version=case.version,
                        timers=timers))
    return after


# -- rules kept by the database ------------------------------------------------------------


@pytest.mark.parametrize("statement", [
    "UPDATE {s}.events SET actor = 'mallory'",
    "DELETE FROM {s}.events",
    "TRUNCATE {s}.events",
])
def test_events_are_append_only_in_the_database(store: PostgresStore, statement: str) -> None:
    create(store, "K-1")
    with raw() as conn, pytest.raises(psycopg.Error, match="append-only"):
        conn.execute(statement.format(s=f'"{store.schema}"'))
    assert len(store.events("K-1")) == 1


def test_the_indexes_that_serve_the_queries_exist(store: PostgresStore) -> None:
    with raw() as conn:
        found = {(table, definition.split(" USING btree ")[1]) for table, definition in
                 conn.execute("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = %s",
                              (store.schema,)).fetchall()}
    for expected in [("timers", "(due_at, case_id, clock)"),
                     ("outbox", "(status, next_attempt_at, key)"),
                     ("cases", "(status, opened_at, num)"), ("cases", "(owner)"),
                     ("cases", "(tier)"), ("events", "(case_id, seq)"),
                     ("events", "(at, case_id, seq)")]:
        assert expected in found


def test_a_refused_commit_sends_no_wake_up(store: PostgresStore) -> None:
    case = create(store, "K-1")
    assert store.wait_for_timer_change(0) is True  # starts listening
    event = following(case, Action.NOTE, T0)
    with pytest.raises(ConflictError):
        store.commit(Change(case=apply(case, event), events=(event,), expected_version=5,
                            timers=(Timer("K-1", "tier", T0, Action.ESCALATE),)))
    assert store.wait_for_timer_change(0.2) is False


# -- text and time conversions -------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "nul\x00inside", "\x1bjson:\"looks encoded\"", "lone \ud800 surrogate", "ünïcødé ✓",
    "'); DROP TABLE cases; --",
])
def test_any_python_text_round_trips(store: PostgresStore, text: str) -> None:
    case = create(store, "K-1", title=text, customer=text, channel=text)
    assert store.get("K-1") == case
    assert [c.id for c in store.find(CaseQuery(customer=text, channel=text))] == ["K-1"]
    assert store.find(CaseQuery(customer=text + "x")) == []
    row = attrs.evolve(notification("K-1", 1, text), subject=text, body=text,
                       last_error=text)
    event = following(case, Action.NOTE, T0)
    store.commit(Change(case=apply(case, event), events=(event,), expected_version=1,
                        notifications=(row,)))
    assert store.notifications(case_id="K-1") == [row]


def test_times_read_back_in_utc_whatever_the_session_zone(schemas: Schemas) -> None:
    url = f"{URL}?options=-c%20TimeZone%3DPacific/Chatham"
    with PostgresStore(url, schema=schemas.new()) as store:
        case = create(store, "K-1", timers=(Timer("K-1", "tier", T0 + H, Action.ESCALATE),))
        with store._pool.connection() as conn:  # the option reached libpq
            assert conn.execute("SHOW TimeZone").fetchone() == ("Pacific/Chatham",)
        timer = store.timers("K-1")[0]
        assert timer.due_at == T0 + H and timer.due_at.utcoffset() == timedelta(0)
        assert store.next_due_at() == T0 + H and store.next_due_at().tzinfo is UTC
        assert store.get("K-1") == case
        assert [e.seq for e in store.all_events(since=T0, until=T0 + H)] == [1]


def test_all_events_pages_keep_order_across_page_boundaries(
        store: PostgresStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("escalate_postgres.store.PAGE_SIZE", 3)
    for n in range(5):
        note(store, create(store, f"K-{4 - n}", T0))
    keys = [(e.case_id, e.seq) for e in store.all_events()]
    assert keys == [(f"K-{n}", seq) for n in range(5) for seq in (1, 2)]
    assert PAGE_SIZE == 2000


def test_find_breaks_opening_time_ties_by_insertion_order(store: PostgresStore) -> None:
    for name in ("K-b", "K-c", "K-a"):
        create(store, name, T0)
    moved = store.get("K-c")
    assert moved is not None
    note(store, moved)  # an update keeps the insertion position
    assert [c.id for c in store.find(CaseQuery())] == ["K-b", "K-c", "K-a"]
    assert list(store.case_ids()) == ["K-b", "K-c", "K-a"]


# -- timers and leases held by other transactions -----------------------------------------


def _escalate(case: Case, timer: Timer) -> Change:
    event = following(case, Action.ESCALATE, timer.due_at, tier="specialists")
    return Change(case=apply(case, event), events=(event,), expected_version=case.version,
                  timers=())


def test_a_handler_error_rolls_back_and_keeps_the_timer(store: PostgresStore) -> None:
    timer = Timer("K-1", "tier", T0, Action.ESCALATE)
    case = create(store, "K-1", timers=(timer,))

    def broken(case: Case, due: Timer) -> Change:
        raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError, match="handler failed"):
        store.fire_due(T0, 10, broken)
    assert store.timers("K-1") == [timer] and store.get("K-1") == case
    assert len(store.fire_due(T0, 10, _escalate)) == 1


def test_a_timer_locked_by_a_dead_worker_is_released(store: PostgresStore) -> None:
    create(store, "K-1", timers=(Timer("K-1", "tier", T0, Action.ESCALATE),))
    worker = raw()  # a worker that took the timer's case, as fire_due does, then hung
    worker.execute("BEGIN")
    worker.execute(f'SELECT * FROM "{store.schema}".cases FOR UPDATE')
    assert store.fire_due(T0, 10, _escalate) == [], "a claimed timer is skipped, not awaited"
    with raw() as admin:  # the worker's process dies: the server ends its session
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (worker.info.backend_pid,))
    worker.close()
    assert [e.kind.value for e in store.fire_due(T0, 10, _escalate)] == ["escalated"]


def test_a_case_locked_by_a_writer_is_skipped_not_waited_for(store: PostgresStore) -> None:
    create(store, "K-1", timers=(Timer("K-1", "tier", T0, Action.ESCALATE),))
    create(store, "K-2", timers=(Timer("K-2", "tier", T0 + H, Action.ESCALATE),))
    with raw() as writer:
        writer.execute("BEGIN")
        writer.execute(f"SELECT * FROM \"{store.schema}\".cases WHERE id = 'K-1' FOR UPDATE")
        fired = store.fire_due(T0 + H, 10, _escalate)
        assert [e.case_id for e in fired] == ["K-2"]
        writer.execute("ROLLBACK")
    assert [e.case_id for e in store.fire_due(T0 + H, 10, _escalate)] == ["K-1"]


def test_rows_leased_by_an_open_transaction_are_skipped(store: PostgresStore) -> None:
    rows = (notification("K-1", 1, "ana"), notification("K-1", 1, "bo"))
    store.commit(attrs.evolve(new_case_change("K-1"), notifications=rows))
    with raw() as other:
        other.execute("BEGIN")
        other.execute(f"SELECT * FROM \"{store.schema}\".outbox WHERE recipient = 'ana'"
                      " FOR UPDATE")
        claimed = store.claim_notifications(T0, 10, timedelta(minutes=5))
        assert [n.recipient for n in claimed] == ["bo"]
        other.execute("ROLLBACK")
    assert [n.recipient for n in store.claim_notifications(T0, 10, H)] == ["ana"]


# -- wake-ups ------------------------------------------------------------------------------


def test_commits_that_write_timers_wake_a_listener(schemas: Schemas) -> None:
    schema = schemas.new()
    with PostgresStore(URL, schema=schema) as worker, PostgresStore(URL, schema=schema) as desk:
        assert worker.wait_for_timer_change(5) is True, "the first call starts listening"
        assert worker.wait_for_timer_change(0.1) is False
        case = create(desk, "K-1", timers=(Timer("K-1", "tier", T0, Action.ESCALATE),))
        assert worker.wait_for_timer_change(5) is True
        assert worker.wait_for_timer_change(0.1) is False
        case = note(desk, case, timers=None)  # timers left alone: nothing to announce
        assert worker.wait_for_timer_change(0.1) is False

        def later() -> None:
            note(desk, case, timers=())

        threading.Timer(0.2, later).start()
        assert worker.wait_for_timer_change(10) is True, "woken while waiting"


def test_a_wait_ends_when_its_stop_event_is_set(store: PostgresStore) -> None:
    assert store.wait_for_timer_change(0) is True
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    assert store.wait_for_timer_change(30, stop=stop) is False
    assert time.monotonic() - started < 5
    assert store.wait_for_timer_change(0.1, stop=threading.Event()) is False


def test_schemas_are_isolated(schemas: Schemas) -> None:
    with schemas.store() as one, schemas.store() as two:
        assert one.channel != two.channel
        assert two.wait_for_timer_change(0) is True
        create(one, "K-1", timers=(Timer("K-1", "tier", T0, Action.ESCALATE),))
        assert two.get("K-1") is None and list(two.all_events()) == []
        assert two.next_due_at() is None
        assert two.wait_for_timer_change(0.2) is False
        assert one.allocate_id() == two.allocate_id() == "C-1"


def test_timer_channels_fit_postgres_identifiers() -> None:
    assert timer_channel("desk") == "escalate_timers.desk"
    long_one, long_two = "a" * 63, "a" * 62 + "b"
    assert len(timer_channel(long_one)) <= 63
    assert timer_channel(long_one) != timer_channel(long_two)


# -- URLs, options and errors --------------------------------------------------------------


def test_url_options_are_read_and_the_rest_goes_to_libpq() -> None:
    options = parse_url("postgres://u:secret@db:5433/x?schema=desk_eu&pool_min=2&pool_max=5"
                        "&sslmode=prefer&pool_timeout=2.5")
    assert (options.schema, options.pool_min, options.pool_max, options.pool_timeout) == \
        ("desk_eu", 2, 5, 2.5)
    assert options.conninfo == "postgres://u:secret@db:5433/x?sslmode=prefer"
    defaults = parse_url("postgresql://db/x")
    assert (defaults.schema, defaults.pool_min, defaults.pool_max) == ("escalate", 1, 10)
    assert parse_url("postgresql://db/x?pool_min=20").pool_max == 20


@pytest.mark.parametrize(("query", "key"), [
    ("schema=bad-name", "store.schema"), ("schema=pg_mine", "store.schema"),
    ("schema=" + "x" * 64, "store.schema"), ("pool_max=0", "store.pool_max"),
    ("pool_min=3&pool_max=2", "store.pool_max"), ("pool_min=-1", "store.pool_min"),
    ("pool_max=many", "store.pool_max"), ("pool_timeout=0", "store.pool_timeout"),
    ("schema=a&schema=b", "store.schema"),
])
def test_bad_url_options_are_config_errors(query: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_url(f"postgresql://db/x?{query}")
    assert info.value.path == key


def test_pool_sizes_come_from_the_url(schemas: Schemas) -> None:
    with PostgresStore(f"{URL}?pool_min=2&pool_max=3&schema={schemas.new()}") as store:
        assert (store._pool.min_size, store._pool.max_size) == (2, 3)
        assert store.options.schema.startswith(schemas.prefix)


@pytest.mark.parametrize(("url", "hint"), [
    ("postgresql://postgres:pw@127.0.0.1:1/test?connect_timeout=2", "running and reachable"),
    ("postgresql://postgres@127.0.0.1:5432/no_such_database_here", "create the database"),
    ("postgresql://no_such_role_here@127.0.0.1:5432/test", "user name"),
])
def test_connection_problems_are_storage_errors_with_a_hint(url: str, hint: str) -> None:
    with pytest.raises(StorageError, match=hint) as info:
        PostgresStore(url)
    assert "pw" not in str(info.value), "the password is never shown"


def test_a_closed_store_says_so(schemas: Schemas) -> None:
    store = schemas.store()
    store.close()
    with pytest.raises(StorageError, match="closed"):
        store.get("K-1")
    with pytest.raises(StorageError, match="closed"):
        store.wait_for_timer_change(0)


def test_the_password_is_kept_out_of_the_store_url(schemas: Schemas) -> None:
    url = URL.replace("postgres@", "postgres:hunter2@") + f"?schema={schemas.new()}"
    with PostgresStore(url) as store:
        assert "hunter2" not in store.url and "hunter2" not in repr(store)
        assert "***" in store.url


# -- the plugin hook -----------------------------------------------------------------------


def test_the_hook_serves_postgres_urls_only(schemas: Schemas) -> None:
    assert escalate_open_store("sqlite:///cases.db") is None
    assert escalate_open_store("memory://") is None
    for scheme in ("postgresql", "postgres"):
        store = escalate_open_store(f"{scheme}{URL[URL.index(':'):]}?schema={schemas.new()}")
        assert isinstance(store, PostgresStore)
        store.close()


def test_the_plugin_is_found_through_its_entry_point(schemas: Schemas) -> None:
    manager = make_plugin_manager(autoload=True)
    assert manager.get_plugin("postgres") is not None
    store = manager.hook.escalate_open_store(url=f"{URL}?schema={schemas.new()}")
    assert isinstance(store, PostgresStore)
    store.close()


@pytest.fixture
def two_desks(schemas: Schemas) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    schema = schemas.new()
    with PostgresStore(URL, schema=schema) as one, PostgresStore(URL, schema=schema) as two:
        yield one, two


def test_two_stores_on_one_schema_see_each_others_commits(
        two_desks: tuple[PostgresStore, PostgresStore]) -> None:
    one, two = two_desks
    case = create(one, "K-1")
    assert two.get("K-1") == case
    event = following(case, Action.CLAIM, T0, owner=Agent("bo"))
    two.commit(Change(case=apply(case, event), events=(event,), expected_version=1))
    with pytest.raises(ConflictError):
        one.commit(Change(case=apply(case, event), events=(event,), expected_version=1))
    assert one.get("K-1") == two.get("K-1") == apply(case, event)
