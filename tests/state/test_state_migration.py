"""`veille migrate-state`: a real SQLite state store, filled through the product's own
stores, copied into a real PostgreSQL schema and read back through the same stores."""

from __future__ import annotations

import hashlib
import os
import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from services.alerting import saved_searches as ss
from services.core.triage import Triage, TriageState
from services.runtime.app.workspaces import pg_schema
from services.store.state.contract import TriageRecord
from services.store.state.database import StateDatabase
from services.store.state.governance import GovernanceStore
from services.store.state.migrate import alembic_config, upgrade_to_head
from services.store.state.sql import SqlStateStore
from services.store.state.tenancy import TenancyStore
from tests.cli_runner import veille
from tests.e2e.service import REPO, veille_at_a_terminal, write_workspace
from tests.state.conftest import POSTGRES_ENV, POSTGRES_HOWTO


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is an empty schema of this test, dropped after."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(POSTGRES_HOWTO)
    schema = f"test_move_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = sa.make_url(base).update_query_dict({"options": f"-c search_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


def _count(engine: sa.Engine, query: sa.TextClause, **params: object) -> int:
    """One count, in a transaction of its own (pg_stat_activity is read once a
    transaction)."""
    with engine.connect() as conn:
        return int(conn.execute(query, params).scalar_one())


def _fill(url: str) -> dict[str, str]:
    """One of each kind of record, written by the stores Veille itself uses."""
    db = StateDatabase(url, migrate=True)
    state, tenancy, governance = SqlStateStore(db), TenancyStore(db), GovernanceStore(db)
    try:
        key = tenancy.create_key(name="dashboard", service="tests")
        tenancy.record(
            workspace="default",
            actor="alice",
            actor_kind="user",
            kind="key",
            action="create",
            target="dashboard",
        )
        search = ss.SavedSearchIn(name="recall", query="veloria recall")
        state.put_spec(
            ss.KIND, name="recall", spec=ss.to_record_spec(search), owner=None, visibility="shared"
        )
        state.put_spec(
            "alert_rule",
            name="spike",
            spec={"kind": "volume_spike", "bucket": "1h"},
            owner=None,
            visibility="shared",
        )
        state.record_alert_event(
            rule_name="spike",
            kind="volume_spike",
            status="firing",
            dedupe_key="k1",
            numbers={"observed": 40, "expected": 2},
            channels=["slack:SLACK_HOOK"],
            baseline={"method": "median", "season": "daily", "window_seconds": 1209600},
        )
        correction = state.add_correction(
            mention_id="m1",
            fingerprint="fp1",
            field="sentiment",
            brand=None,
            label="negative",
            text="Le SAV ne répond plus",
            language="fr",
            author="alice",
        )
        now = datetime.now().astimezone()
        state.put_triage(
            [
                TriageRecord(
                    mention_id="m1",
                    story_id="s1",
                    triage=Triage(state=TriageState.ANSWERED),
                    updated_at=now,
                    updated_by="cm",
                    answered_at=now,
                    answered_by="cm",
                )
            ]
        )
        state.add_triage_note(mention_id="m1", author="cm", text="answered by DM")
        job = governance.create_erasure(
            kind="author",
            identifier="@someone",
            identifier_hash="h" * 64,
            words=0,
            requested_by="dpo",
        )
        return {"key": key, "correction": str(correction["id"]), "erasure": job.id}
    finally:
        state.close()
        tenancy.close()
        governance.close()
        db.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.postgres
