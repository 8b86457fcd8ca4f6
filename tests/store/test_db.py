"""Store: Alembic migrations on SQLite and PostgreSQL, append-only triggers, engine options."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cvm.errors import ConfigError, ConflictError
from cvm.store.db import Store, current_revision
from cvm.store.tables import APPEND_ONLY, metadata


def test_upgrade_head_then_downgrade_base(db_url):
    store = Store(db_url)
    assert current_revision(store.engine) is None
    store.upgrade()
    assert current_revision(store.engine) == "0009"
    with store.engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        assert set(metadata.tables) <= names
        # The migrated schema is exactly what the code's tables describe.
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                metadata)
        assert diff == []
    store.downgrade()
    with store.engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) == {"alembic_version"}
    assert current_revision(store.engine) is None
    store.upgrade()       # and up again on the emptied database
    assert current_revision(store.engine) == "0009"
    store.dispose()


def test_0003_rewrites_the_sale_keys_partners_shared_and_back(db_url):
    from cvm.programme import Programme
    from cvm.store.tables import members, operations, partners

    store = Store(db_url)
    store.upgrade("0002")
    now = datetime(2025, 1, 1, tzinfo=UTC)
    old = [("earn", "acme:uk", "c1", "transaction:acme:uk:c1"),   # acme's "uk:c1" before
           ("earn", "-", "c1", "transaction:-:c1"),               # the tills' "c1" before
           ("earn", None, "c2", "transaction:-:c2"),              # ordinary: unchanged
           ("earn", "acme", "x\\y", "transaction:acme:x\\y"),
           ("refund", "acme:uk", "c1", "refund:acme:uk:r:1"),
           ("refund", None, "c2", "refund:-:r2")]
    new = ["transaction:acme\\:uk:c1", "transaction:\\-:c1", "transaction:-:c2",
           "transaction:acme:x\\\\y", "refund:acme\\:uk:r\\:1", "refund:-:r2"]
    with store.engine.begin() as conn:
        conn.execute(sa.insert(members).values(member_id="m1", joined_on=now.date(),
                                               status="active", created_at=now))
        for pid in ("acme", "acme:uk", "-"):
            conn.execute(sa.insert(partners).values(partner_id=pid, name=pid, created_at=now))
        for i, (kind, pid, txn, key) in enumerate(old):
            conn.execute(sa.insert(operations).values(
                idem_key=f"k{i}", natural_key=key, request_hash="h", kind=kind,
                member_id="m1", partner_id=pid, source_txn=txn, amount_cents=100,
                actor="t", created_at=now))

    def keys():
        with store.engine.connect() as conn:
            return conn.execute(sa.select(operations.c.natural_key)
                                .order_by(operations.c.op_id)).scalars().all()
    store.upgrade()
    assert keys() == new
    store.downgrade("0002")
    assert keys() == [k for *_, k in old]
    store.upgrade()
    # the programme finds the sales by their new keys: acme's "uk:c1" is another sale than
    # acme:uk's "c1", which is booked once
    prog = Programme(store)
    assert prog.earn("m1", "uk:c1", "100", partner_id="acme", now=now)["transaction_id"] == "uk:c1"
    with pytest.raises(ConflictError, match="^transaction 'c1' was already booked;"):
        prog.earn("m1", "c1", "100", partner_id="acme:uk", now=now)
    store.dispose()


def test_0007_allows_low_satisfaction_cases_and_keeps_the_cases_and_their_events(db_url):
    """A database at 0006 with two cases and three events upgrades to 0007 keeping every
    row (ids, times, JSON details, the events' links); a low_satisfaction case is refused at
    0006 and stored at 0007; the downgrade refuses to narrow while one is stored and, once
    it is gone, keeps the other rows."""
    from cvm.store.tables import case_events, cases

    store = Store(db_url)
    store.upgrade("0006")
    now = datetime(2024, 10, 2, 9, tzinfo=UTC)

    def case(key, trigger):
        return dict(trigger_key=key, trigger=trigger, customer_id="c1", opened_at=now,
                    due_at=now, owner="li", status="open", updated_at=now,
                    details={"answer": 3.0})

    def event(case_id, to):
        return dict(case_id=case_id, at=now, by="cvm", from_status=None, to_status=to,
                    note="n")

    def rows():
        with store.engine.connect() as conn:
            return (conn.execute(sa.select(cases).order_by(cases.c.case_id)).all(),
                    conn.execute(sa.select(case_events)
                                 .order_by(case_events.c.event_id)).all())

    with store.engine.begin() as conn:
        conn.execute(sa.insert(cases), [case("detractor:rel:r1:nps", "detractor"),
                                        case("complaint:i1", "complaint")])
        conn.execute(sa.insert(case_events), [event(1, "open"), event(2, "open"),
                                              event(2, "in_progress")])
    with pytest.raises(sa.exc.IntegrityError):
        with store.engine.begin() as conn:
            conn.execute(sa.insert(cases).values(**case("low_satisfaction:rel:r2",
                                                        "low_satisfaction")))
    before = rows()
    store.upgrade("0007")
    assert rows() == before
    with store.engine.connect() as conn:      # named as 0006 named them, on both dialects
        checks = {c["name"]: c["sqltext"] for c in sa.inspect(conn).get_check_constraints(
            "cases")}
    assert set(checks) == {"ck_cases_ck_cases_trigger", "ck_cases_ck_cases_status"}
    assert "low_satisfaction" in checks["ck_cases_ck_cases_trigger"]
    assert [c.trigger for c in before[0]] == ["detractor", "complaint"]
    assert [(e.event_id, e.case_id) for e in before[1]] == [(1, 1), (2, 2), (3, 2)]
    assert before[0][0].details == {"answer": 3.0} and before[0][0].opened_at == now
    with store.engine.begin() as conn:
        low = conn.execute(sa.insert(cases).values(**case(
            "low_satisfaction:rel:r2", "low_satisfaction"))).inserted_primary_key[0]
        conn.execute(sa.insert(case_events).values(**event(low, "open")))
    with pytest.raises(sa.exc.IntegrityError):     # an unknown trigger is still refused
        with store.engine.begin() as conn:
            conn.execute(sa.insert(cases).values(**case("x:1", "weather")))
    with pytest.raises(sa.exc.IntegrityError):     # the events still refer to their cases
        with store.engine.begin() as conn:
            conn.execute(sa.insert(case_events).values(**event(99, "open")))
    with pytest.raises(sa.exc.IntegrityError):     # a low_satisfaction case is stored
        store.downgrade("0006")
    assert current_revision(store.engine) == "0007"
    with store.engine.begin() as conn:
        conn.execute(sa.delete(case_events).where(case_events.c.case_id == low))
        conn.execute(sa.delete(cases).where(cases.c.case_id == low))
    store.downgrade("0006")
    assert current_revision(store.engine) == "0006" and rows() == before
    store.dispose()


def _state_plan(engine, member_id: str) -> str:
    """PostgreSQL's plan, as run, of the read every write and balance starts with (the
    member's open lots, uncovered debits, sums and totals; all spendable lots asked for).
    Sequential and bitmap scans are off: with a handful of rows the planner would rather
    read the table, as it would not for a programme of many members."""
    from sqlalchemy.dialects import postgresql

    from cvm.programme import ledger

    sql = str(ledger.STATE.params(member_id=member_id, now=datetime(2025, 6, 1, tzinfo=UTC),
                                  need=10**9).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_bitmapscan = off")
        return "\n".join(conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql).scalars())


@pytest.mark.postgres
def test_postgresql_reads_a_members_lots_from_the_indexes_alone(pg_schemas):
    """Migration 0002: once vacuumed, a member's lots, allocations and sums come from
    index-only scans without heap fetches (on a real ledger each of a member's entries lies on
    its own heap page, booked between other members' ones); at 0001 the read visits the heap."""
    from cvm.config import ProgrammeSettings
    from cvm.programme import Programme

    url = pg_schemas.new()
    prog = Programme.from_url(url, ProgrammeSettings())
    try:
        prog.init()
        now = datetime(2025, 1, 1, tzinfo=UTC)
        for m in ("m1", "m2"):
            prog.create_member(m, now=now)
        for i in range(30):       # the members' entries interleaved, as over months
            for m in ("m1", "m2"):
                prog.adjust(m, 10, f"lot {i}", now=now)
            prog.redeem("m1", 5, now=now)
        with prog.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")   # marks the pages all-visible
        text = _state_plan(prog.store.engine, "m1")
        assert "Index Only Scan using ix_ledger_entries_member_id_entry_id" in text, text
        assert "Index Only Scan using ix_allocations_member_id" in text, text
        fetches = [int(line.split(":")[1]) for line in text.splitlines()
                   if "Heap Fetches" in line]
        assert fetches and set(fetches) == {0}, text
        prog.store.downgrade("0001")
        text = _state_plan(prog.store.engine, "m1")
        assert "Index Only Scan" not in text and "Index Scan" in text, text
        prog.store.upgrade()
        assert current_revision(prog.store.engine) == "0009"
    finally:
        prog.close()
        pg_schemas.drop(url)


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_append_only_tables_refuse_update_and_delete(programme, table):
    now = datetime(2025, 1, 1, tzinfo=UTC)
    programme.create_member("m1", now=now)
    programme.adjust("m1", 50, "welcome", now=now)
    programme.redeem("m1", 20, now=now)
    with programme.store.write() as c:
        c.execute(sa.text(
            "INSERT INTO tier_history (member_id, tier_code, changed_on, reason, created_at) "
            "VALUES ('m1', NULL, '2025-01-01', 'test', :t)"), {"t": now})
    if table == "settlement_batches":
        with programme.store.write() as c:
            c.execute(sa.text("INSERT INTO partners (partner_id, name, created_at) "
                              "VALUES ('p1', 'P', :t)"), {"t": now})
        programme.settle("p1", "2024-12", now=now)
    with programme.store.engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() >= 1
    for stmt in (f"UPDATE {table} SET member_id = member_id" if table != "settlement_batches"
                 else f"UPDATE {table} SET month = month", f"DELETE FROM {table}"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with programme.store.write() as conn:
                conn.execute(sa.text(stmt))


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'p.db'}", busy_timeout_ms=1234)
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 1234
    store.dispose()


@pytest.mark.parametrize("url, match", [
    ("sqlite://", "in-memory"),
    ("sqlite:///:memory:", "in-memory"),
    ("mysql://u@h/db", "not supported"),
    ("postgresql+psycopg2://u@h/db", "psycopg 3"),
    ("not a url", "not a database URL"),
])
def test_bad_urls_are_refused_with_advice(url, match):
    with pytest.raises(ConfigError, match=match):
        Store(url)


def test_workspace_programme_defaults_to_sqlite_file(tmp_path):
    from cvm.programme import Programme
    from cvm.workspace import Workspace

    ws = Workspace.init(tmp_path / "acme")
    prog = Programme.from_workspace(Workspace.open(tmp_path / "acme"))
    prog.init()
    assert prog.store.dialect == "sqlite"
    assert (tmp_path / "acme" / "programme.db").is_file()
    assert prog.settings == ws.settings.programme
    prog.close()


@pytest.mark.postgres
def test_a_database_restart_is_survived_by_reads_and_reported_for_writes(pg_schemas):
    """Every pooled connection dies (as in a PostgreSQL restart): a read is run again on a
    new connection; a write answers 503 and says to retry with the same key, and that retry
    books it once."""
    from uuid import uuid4

    from conftest import make_programme
    from cvm.errors import StoreUnavailableError

    url = pg_schemas.new()
    name = f"cvm_{uuid4().hex[:10]}"
    prog = make_programme(f"{url}&application_name={name}")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")

    def kill_all() -> int:
        with admin.connect() as c:
            return c.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s", (name,)).scalar_one()

    try:
        prog.create_member("m1")
        prog.adjust("m1", 10, "welcome")
        assert prog.balance("m1")["active"] == 10
        assert kill_all() >= 1
        assert prog.balance("m1")["active"] == 10          # read again, on a new connection
        assert prog.statement("m1")["entries"][0]["points"] == 10
        prog.balance("m1")
        assert kill_all() >= 1
        with pytest.raises(StoreUnavailableError, match="same Idempotency-Key") as lost:
            prog.redeem("m1", 3, idem_key="k1")
        assert lost.value.http_status == 503
        assert prog.redeem("m1", 3, idem_key="k1")["replayed"] is False   # booked now
        assert prog.redeem("m1", 3, idem_key="k1")["replayed"] is True    # and only once
        assert prog.balance("m1")["active"] == 7
        assert prog.audit() == []
    finally:
        prog.close()
        admin.dispose()
        pg_schemas.drop(url)


@pytest.mark.postgres
def test_a_write_sends_three_statements_and_commits(pg_schemas, monkeypatch):
    """A member's write on PostgreSQL is the member's lock, one read (its lots for the points
    it takes, sums, rules, ids) and one write, then COMMIT (`cvm.programme.batching`): a read the
    write did not prefetch, e.g. lots asked for another number of points than prefetched,
    would be a fourth statement and a round trip more."""
    import psycopg

    from conftest import make_programme

    prog = make_programme(pg_schemas.new())
    try:
        prog.add_rule("base", points_per_step=10, step=100)
        prog.create_member("m1")
        prog.adjust("m1", 100, "welcome")
        sent: list[str] = []
        execute = psycopg.Cursor.execute

        def counted(self, query, *args, **kwargs):
            sent.append(str(query).split()[0].upper())
            return execute(self, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", counted)
        for write in (lambda: prog.earn("m1", "s1", "250.00", idem_key="e1"),
                      lambda: prog.redeem("m1", 30, idem_key="r1"),
                      lambda: prog.adjust("m1", -5, "goodwill reversed", idem_key="a1"),
                      lambda: prog.adjust("m1", 5, "goodwill", idem_key="a2")):
            sent.clear()
            write()
            assert len(sent) == 3, sent       # lock, read, write (COMMIT is the driver's)
            assert sent[0] == "SELECT" and sent[1] == "SELECT", sent
        monkeypatch.undo()
        b = prog.balance("m1")                  # 250.00 earns 20, pending for 30 days
        assert (b["active"], b["pending"]) == (100 - 30 - 5 + 5, 20)
    finally:
        prog.close()


def test_a_days_opportunities_are_read_in_priority_order_from_the_index(tmp_path):
    """SQLite's plan for a page of the day's opportunities (highest priority first) walks
    ix_opportunities_as_of_priority instead of sorting the whole day."""
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    store.upgrade()
    with store.engine.connect() as conn:
        plan = " ".join(r[-1] for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT opportunity_id FROM opportunities WHERE as_of = "
            "'2024-11-30' ORDER BY as_of, priority DESC, opportunity_id LIMIT 200"))
    store.dispose()
    assert "ix_opportunities_as_of_priority" in plan and "USE TEMP B-TREE FOR ORDER BY" \
        not in plan
