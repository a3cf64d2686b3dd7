"""Which connectors exist: the built-ins and the plugins registered by entry point.

A third-party package adds a connector without touching Veille (Netflix/dispatch):

    [project.entry-points."veille.connectors"]
    mastodon_plus = "my_package.connector:MyConnector"

The entry point's name is the kind; it loads a class (or factory) that makes a
`Connector` when called without arguments. A built-in kind cannot be replaced by a
plugin, and a plugin that fails to load is listed as disabled with the reason.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from services.collector.social.base import Connector, NotConfigured

logger = logging.getLogger("veille.collector.social")

ENTRY_POINT_GROUP = "veille.connectors"

BUILTINS: Mapping[str, str] = {
    "hackernews": "services.collector.social.hackernews:HackerNewsConnector",
    "mastodon": "services.collector.social.mastodon:MastodonConnector",
    "bluesky": "services.collector.social.bluesky:BlueskyConnector",
    "reddit": "services.collector.social.reddit:RedditConnector",
    "youtube": "services.collector.social.youtube:YouTubeConnector",
    "x": "services.collector.social.x:XConnector",
}

Factory = Callable[[], Connector]


class UnknownKind(KeyError):
    """No built-in or plugin connector has this kind."""


@dataclass(frozen=True)
class KindInfo:
    """A connector kind as `veille sources kinds` and the API show it."""

    kind: str
    origin: str  # "builtin" or "plugin:<distribution>"
    enabled: bool
    reason: str | None = None  # why it is disabled


def _load(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _plugins() -> list[tuple[str, str, Callable[[], Any]]]:
    """(kind, origin, loader) for every entry point in the group."""
    found = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        dist = point.dist.name if point.dist is not None else "unknown"
        found.append((point.name, f"plugin:{dist}", point.load))
    return found


def _catalogue() -> dict[str, tuple[str, Callable[[], Any]]]:
    """kind -> (origin, loader of the factory)."""
    kinds: dict[str, tuple[str, Callable[[], Any]]] = {
        kind: ("builtin", functools.partial(_load, target)) for kind, target in BUILTINS.items()
    }
    for kind, origin, loader in _plugins():
        if kind in kinds:
            logger.warning("ignoring plugin connector %s from %s: the kind is taken", kind, origin)
            continue
        kinds[kind] = (origin, loader)
    return kinds


def kinds() -> list[str]:
    """Every known kind, built-ins first."""
    return list(_catalogue())


def create(kind: str) -> Connector:
    """A new, unconfigured connector of `kind`; UnknownKind when there is none."""
    catalogue = _catalogue()
    if kind not in catalogue:
        raise UnknownKind(kind)
    _origin, loader = catalogue[kind]
    connector = loader()()
    if not isinstance(connector, Connector):
        raise TypeError(f"the {kind} connector does not implement Connector")
    return connector


def available_kinds(
    *,
    env: Mapping[str, str] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[KindInfo]:
    """Each kind, enabled or disabled with the reason, for the environment given."""
    environment = os.environ if env is None else env
    infos = []
    for kind, (origin, loader) in _catalogue().items():
        try:
            connector = loader()()
            if not isinstance(connector, Connector):
                raise TypeError("it does not implement Connector")
            connector.configure((options or {}).get(kind, {}), environment)
        except NotConfigured as error:
            infos.append(KindInfo(kind, origin, enabled=False, reason=str(error)))
        except Exception as error:  # a broken plugin must not hide the others
            reason = f"cannot load: {type(error).__name__}: {error}"[:200]
            infos.append(KindInfo(kind, origin, enabled=False, reason=reason))
        else:
            infos.append(KindInfo(kind, origin, enabled=True))
    return infos
