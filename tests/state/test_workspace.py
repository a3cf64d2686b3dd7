"""Sources, brands and competitors: CRUD, ownership, and syncing from the config file."""

from __future__ import annotations

from datetime import UTC

import pytest

from services.core.models import Brand, Competitor
from services.store.state.contract import ConflictError, NotFoundError
from services.store.state.sql import SqlStateStore
from tests.state import FakeClock, make_run, make_source


def test_sources_round_trip_with_their_origin(state_store: SqlStateStore) -> None:
    source = make_source("b-news", interval_minutes=30, query="veloria", keep="all", language="fr")
    state_store.put_source(source, origin="api")
    state_store.put_source(make_source("a-blog"), origin="config")
    assert state_store.get_source("b-news") == source
    assert [s.name for s in state_store.list_sources()] == ["a-blog", "b-news"]
    assert state_store.source_origin("b-news") == "api"
    assert state_store.source_origin("a-blog") == "config"


def test_put_replaces_and_create_only_refuses_a_taken_name(state_store: SqlStateStore) -> None:
    state_store.put_source(make_source("news"), origin="api", create_only=True)
    state_store.put_source(make_source("news", enabled=False), origin="api")
    assert state_store.get_source("news").enabled is False
    with pytest.raises(ConflictError, match="already exists"):
        state_store.put_source(make_source("news"), origin="api", create_only=True)
    state_store.put_brand(Brand(name="Veloria"), origin="api", create_only=True)
    with pytest.raises(ConflictError, match="already exists"):
        state_store.put_brand(Brand(name="Veloria"), origin="api", create_only=True)


def test_the_api_cannot_overwrite_a_config_row(state_store: SqlStateStore) -> None:
    state_store.put_source(make_source("news"), origin="config")
    with pytest.raises(ConflictError, match="config file"):
        state_store.put_source(make_source("news", enabled=False), origin="api")
    state_store.put_competitor(Competitor(name="Trekko"), origin="config")
    with pytest.raises(ConflictError, match="config file"):
        state_store.put_competitor(Competitor(name="Trekko", aliases=["TK"]), origin="api")
    assert state_store.get_source("news").enabled is True
    assert state_store.list_competitors() == [Competitor(name="Trekko")]


def test_missing_rows_raise_not_found(state_store: SqlStateStore) -> None:
    for call in (
        lambda: state_store.get_source("nope"),
        lambda: state_store.source_origin("nope"),
        lambda: state_store.delete_source("nope"),
        lambda: state_store.get_brand("nope"),
        lambda: state_store.brand_origin("nope"),
        lambda: state_store.delete_brand("nope"),
        lambda: state_store.competitor_origin("nope"),
        lambda: state_store.delete_competitor("nope"),
    ):
        with pytest.raises(NotFoundError, match="nope"):
            call()


def test_brands_and_competitors_crud(state_store: SqlStateStore) -> None:
    brand = Brand(name="Veloria", aliases=["@veloria"], exclusions=["veloria street"])
    state_store.put_brand(brand, origin="api")
    state_store.put_competitor(Competitor(name="Trekko"), origin="api")
    assert state_store.get_brand("Veloria") == brand
    assert state_store.brand_origin("Veloria") == "api"
    assert state_store.competitor_origin("Trekko") == "api"
    assert state_store.list_brands() == [brand]
    state_store.delete_brand("Veloria")
    state_store.delete_competitor("Trekko")
    assert state_store.list_brands() == []
    assert state_store.list_competitors() == []


def test_an_unknown_origin_is_refused(state_store: SqlStateStore) -> None:
    with pytest.raises(ValueError, match="origin"):
        state_store.put_source(make_source(), origin="yaml")  # type: ignore[arg-type]