def test_every_record_moves_to_postgresql_and_reads_back(tmp_path: Path, pg_url: str) -> None:
    config = write_workspace(tmp_path, sources=[])
    source = tmp_path / "data" / "veille.db"
    made = _fill(f"sqlite:///{source}")
    before = _digest(source)

    result = veille("migrate-state", "--to", pg_url, "--config", str(config))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "rows per table" in result.stdout and "MISMATCH" not in result.stdout
    assert "corrections" in result.stdout
    assert _digest(source) == before  # the source is only read
    db = StateDatabase(pg_url)  # at head: no migration needed
    state, tenancy, governance = SqlStateStore(db), TenancyStore(db), GovernanceStore(db)
    try:
        found = tenancy.find_key(made["key"])
        assert found is not None and found.name == "dashboard"
        assert [e.actor for e in tenancy.audit()] == ["alice"]
        assert state.get_spec(ss.KIND, "recall").spec["query"] == "veloria recall"
        assert state.get_spec("alert_rule", "spike").spec["kind"] == "volume_spike"
        (event,) = state.list_alert_events()
        assert event.baseline == {"method": "median", "season": "daily", "window_seconds": 1209600}
        assert [d.channel for d in event.deliveries] == ["slack:SLACK_HOOK"]
        assert [
            (c["field"], c["label"], c["author"]) for c in state.corrections_for(["fp1"])["fp1"]
        ] == [("sentiment", "negative", "alice")]
        assert state.triage_records(["m1"])["m1"].triage.state is TriageState.ANSWERED
        assert [n["text"] for n in state.triage_notes("m1")] == ["answered by DM"]
        assert governance.erasure(made["erasure"]).requested_by == "dpo"
        # The sequences moved past the copied ids: a new row does not collide.
        newer = state.add_correction(
            mention_id="m2",
            fingerprint="fp2",
            field="sentiment",
            brand=None,
            label="positive",
            text="Merci",
            language="fr",
            author="bob",
        )
        assert int(newer["id"]) > int(made["correction"])
    finally:
        state.close()
        tenancy.close()
        governance.close()
        db.close()

    again = veille("migrate-state", "--to", pg_url, "--config", str(config))

    assert again.returncode == 1
    assert "already holds" in again.stdout + again.stderr
    assert "Traceback" not in again.stdout + again.stderr


@pytest.mark.postgres
def test_a_source_behind_the_migrations_is_refused(tmp_path: Path, pg_url: str) -> None:
    config = write_workspace(tmp_path, sources=[])
    source = tmp_path / "data" / "veille.db"
    source.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(f"sqlite:///{source}"), "0016")
    before = _digest(source)

    result = veille("migrate-state", "--to", pg_url, "--config", str(config))

    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "revision 0016" in output and "Traceback" not in output
    assert _digest(source) == before
    engine = sa.create_engine(pg_url)
    try:
        assert sa.inspect(engine).get_table_names() == []  # the target was not touched
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("to", "says"),
    [
        ("mysql://u:secret@127.0.0.1/db", "unsupported state store URL"),
        ("sqlite:///elsewhere.db", "is not PostgreSQL"),
        ("postgresql+psycopg://u:secret@127.0.0.1:1/veille", "cannot open the state store"),
    ],
)
def test_a_wrong_or_unreachable_target_gets_one_clear_line(
    tmp_path: Path, to: str, says: str
) -> None:
    config = write_workspace(tmp_path, sources=[])
    _fill(f"sqlite:///{tmp_path}/data/veille.db")

    result = veille("migrate-state", "--to", to, "--config", str(config))

    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert says in output and "Traceback" not in output
    assert "secret" not in output


