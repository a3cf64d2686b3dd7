"""Retention and erasure (services/runtime/governance/retention.py, erasure.py, access.py) on every
backend: the embedded index and Elasticsearch, with a real SQLite state store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.core.models import Mention
from services.core.settings import build_settings
from services.core.triage import Triage, TriageState
from services.core.workspace import Workspace
from services.reports.store import RenderInfo, Renders
from services.runtime.app.context import ServiceContext
from services.runtime.governance.access import author_data
from services.runtime.governance.erasure import (
    KEYED,
    ErasureInputError,
    erasure_key,
    held_indices,
    keyed_hash,
    receipt,
    rekey_erasures,
    start_erasure,
    words_hash,
)
from services.runtime.governance.retention import (
    RetentionError,
    apply_retention,
    effective_policy,
    validate_changes,
)
from services.store.contracts import Dimension, MentionFilter
from services.store.state.contract import TriageRecord
from tests.factories import make_mention
from tests.store.conftest import BackendCase

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def ctx(backend: BackendCase, tmp_path: Path) -> Iterator[ServiceContext]:
    """A service context whose index is the backend under test."""
    settings = build_settings(
        {
            "data_dir": str(tmp_path / "data"),
            "demo_data": False,
            "store": {
                "state_url": f"sqlite:///{tmp_path}/data/veille.db",
                "index_url": f"embedded:{tmp_path}/unused",
            },
            "retention": {"days": {"x": 395, "feed": 1826}},
        }
    )
    context = ServiceContext(settings, Workspace())
    context.__dict__["index"] = backend.open()
    yield context
    context.close()


def _ids(ctx: ServiceContext) -> set[str]:
    return {m.id for m in ctx.index.iter_all(MentionFilter())}


def _sample(mention: Mention) -> dict[str, str]:
    return {"id": mention.id, "title": mention.title, "text": mention.text}


def _triage(ctx: ServiceContext, *mention_ids: str) -> None:
    """Escalated, with a note quoting its author, as a community manager leaves them."""
    ctx.state.put_triage(
        [
            TriageRecord(
                mention_id=mention_id,
                story_id=mention_id,
                triage=Triage(state=TriageState.ESCALATED, assignee="zoe", tags=("legal",)),
                updated_at=NOW,
                updated_by="zoe",
            )
            for mention_id in mention_ids
        ]
    )
    for mention_id in mention_ids:
        ctx.state.add_triage_note(mention_id=mention_id, author="zoe", text="Rappelé M. Dupont")


# -- retention --------------------------------------------------------------------------
def test_retention_deletes_per_kind_and_what_hangs_off(ctx: ServiceContext) -> None:
    old_x = [
        make_mention(id=f"x-old{i}", source_kind="x", published_at=NOW - timedelta(days=400))
        for i in range(3)
    ]
    new_x = make_mention(id="x-new", source_kind="x", published_at=NOW - timedelta(days=30))
    old_feed = make_mention(
        id="feed-3y", source_kind="feed", published_at=NOW - timedelta(days=1100)
    )
    ancient_feed = make_mention(
        id="feed-6y", source_kind="feed", published_at=NOW - timedelta(days=2200)
    )
    forum = make_mention(id="web-9y", source_kind="web", published_at=NOW - timedelta(days=3300))
    ctx.index.upsert([*old_x, new_x, old_feed, ancient_feed, forum])
    ctx.state.add_correction(
        mention_id="x-old0",
        fingerprint="f0",
        field="topics",
        brand=None,
        label=["price"],
        text=old_x[0].text,
        language="en",
        author="analyst",
    )
    ctx.state.add_correction(
        mention_id="x-new",
        fingerprint="f1",
        field="topics",
        brand=None,
        label=["price"],
        text=new_x.text,
        language="en",
        author="analyst",
    )
    ctx.state.record_alert_event(
        rule_name="spike",
        kind="volume_spike",
        status="firing",
        dedupe_key="k1",
        numbers={"top_mentions": [_sample(old_x[1]), _sample(new_x)]},
        channels=[],
    )

    _triage(ctx, "x-old2", "x-new")
    dry = apply_retention(ctx, dry_run=True, now=NOW)
    assert dry.deleted == {"feed": 1, "x": 3} and dry.dry_run
    assert len(_ids(ctx)) == 7  # a dry run deletes nothing

    run = apply_retention(ctx, now=NOW, trigger="daily")
    assert run.deleted == {
        "feed": 1,
        "x": 3,
        "corrections": 1,
        "alert_samples": 1,
        "triage": 1,
    }
    assert list(ctx.state.triage_records(["x-old2", "x-new"])) == ["x-new"]
    assert ctx.state.triage_note_counts(["x-old2", "x-new"]) == {"x-new": 1}
    assert _ids(ctx) == {"x-new", "feed-3y", "web-9y"}  # web has no retention set
    assert [c["mention_id"] for c in ctx.state.list_corrections()] == ["x-new"]
    (event,) = ctx.state.list_alert_events(rule_name="spike")
    assert [s["id"] for s in event.numbers["top_mentions"]] == ["x-new"]
    assert [r.id for r in ctx.governance.retention_runs()] == [run.id, dry.id]
    terms = ctx.index.terms(MentionFilter(), dimension=Dimension.SOURCE)
    assert sum(b.count for b in terms) == 3  # the counts agree with the search

    ctx.governance.set_retention(validate_changes({"feed": 365}))
    policy = {e.kind: (e.days, e.origin) for e in effective_policy(ctx)}
    assert policy == {"feed": (365, "api"), "x": (395, "config")}
    again = apply_retention(ctx, now=NOW).deleted
    assert again == {"feed": 1, "x": 0, "corrections": 0, "alert_samples": 0, "triage": 0}
    assert _ids(ctx) == {"x-new", "web-9y"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"x": 0}, "days.x"),
        ({"x": -30}, "days.x"),
        ({"feed": 365, "tiktok": 30}, "days.tiktok"),
        ({"x": True}, "days.x"),
        ({"x": "13 months"}, "days.x"),
        ({}, "days"),
    ],
)
def test_bad_retention_is_refused_naming_the_field(
    ctx: ServiceContext, changes: dict[str, object], field: str
) -> None:
    ctx.governance.set_retention({"x": 100})
    with pytest.raises(RetentionError) as refused:
        validate_changes(changes)
    assert refused.value.field == field
    assert ctx.governance.retention_overrides() == {"x": 100}


def test_a_source_named_like_another_kind_keeps_its_own_retention(ctx: ServiceContext) -> None:
    from services.core.models import Source

    ctx.state.put_source(
        Source(name="x", kind="feed", url="https://example.org/x.xml"), origin="api"
    )
    from_feed_named_x = make_mention(
        id="feed-named-x",
        source_kind="feed",
        source_name="x",
        published_at=NOW - timedelta(days=500),
    )
    real_x = make_mention(id="real-x", source_kind="x", published_at=NOW - timedelta(days=500))
    ctx.index.upsert([from_feed_named_x, real_x])
    assert apply_retention(ctx, now=NOW).deleted["x"] == 1
    assert _ids(ctx) == {"feed-named-x"}


# -- erasure ----------------------------------------------------------------------------
@pytest.fixture
def people(ctx: ServiceContext) -> dict[str, Mention]:
    mentions = {
        "by": make_mention(id="by-jd", author="@JDupont", text="Mon Veloria est en panne"),
        "by2": make_mention(id="by-jd-2", author="jdupont", source_kind="x", text="Veloria bof"),
        "about": make_mention(id="about-jd", author="marie", text="Réponse à @jdupont : Veloria"),
        "other": make_mention(id="other", author="marie", text="Veloria roule bien"),
        "phone": make_mention(id="phone", author="paul", text="Appelez-moi au 06 12 34 56 78"),
    }
    ctx.index.upsert(list(mentions.values()))
    return mentions


def test_erasure_of_an_author_removes_everything_by_or_about_them(
    ctx: ServiceContext, people: dict[str, Mention], tmp_path: Path
) -> None:
    ctx.state.add_correction(
        mention_id="by-jd",
        fingerprint="fp",
        field="sentiment",
        brand=None,
        label="negative",
        text=people["by"].text,
        language="fr",
        author="analyst",
    )
    ctx.state.record_alert_event(
        rule_name="neg",
        kind="new_mention",
        status="firing",
        dedupe_key="a",
        numbers={"top_mentions": [_sample(people["about"]), _sample(people["other"])]},
        channels=[],
    )
    from tests.factories import make_item

    ctx.state.enqueue_items(
        [make_item(author="jdupont", text="pas encore analysé"), make_item(author="lea")]
    )
    renders = Renders(ctx.settings.data_dir)
    info = RenderInfo("weekly", "20261130T070000Z", NOW, NOW, ["html"], 1.0)
    renders.save(info, html="<p>Top auteur : <b>@jdupont</b></p>", pdf=None)
    clean = RenderInfo("weekly", "20261123T070000Z", NOW, NOW, ["html"], 1.0)
    renders.save(clean, html="<p>Top auteur : marie</p>", pdf=None)

    _triage(ctx, "by-jd", "about-jd", "other")
    exported = author_data(ctx, "@jdupont")
    assert {m["id"] for m in exported["mentions_by_author"]} == {"by-jd", "by-jd-2"}
    assert {m["id"] for m in exported["mentions_about_author"]} == {"about-jd"}
    assert [c["mention_id"] for c in exported["corrections"]] == ["by-jd"]
    assert sorted(n["mention_id"] for n in exported["triage_notes"]) == ["about-jd", "by-jd"]
    assert exported["triage_notes"][0]["text"] == "Rappelé M. Dupont"
    assert [s["sample"]["id"] for s in exported["alert_samples"]] == ["about-jd"]

    job = start_erasure(ctx, kind="author", identifier="  @jdupont ", requested_by="dpo")
    out = receipt(job)
    assert out["status"] == "done" and out["holds"]
    assert out["counts"]["mentions"] == {"feed": 2, "x": 1}
    assert out["counts"]["mentions_total"] == 3
    assert out["counts"]["stories"] == 3
    assert out["counts"]["corrections"] == 1
    assert out["counts"]["triage"] == 2
    assert out["counts"]["alert_samples"] == 1
    assert out["counts"]["inbox_items"] == 1
    assert ctx.state.inbox_counts().get("pending") == 1
    assert out["counts"]["report_renders_deleted"] == ["weekly/20261130T070000Z"]
    assert "jdupont" not in str(out).lower()
    assert job.identifier is None  # only the hash is kept once done

    assert _ids(ctx) == {"other", "phone"}
    assert ctx.index.terms(MentionFilter(), dimension=Dimension.AUTHOR, size=10)[0].key in {
        "marie",
        "paul",
    }
    assert ctx.state.list_corrections() == []
    assert list(ctx.state.triage_records(["by-jd", "about-jd", "other"])) == ["other"]
    assert ctx.state.triage_note_counts(["by-jd", "about-jd", "other"]) == {"other": 1}
    (event,) = ctx.state.list_alert_events(rule_name="neg")
    assert [s["id"] for s in event.numbers["top_mentions"]] == ["other"]
    assert [r.id for r in renders.list("weekly")] == ["20261123T070000Z"]
    empty = author_data(ctx, "jdupont")
    assert empty["mentions_by_author"] == [] and empty["alert_samples"] == []
    assert empty["triage_notes"] == []


def test_erasure_deletes_the_notes_on_other_mentions_that_quote_the_author(
    ctx: ServiceContext, people: dict[str, Mention]
) -> None:
    """A note on a mention the erasure keeps ("other") is deleted when it names the handle,
    in any case or accents, with or without its `@`; one that does not name it stays."""
    notes = {
        "Même souci que @JDupont : répondre avec le modèle": True,
        "voir aussi jdupont (compte x)": True,
        "RAS, client satisfait": False,
        "jdupontel n'est pas le même compte": False,  # another word
    }
    for text in notes:
        ctx.state.add_triage_note(mention_id="other", author="zoe", text=text)
        ctx.state.add_triage_note(mention_id="phone", author="zoe", text=text)
    quoting = sorted(t for t, q in notes.items() if q)
    exported = author_data(ctx, "@jdupont")
    assert sorted(n["text"] for n in exported["triage_notes"]) == sorted(quoting * 2)

    job = start_erasure(ctx, kind="author", identifier="@jdupont")
    assert receipt(job)["counts"]["triage_notes_quoting"] == 4
    assert "jdupont" not in str(receipt(job)).lower()
    kept = sorted(t for t, q in notes.items() if not q)
    for mention_id in ("other", "phone"):
        assert sorted(n["text"] for n in ctx.state.triage_notes(mention_id)) == kept
    assert author_data(ctx, "@jdupont")["triage_notes"] == []
    # a text erasure finds its words in notes too
    ctx.state.add_triage_note(mention_id="other", author="zoe", text="rappeler au 06 12 34 56 78")
    again = start_erasure(ctx, kind="text", identifier="06 12 34 56 78")
    assert receipt(again)["counts"]["triage_notes_quoting"] == 1
    assert sorted(n["text"] for n in ctx.state.triage_notes("other")) == kept


def test_erasure_of_a_text_identifier(ctx: ServiceContext, people: dict[str, Mention]) -> None:
    job = start_erasure(ctx, kind="text", identifier="06 12 34 56 78")
    assert receipt(job)["counts"]["mentions"] == {"feed": 1}
    assert "phone" not in _ids(ctx) and len(_ids(ctx)) == 4


@pytest.mark.parametrize("identifier", ["", "   ", "\n\t", "@", "!!!"])
def test_empty_identifiers_are_refused_and_change_nothing(
    ctx: ServiceContext, people: dict[str, Mention], identifier: str
) -> None:
    for kind in ("author", "text"):
        with pytest.raises(ErasureInputError):
            start_erasure(ctx, kind=kind, identifier=identifier)
    assert ctx.governance.erasures() == []
    assert len(_ids(ctx)) == 5


def test_holds_drop_new_posts_by_or_about_the_erased(
    ctx: ServiceContext, people: dict[str, Mention]
) -> None:
    start_erasure(ctx, kind="author", identifier="jdupont")
    start_erasure(ctx, kind="text", identifier="06 12 34 56 78")
    incoming = [
        make_mention(author="JDupont", text="encore moi"),
        make_mention(author="@jdupont", text="et moi"),
        make_mention(author="lea", text="merci @JDupont pour le vélo"),
        make_mention(author="lea", text="mon numéro : 06.12.34.56.78"),
        make_mention(author="lea", text="rien à voir, 06 12 34"),
        make_mention(author="jdupontel", text="un autre compte"),
    ]
    assert held_indices(ctx.governance.holds(), incoming, key=erasure_key(ctx)) == {0, 1, 2, 3}


def test_the_daily_run_happens_once_a_day_across_processes(ctx: ServiceContext) -> None:
    from services.runtime.governance.retention_loop import RetentionScheduler

    ctx.index.upsert(
        [make_mention(id="x-old", source_kind="x", published_at=NOW - timedelta(days=500))]
    )
    first, second = RetentionScheduler(ctx), RetentionScheduler(ctx)
    run = first.run(now=NOW)
    assert run is not None and run.trigger == "daily" and run.deleted["x"] == 1
    assert second.run(now=NOW + timedelta(hours=2)) is None  # the same day: the lease holds
    assert second.run(now=NOW + timedelta(days=1)) is not None
    second.start()
    try:
        upcoming = second.next_run()
        assert upcoming is not None and (upcoming.hour, upcoming.minute) == (3, 30)
    finally:
        second.shutdown()


def test_one_process_at_a_time_runs_an_erasure(
    ctx: ServiceContext, people: dict[str, Mention]
) -> None:
    from services.runtime.governance.erasure import run_erasure, words_hash

    job = ctx.governance.create_erasure(
        kind="author",
        identifier="jdupont",
        identifier_hash=words_hash(["jdupont"]),
        words=1,
        requested_by=None,
    )
    ctx.leases.acquire([f"erasure:{job.id}"], owner="another-process", ttl=60)
    assert run_erasure(ctx, job.id).status == "running"  # left to its holder
    assert len(_ids(ctx)) == 5
    ctx.leases.release(owner="another-process")
    done = run_erasure(ctx, job.id)
    assert done.status == "done" and receipt(done)["counts"]["mentions_total"] == 3


def test_erasure_records_keep_a_keyed_hash_not_a_plain_one(
    ctx: ServiceContext, people: dict[str, Mention], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VEILLE_INSTALLATION_SECRET", raising=False)
    job = start_erasure(ctx, kind="author", identifier="jdupont")
    secret_file = Path(ctx.settings.data_dir) / "installation.secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600  # generated on first use
    secret = secret_file.read_text().strip().encode()
    plain = words_hash(["jdupont"])
    assert job.hash_scheme == KEYED and job.identifier_hash != plain
    assert job.identifier_hash == keyed_hash(secret, plain)
    assert plain not in str(receipt(job))
    incoming = [make_mention(author="@JDupont", text="encore"), make_mention(text="rien")]
    assert held_indices(ctx.governance.holds(), incoming, key=secret) == {0}
    with pytest.raises(ValueError, match="installation secret"):
        held_indices(ctx.governance.holds(), incoming)
    # Another secret (from the environment) gives another record for the same words.
    monkeypatch.setenv("VEILLE_INSTALLATION_SECRET", "x" * 40)
    other = start_erasure(ctx, kind="text", identifier="jdupont")
    assert other.identifier_hash == keyed_hash(b"x" * 40, plain) != job.identifier_hash


def test_plain_hashes_from_before_keep_holding_and_are_rekeyed(
    ctx: ServiceContext, people: dict[str, Mention]
) -> None:
    """Erasures recorded before keyed hashes (migration 0016 marks them `sha256`)."""
    from services.runtime.governance.erasure import run_erasure

    plain = words_hash(["jdupont"])
    legacy = ctx.governance.create_erasure(
        kind="author", identifier="jdupont", identifier_hash=plain, words=1, requested_by=None
    )
    assert run_erasure(ctx, legacy.id).status == "done"
    incoming = [make_mention(author="jdupont", text="de retour")]
    key = erasure_key(ctx)
    assert held_indices(ctx.governance.holds(), incoming, key=key) == {0}

    assert rekey_erasures(ctx) == 1
    rekeyed = ctx.governance.erasure(legacy.id)
    assert rekeyed.hash_scheme == KEYED
    assert rekeyed.identifier_hash == keyed_hash(key, plain)
    assert held_indices(ctx.governance.holds(), incoming, key=key) == {0}  # still holds
    assert rekey_erasures(ctx) == 0
