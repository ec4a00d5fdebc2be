"""The PostgreSQL store passes escalate's store contract and its stateful lifecycle proofs."""

from __future__ import annotations

from escalate_postgres import PostgresStore
from hypothesis import HealthCheck, settings
from pgschemas import Schemas, require_server

from escalate.stores import Store
from escalate.testing import StoreContract, StoreOpener, lifecycle_machine, timed_policy
from escalate.testing.policy_edits import timed_policy_edits

SCHEMAS = Schemas()


class TestPostgresStore(StoreContract):
    def make_store(self) -> Store:
        return PostgresStore(require_server(), schema=SCHEMAS.new())


def fresh_postgres() -> StoreOpener:
    url = require_server()
    schema = SCHEMAS.new()
    return lambda: PostgresStore(url, schema=schema, pool_min=0, pool_max=2)


_MACHINE = settings(max_examples=25, stateful_step_count=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

TestPostgresLifecycle = lifecycle_machine(fresh_postgres).TestCase
TestPostgresLifecycle.settings = _MACHINE
TestTimedPostgresLifecycle = lifecycle_machine(fresh_postgres, policy=timed_policy()).TestCase
TestTimedPostgresLifecycle.settings = _MACHINE
# Policy edits, with a second desk on the replaced policy ticking the same schema.
TestEditedPostgresLifecycle = lifecycle_machine(
    fresh_postgres, policy=timed_policy(), policy_changes=timed_policy_edits()).TestCase
TestEditedPostgresLifecycle.settings = _MACHINE
