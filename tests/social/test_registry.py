"""Built-in kinds, enabled/disabled with reasons, and plugins found by entry point."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.collector.social.base import Connector
from services.collector.social.registry import (
    ENTRY_POINT_GROUP,
    UnknownKind,
    available_kinds,
    create,
    kinds,
)

FAKE_MODULE = '''
from services.collector.social.base import Page, RequestSpec
from services.collector.social.query_pushdown import Pushdown


class FakeForumConnector:
    """A FAKE third-party connector, installed only for this test."""

    kind = "fakeforum"
    pushdown = Pushdown()

    def configure(self, source_options, env):
        pass

    def build_request(self, query, *, since, page):
        return RequestSpec(url="https://forum.invalid/search")

    def parse_response(self, status, headers, body, *, request):
        return Page()
'''


@pytest.fixture
def fake_distribution(tmp_path: Path) -> Iterator[None]:
    """A FAKE installed distribution ('fake-veille-plugin') on sys.path, with entry points
    in the 'veille.connectors' group: one that loads, one that is broken, and one that
    tries to take a built-in kind."""
    (tmp_path / "fake_veille_plugin.py").write_text(FAKE_MODULE)
    info = tmp_path / "fake_veille_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-veille-plugin\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n"
        "fakeforum = fake_veille_plugin:FakeForumConnector\n"
        "brokenforum = fake_veille_plugin_missing:Nothing\n"
        "reddit = fake_veille_plugin:FakeForumConnector\n"
    )
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("fake_veille_plugin", None)
        importlib.invalidate_caches()


def test_builtins_and_their_state_without_credentials() -> None:
    infos = {info.kind: info for info in available_kinds(env={})}
    assert list(infos)[:6] == ["hackernews", "mastodon", "bluesky", "reddit", "youtube", "x"]
    assert {k for k, i in infos.items() if i.enabled} >= {"hackernews", "mastodon", "bluesky"}
    assert not infos["x"].enabled and infos["x"].reason is not None
    assert all(i.origin == "builtin" for k, i in infos.items() if k in ("x", "reddit"))


def test_every_builtin_implements_the_protocol() -> None:
    for kind in kinds():
        assert isinstance(create(kind), Connector)
    with pytest.raises(UnknownKind):
        create("myspace")


def test_a_plugin_registered_by_entry_point_is_listed(fake_distribution: None) -> None:
    infos = {info.kind: info for info in available_kinds(env={})}
    assert infos["fakeforum"].enabled
    assert infos["fakeforum"].origin == "plugin:fake-veille-plugin"
    assert create("fakeforum").kind == "fakeforum"
    broken = infos["brokenforum"]
    assert not broken.enabled and broken.reason is not None
    assert broken.reason.startswith("cannot load: ModuleNotFoundError")
    assert infos["reddit"].origin == "builtin"  # a plugin cannot replace a built-in


def test_a_plugin_appears_in_the_cli_and_the_api(
    fake_distribution: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`veille sources kinds` (a subprocess, as a user runs it) and GET /sources/kinds."""
    from services.api.routers.sources import list_kinds
    from tests.cli_runner import REPO, veille

    # The FAKE distribution is importable.
    result = veille("sources", "kinds", env={"PYTHONPATH": f"{REPO}:{tmp_path}"}, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if "│" in line[:3]}
    assert "plugin:fake-veille-plugin" in lines["fakeforum"] and "enabled" in lines["fakeforum"]
    assert "disabled: cannot load" in lines["brokenforum"]

    monkeypatch.delenv("VEILLE_REDDIT_CLIENT_ID", raising=False)
    by_kind = {k["kind"]: k for k in list_kinds()}
    assert by_kind["fakeforum"] == {
        "kind": "fakeforum",
        "origin": "plugin:fake-veille-plugin",
        "enabled": True,
        "reason": None,
    }
    assert by_kind["reddit"]["origin"] == "builtin"  # a plugin cannot take a built-in kind