@pytest.mark.postgres
def test_all_workspaces_go_each_into_a_schema_of_its_own(tmp_path: Path, pg_url: str) -> None:
    config = write_workspace(tmp_path, sources=[])
    workspace = f"mv{uuid.uuid4().hex[:8]}"
    assert veille("workspaces", "create", workspace, "--config", str(config)).returncode == 0
    default_key = _fill(f"sqlite:///{tmp_path}/data/veille.db")["key"]
    _fill(f"sqlite:///{tmp_path}/data/workspaces/{workspace}/veille.db")
    schema_url = (
        sa.make_url(pg_url)
        .update_query_dict({"options": f"-c search_path={pg_schema(workspace)}"})
        .render_as_string(hide_password=False)
    )
    try:
        result = veille(
            "migrate-state", "--all-workspaces", "--to", pg_url, "--config", str(config)
        )

        assert result.returncode == 0, result.stdout + result.stderr
        assert f"workspace {workspace}:" in result.stdout
        tenancy = TenancyStore(pg_url)
        try:
            assert tenancy.find_key(default_key) is not None
            assert {w.id for w in tenancy.list_workspaces(include_archived=True)} == {
                "default",
                workspace,
            }
        finally:
            tenancy.close()
        state = SqlStateStore(schema_url)
        try:
            assert list(state.corrections_for(["fp1"])) == ["fp1"]
        finally:
            state.close()
    finally:
        engine = sa.create_engine(pg_url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{pg_schema(workspace)}" CASCADE')
        finally:
            engine.dispose()


@pytest.mark.postgres
def test_ctrl_c_leaves_the_target_empty_and_prints_the_command(tmp_path: Path, pg_url: str) -> None:
    """Ctrl-C while the copy waits on the database: it stops at once, its transaction
    rolled back, and prints the command that starts it over."""
    from services.store.state.tables import sources

    config = write_workspace(tmp_path, sources=[])
    source = f"sqlite:///{tmp_path}/data/veille.db"
    _fill(source)
    engine = sa.create_engine(source)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    row = {"spec": {}, "origin": "api", "created_at": now, "updated_at": now}
    with engine.begin() as conn:
        conn.execute(sources.insert(), [{"name": f"s{n:03d}", **row} for n in range(100)])
    engine.dispose()
    target = sa.create_engine(pg_url)
    upgrade_to_head(target)
    # The copy of `sources`, one row a statement in name order, is held midway at s050: a
    # transaction of this test holds a row of that name, not committed, so the copy's
    # insert waits for it. The test's own pause point, whatever the load.
    blocker = target.connect()
    blocker.begin()
    blocker.execute(sources.insert(), {"name": "s050", **row})
    mine = blocker.execute(sa.select(sa.func.pg_backend_pid())).scalar_one()
    args = ["migrate-state", "--to", pg_url, "--config", str(config), "--batch-size", "1"]
    waiting = sa.text(  # the copy's insert, waiting for this test's transaction
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE :mine = ANY(pg_blocking_pids(pid)) AND query LIKE 'INSERT INTO sources %'"
    )
    try:
        with (tmp_path / "err").open("w+") as err:
            run = subprocess.Popen(
                veille_at_a_terminal(*args),
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
            )
            reached = stopped = False
            try:
                deadline = time.monotonic() + 180
                while run.poll() is None and time.monotonic() < deadline:
                    if reached := bool(_count(target, waiting, mine=mine)):
                        break
                    time.sleep(0.05)
                if reached:
                    run.send_signal(signal.SIGINT)  # Ctrl-C
                    run.wait(60)
                    stopped = True
            except subprocess.TimeoutExpired:
                pass
            finally:
                run.kill()
                run.wait()
            err.seek(0)
            stderr = err.read()
        assert reached, f"the copy never waited at s050: {stderr}"
        assert stopped, f"Ctrl-C did not stop the copy within 60 s: {stderr}"
        blocker.rollback()
        with target.connect() as conn:
            left = conn.execute(sa.select(sa.func.count()).select_from(sources)).scalar_one()
    finally:
        blocker.close()
        target.dispose()
    assert run.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert "the target keeps none of workspace default's" in stderr
    password = sa.make_url(pg_url).password
    assert password and f":{password}@" not in stderr
    said = stderr.split("start it over with the same command:", 1)[1].strip().splitlines()[0]
    masked = sa.make_url(pg_url).render_as_string(hide_password=True)
    assert shlex.split(said) == ["veille", *args[:2], masked, *args[3:]]
    assert "(with the password in place of ***)" in stderr
    assert left == 0

    again = veille(*args[:-1], "1000")  # the same command, with the password
    assert again.returncode == 0, again.stdout + again.stderr
    assert "MISMATCH" not in again.stdout
