"""The dead-letter file: each line records its workspace's index, and `veille store
dead-letters` lists, re-drives (each mention into its own workspace's index) and drops
them without ever losing one.

Refusals are real: each workspace's first index is made with a mapping that refuses text
authors (`kw_author: long`), and a rollover (the template's mapping) is the fix."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core.models import Mention
from services.store.contracts import IndexUnavailable
from services.store.elastic import EsIndex, EsSettings
from services.store.elastic.dead_letters import (
    append_lines,
    read_letters,
    redrive_file,
    write_dead_letters,
)
from services.store.elastic.mapping import IndexNames
from tests.cli_runner import veille
from tests.e2e.service import write_workspace
from tests.factories import make_mention
from tests.store.conftest import ElasticEndpoint, fresh_settings

pytestmark = pytest.mark.elasticsearch
HANDLE = "Zoé Quintal"  # must never show in the commands' output


@pytest.fixture
def base(elastic_endpoint: ElasticEndpoint, tmp_path: Path) -> Iterator[EsSettings]:
    """Settings of the default workspace's indices, under a prefix of this test's own."""
    settings = fresh_settings(
        elastic_endpoint, label="dl", dead_letter=tmp_path / "dead-letter.jsonl"
    )
    yield settings
    for prefix in (settings.index_prefix, f"{settings.index_prefix}-ws-acme"):
        index = EsIndex(dataclasses.replace(settings, index_prefix=prefix))
        index.drop()
        index.close()


def refusing(settings: EsSettings) -> EsIndex:
    """The index of `settings`, whose first index refuses text authors."""
    names = IndexNames(settings.index_prefix)
    client = settings.client()
    client.indices.create(
        index=names.first_index,
        aliases={names.alias: {"is_write_index": True}},
        mappings={"properties": {"kw_author": {"type": "long"}}},
    )
    client.close()
    return EsIndex(settings)


def test_each_workspace_s_refusals_go_back_to_its_own_index(
    base: EsSettings, tmp_path: Path
) -> None:
    acme = dataclasses.replace(base, index_prefix=f"{base.index_prefix}-ws-acme")
    config = write_workspace(tmp_path / "ws", sources=[])
    env = {
        "ELASTICSEARCH_INDEX_PREFIX": base.index_prefix,
        "ELASTICSEARCH_DEAD_LETTER": base.dead_letter_path,
        "VEILLE_STORE__INDEX_URL": base.url,
    }
    for name in ("ELASTICSEARCH_API_KEY", "ELASTICSEARCH_USERNAME", "ELASTICSEARCH_PASSWORD"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    created = veille("workspaces", "create", "acme", "--config", str(config), env=env)
    assert created.returncode == 0, created.stderr

    indices = {"default": refusing(base), "acme": refusing(acme)}
    try:
        for workspace, index in indices.items():
            ok = make_mention(id=f"{workspace}-ok", author=None)
            bad = [make_mention(id=f"{workspace}-bad{n}", author=HANDLE) for n in range(2)]
            assert index.upsert([ok, *bad]) == 1
        records = [json.loads(x) for x in Path(base.dead_letter_path).read_text().splitlines()]
        assert sorted((r["workspace"], r["index"], r["mention"]["id"]) for r in records) == [
            ("acme", acme.index_prefix, "acme-bad0"),
            ("acme", acme.index_prefix, "acme-bad1"),
            ("default", base.index_prefix, "default-bad0"),
            ("default", base.index_prefix, "default-bad1"),
        ]

        listed = veille("store", "dead-letters", "list", env=env)
        assert listed.returncode == 0, listed.stderr
        assert "4 mention(s) held" in listed.stdout
        assert "parsing_exception (field kw_author)" in listed.stdout
        as_json = json.loads(veille("store", "dead-letters", "list", "--json", env=env).stdout)
        assert {(w["workspace"], w["mentions"]) for w in as_json["workspaces"]} == {
            ("default", 2),
            ("acme", 2),
        }

        indices["default"].rollover()  # the default workspace's cause is fixed, not acme's
        first = veille(
            "store", "dead-letters", "retry", "--only", "default", "--config", str(config),
            env=env,
        )  # fmt: skip
        assert first.returncode == 0, first.stdout + first.stderr  # acme's were not asked for
        assert "wrote 2 mention(s); 2 left" in first.stdout
        refused = veille("store", "dead-letters", "retry", "--config", str(config), env=env)
        assert refused.returncode == 1  # acme's are refused again
        assert "wrote 0 mention(s); 2 left" in refused.stdout
        assert indices["default"].get("default-bad0") is not None
        assert indices["acme"].get("default-bad0") is None  # not in the other workspace
        left = read_letters(base.dead_letter_path)
        assert sorted(x.mention.id for x in left if x.mention) == ["acme-bad0", "acme-bad1"]
        assert {x.workspace for x in left} == {"acme"}

        indices["acme"].rollover()
        second = veille("store", "dead-letters", "retry", "--config", str(config), env=env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "wrote 2 mention(s); 0 left" in second.stdout
        assert indices["acme"].get("acme-bad1") is not None
        assert indices["default"].get("acme-bad1") is None
        assert read_letters(base.dead_letter_path) == []
        for result in (listed, first, refused, second):
            assert HANDLE not in result.stdout + result.stderr
            assert "Zo" not in result.stdout + result.stderr
            assert "Traceback" not in result.stderr
    finally:
        for index in indices.values():
            index.close()


def test_erased_unrecorded_and_unreachable(base: EsSettings, tmp_path: Path) -> None:
    """An erasure since the refusal drops the mention; lines of an older version (no
    index) wait for --unrecorded-into; a cluster down keeps every line."""
    config = write_workspace(tmp_path / "ws", sources=[])
    env = {
        "ELASTICSEARCH_INDEX_PREFIX": base.index_prefix,
        "ELASTICSEARCH_DEAD_LETTER": base.dead_letter_path,
        "VEILLE_STORE__INDEX_URL": base.url,
    }
    index = refusing(base)
    try:
        erased = make_mention(id="erased", author=HANDLE)
        kept = make_mention(id="kept", author="someone else")
        assert index.upsert([erased, kept]) == 0
        legacy = make_mention(id="legacy", author="a third one")
        append_lines(
            base.dead_letter_path,
            [json.dumps({"at": "2026-01-01T00:00:00+00:00", "status": 400, "error": "{}",
                         "mention": legacy.model_dump(mode="json")})],
        )  # fmt: skip
        index.rollover()

        down = {**env, "VEILLE_STORE__INDEX_URL": "http://127.0.0.1:1"}
        failed = veille("store", "dead-letters", "retry", "--config", str(config), env=down)
        assert failed.returncode == 1
        assert "cannot open its index" in failed.stdout
        assert len(read_letters(base.dead_letter_path)) == 3  # nothing lost

        gone = veille("erase", "--author", HANDLE, "--config", str(config), env=env)
        assert gone.returncode == 0, gone.stderr
        retried = veille("store", "dead-letters", "retry", "--config", str(config), env=env)
        assert retried.returncode == 1  # the legacy line is left
        assert "1 erased, dropped" in retried.stdout
        assert index.get("erased") is None and index.get("kept") == kept
        assert [x.mention.id for x in read_letters(base.dead_letter_path) if x.mention] == [
            "legacy"
        ]
        into = veille(
            "store", "dead-letters", "retry", "--unrecorded-into", "default",
            "--config", str(config), env=env,
        )  # fmt: skip
        assert into.returncode == 0, into.stdout + into.stderr
        assert index.get("legacy") == legacy
        assert read_letters(base.dead_letter_path) == []
    finally:
        index.close()


def test_lines_appended_or_interrupted_during_a_redrive_are_kept(
    base: EsSettings, tmp_path: Path
) -> None:
    path = str(tmp_path / "dl.jsonl")
    index = refusing(base)
    try:
        assert index.upsert([make_mention(id="a", author="x")], dead_letter_path=path) == 0
        index.rollover()
        late = make_mention(id="late", author="y")

        def target(prefix: str | None) -> EsIndex | str:
            # Another process refuses a mention while this one re-drives.
            from services.store.elastic.bulk import ItemFailure

            write_dead_letters(
                path, [ItemFailure("late", late, 400, "{}")], index_prefix=base.index_prefix
            )
            return index

        report = redrive_file(path, target)
        assert (report.written, report.left) == (1, 0)
        assert [x.mention.id for x in read_letters(path) if x.mention] == ["late"]

        def interrupted(prefix: str | None) -> EsIndex | str:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            redrive_file(path, interrupted)
        assert [x.mention.id for x in read_letters(path) if x.mention] == ["late"]
        assert not Path(f"{path}.redriving").exists()

        def down(prefix: str | None) -> EsIndex | str:
            class Down(EsIndex):
                def upsert(self, mentions: object, **_: object) -> int:
                    raise IndexUnavailable("Elasticsearch cannot be reached")

            return Down(base)

        report = redrive_file(path, down)
        assert report.left == 1 and "cannot be reached" in report.groups[0].note
        assert [x.mention.id for x in read_letters(path) if x.mention] == ["late"]
    finally:
        index.close()


def test_drop_deletes_only_the_chosen_workspace(tmp_path: Path) -> None:
    path = str(tmp_path / "dl.jsonl")
    from services.store.elastic.bulk import ItemFailure

    for prefix, mid in (("veille", "d1"), ("veille-ws-acme", "a1"), ("veille-ws-acme", "a2")):
        failure = ItemFailure(mid, make_mention(id=mid), 400, '{"type": "x"}')
        write_dead_letters(path, [failure], index_prefix=prefix)
    env = {"ELASTICSEARCH_DEAD_LETTER": path}
    refused = veille("store", "dead-letters", "drop", env=env)
    assert refused.returncode == 2 and "--only WORKSPACE" in refused.stderr
    dropped = veille("store", "dead-letters", "drop", "--only", "acme", env=env)
    assert dropped.returncode == 0, dropped.stderr
    assert "dropped 2 mention(s) of workspace acme" in dropped.stdout
    left: list[Mention] = [x.mention for x in read_letters(path) if x.mention]
    assert [m.id for m in left] == ["d1"]


def test_the_file_is_the_data_dirs_whatever_the_working_directory(
    base: EsSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ELASTICSEARCH_DEAD_LETTER, the service writes into its data directory, every
    workspace into the installation's one file, and `list` run from elsewhere reads it
    there and says so."""
    from services.core.workspace import load_workspace
    from services.runtime.app.context import ServiceContext
    from services.runtime.app.workspaces import workspace_settings

    monkeypatch.delenv("ELASTICSEARCH_DEAD_LETTER", raising=False)
    monkeypatch.setenv("ELASTICSEARCH_INDEX_PREFIX", base.index_prefix)
    config = write_workspace(tmp_path / "ws", sources=[], store={"index_url": base.url})
    settings = load_workspace(config).settings
    expected = tmp_path / "ws" / "data" / "elasticsearch-dead-letter.jsonl"
    assert workspace_settings(settings, "acme").store.dead_letter_path == str(expected)
    refusing(base).close()  # its first index refuses text authors
    ctx = ServiceContext(settings)
    try:
        bad = [make_mention(id=f"bad{n}", author=HANDLE) for n in range(2)]
        assert ctx.index.upsert(bad) == 0
    finally:
        ctx.close()
    assert len(read_letters(str(expected))) == 2

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"ELASTICSEARCH_INDEX_PREFIX": base.index_prefix}
    listed = veille(
        "store", "dead-letters", "list", "--config", str(config), env=env, cwd=elsewhere
    )
    assert listed.returncode == 0, listed.stderr
    said = " ".join(listed.stdout.split())
    assert f"2 mention(s) held in {expected} (from data_dir in {config})" in said, said
    as_json = json.loads(
        veille(
            "store", "dead-letters", "list", "--json", "--config", str(config),
            env=env, cwd=elsewhere,
        ).stdout
    )  # fmt: skip
    assert (as_json["file"], as_json["mentions"]) == (str(expected), 2)
    assert as_json["file_from"] == f"data_dir in {config}"
    assert not (elsewhere / "data").exists()
    # The variable still wins, and is named.
    other = tmp_path / "other.jsonl"
    moved = veille(
        "store", "dead-letters", "list", "--config", str(config),
        env={**env, "ELASTICSEARCH_DEAD_LETTER": str(other)}, cwd=elsewhere,
    )  # fmt: skip
    assert f"no mentions held in {other} (from ELASTICSEARCH_DEAD_LETTER)" in " ".join(
        moved.stdout.split()
    )