def test_sync_makes_config_rows_exactly_the_lists(state_store: SqlStateStore) -> None:
    state_store.put_source(make_source("api-only"), origin="api")
    state_store.put_brand(Brand(name="ApiBrand"), origin="api")
    state_store.sync_workspace(
        sources=[make_source("one"), make_source("two")],
        brands=[Brand(name="Veloria", competitors=["Trekko"])],
        competitors=[Competitor(name="Trekko")],
    )
    assert [s.name for s in state_store.list_sources()] == ["api-only", "one", "two"]

    state_store.sync_workspace(
        sources=[make_source("two", interval_minutes=60), make_source("three")],
        brands=[],
        competitors=[Competitor(name="Trekko"), Competitor(name="Rival")],
    )
    assert [s.name for s in state_store.list_sources()] == ["api-only", "three", "two"]
    assert state_store.get_source("two").interval_minutes == 60
    assert [b.name for b in state_store.list_brands()] == ["ApiBrand"]
    assert [c.name for c in state_store.list_competitors()] == ["Rival", "Trekko"]
    assert state_store.source_origin("api-only") == "api"


def test_sync_takes_over_an_api_row_with_the_same_name(state_store: SqlStateStore) -> None:
    state_store.put_source(make_source("news", interval_minutes=5), origin="api")
    state_store.record_run(make_run("news"))
    state_store.sync_workspace(sources=[make_source("news")], brands=[], competitors=[])
    assert state_store.source_origin("news") == "config"
    assert state_store.get_source("news").interval_minutes == 15
    assert state_store.source_status("news").last_status is not None  # history kept
    # Now config-owned: a sync without it deletes it.
    state_store.sync_workspace(sources=[], brands=[], competitors=[])
    assert state_store.list_sources() == []


def test_sync_leaves_unchanged_rows_alone(state_store: SqlStateStore, clock: FakeClock) -> None:
    state_store.sync_workspace(sources=[make_source("news")], brands=[], competitors=[])
    state_store.record_collection(run=make_run("news"), items=[], cursor={"etag": "v1"})
    clock.advance(60)
    state_store.sync_workspace(sources=[make_source("news")], brands=[], competitors=[])
    assert state_store.get_cursor("news") == {"etag": "v1"}


def test_sync_refuses_repeated_names_and_changes_nothing(state_store: SqlStateStore) -> None:
    state_store.sync_workspace(sources=[make_source("keep")], brands=[], competitors=[])
    with pytest.raises(ValueError, match="named more than once: dup"):
        state_store.sync_workspace(
            sources=[make_source("new")],
            brands=[Brand(name="dup"), Brand(name="dup")],
            competitors=[],
        )
    assert [s.name for s in state_store.list_sources()] == ["keep"]


def test_deleting_a_source_deletes_its_cursor_runs_and_status(state_store: SqlStateStore) -> None:
    state_store.put_source(make_source("news"), origin="api")
    state_store.record_collection(run=make_run("news"), items=[], cursor={"etag": "v1"})
    state_store.delete_source("news")
    state_store.put_source(make_source("news"), origin="api")
    assert state_store.get_cursor("news") == {}
    assert state_store.recent_runs("news") == []
    assert state_store.source_status("news").state == "never_run"


def test_changing_a_source_url_forgets_its_cursor(state_store: SqlStateStore) -> None:
    state_store.put_source(make_source("news"), origin="api")
    state_store.record_collection(run=make_run("news"), items=[], cursor={"etag": "v1"})
    state_store.put_source(make_source("news", interval_minutes=5), origin="api")
    assert state_store.get_cursor("news") == {"etag": "v1"}
    state_store.put_source(make_source("news", url="https://other.example/feed"), origin="api")
    assert state_store.get_cursor("news") == {}
    assert state_store.recent_runs("news") != []  # the history stays


def test_timestamps_come_back_aware_in_utc(state_store: SqlStateStore) -> None:
    state_store.put_source(make_source("news"), origin="api")
    state_store.record_run(make_run("news"))
    status = state_store.source_status("news")
    assert status.last_run_at is not None
    assert status.last_run_at.tzinfo is UTC
    assert state_store.recent_runs("news")[0].finished_at.tzinfo is UTC
