"""The running service's parts, opened once and shared by the CLI, the API and workers.

Each part opens lazily: `veille api` never loads the analyzer's models, and
`veille config check` opens nothing at all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from services.core.settings import Settings
from services.core.workspace import Workspace
from services.store.contracts import IndexUnavailable, MentionIndex, open_index, probe_index
from services.store.state.contract import StateStore

if TYPE_CHECKING:
    from services.analyzer.brands.disambiguation import Correction
    from services.analyzer.pipeline import Analyzer
    from services.runtime.app.topic_store import WorkspaceTaxonomy
    from services.store.state.database import StateDatabase
    from services.store.state.governance import GovernanceStore
    from services.store.state.leases import LeaseStore

log = logging.getLogger("veille.runtime")

#: Seconds a failed opening of the mention index is remembered: within them, asking for the
#: index fails at once rather than waiting out the client's retries again (about 5 s), so
#: /health answers a load balancer's probe quickly while Elasticsearch is down.
INDEX_RETRY_PAUSE = 10.0
#: Seconds health's own look at the index's server may take (one request, no retries),
#: before it asks the index: a probe answers within about this while Elasticsearch is
#: down, even in the moment the pause above is over.
INDEX_PROBE_TIMEOUT = 0.5


class ServiceContext:
    """Settings, workspace and the stores and analyzer built from them."""

    # Which workspace of the installation this is (services/runtime/app/workspaces.py).
    workspace_id: str = "default"

    def __init__(self, settings: Settings, workspace: Workspace | None = None) -> None:
        self.settings = settings
        self.workspace = workspace or Workspace()
        self._lock = threading.Lock()
        self._closed = False
        # Rebuilding the tagger reads every corrected passage again (their vectors are
        # kept: Analyzer's PassageCache): requests that come while one rebuild runs mark
        # it dirty and return; the rebuilding thread goes round once more (see
        # brands_changed), so no request thread waits on another's rebuild.
        self._tagger_lock = threading.Lock()
        self._tagger_dirty = False
        self.sources_changed: list[Callable[[], None]] = []
        # The sources this process's own collector schedules (`veille up`), for /health;
        # None when it runs none (`veille collect` processes are counted by their leases).
        self.local_collector: Callable[[], list[str]] | None = None
        # When opening the index last failed, and why (see INDEX_RETRY_PAUSE).
        self._index_failure: tuple[float, str] | None = None
        self.clock: Callable[[], float] = time.monotonic
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)

    @cached_property
    def database(self) -> StateDatabase:
        """The state database, migrated to the current schema: one engine (connection
        pool) shared by the state store, the leases, governance and the tenancy register."""
        from services.store.state.database import StateDatabase

        return StateDatabase(self.settings.store.state_url, migrate=True)

    @cached_property
    def state(self) -> StateStore:
        """The state store, on the workspace's state database."""
        from services.store.state import open_state

        return open_state(self.database)

    @cached_property
    def leases(self) -> LeaseStore:
        """Leases on work shared with other processes."""
        from services.store.state.leases import LeaseStore

        return LeaseStore(self.database)

    @cached_property
    def governance(self) -> GovernanceStore:
        """Retention policies and runs, erasure jobs."""
        from services.store.state.governance import GovernanceStore

        return GovernanceStore(self.database)

    @cached_property
    def index(self) -> MentionIndex:
        """The mention index (kept once opened; a failure is not kept, only remembered
        for INDEX_RETRY_PAUSE seconds)."""
        from services.store.elastic.settings import dead_letter_file

        failure = self._index_failure
        if failure is not None and self.clock() - failure[0] < INDEX_RETRY_PAUSE:
            raise IndexUnavailable(failure[1])
        try:
            index = open_index(
                self.settings.store.index_url,
                dead_letter_path=dead_letter_file(self.settings).path,
            )
        except IndexUnavailable as exc:
            self._index_failure = (self.clock(), str(exc))
            raise
        self._index_failure = None
        return index

    def probe_index(self) -> None:
        """Health's look at the index's server: IndexUnavailable unless it answers one
        request within INDEX_PROBE_TIMEOUT. It leaves the index alone: opening it, its
        retries and their pause stay those of the work that needs it."""
        probe_index(self.settings.store.index_url, timeout=INDEX_PROBE_TIMEOUT)

    @cached_property
    def analyzer(self) -> Analyzer:
        """The analyzer, tagging with the brands and competitors the state store holds."""
        from services.analyzer.pipeline import Analyzer
        from services.analyzer.sentiment.head_store import analyzer_french_head, analyzer_head
        from services.runtime.app.story_memory import recall_stories

        analyzer = Analyzer(
            self.settings.analyzer,
            brands=self.state.list_brands(),
            competitors=self.state.list_competitors(),
            taxonomy=self.taxonomy,
            head=analyzer_head(self.settings.analyzer, self.settings.data_dir),
            french_head=analyzer_french_head(self.settings.data_dir),
            brand_corrections=self.brand_corrections(),
        )
        recall_stories(analyzer.stories, self.index)
        return analyzer

    @property
    def taxonomy(self) -> WorkspaceTaxonomy:
        """The topics: the workspace YAML's, then those added through the API."""
        from services.runtime.app.topic_store import WorkspaceTaxonomy

        return WorkspaceTaxonomy(
            self.workspace.topics,
            data_dir=self.settings.data_dir,
            embedding=self.settings.analyzer.embedding,
        )

    def sync_workspace(self) -> None:
        """Makes the state store's config-owned sources and brands match the YAML files."""
        self.state.sync_workspace(
            sources=self.workspace.sources,
            brands=self.workspace.brands,
            competitors=self.workspace.competitors,
        )

    def brand_corrections(self) -> list[Correction]:
        """The analysts' current verdicts on whether mentions are about a brand."""
        from services.analyzer.brands.disambiguation import Correction

        return [
            Correction(record["brand"], record["text"], bool(record["label"]["about_brand"]))
            for record in self.state.current_corrections(field="brand")
        ]

    def brands_changed(self) -> None:
        """Rebuilds the brand tagger after brands, competitors or brand corrections
        changed."""
        if "analyzer" not in self.__dict__:
            return
        with self._lock:
            self._tagger_dirty = True
        while self._tagger_lock.acquire(blocking=False):
            try:
                while True:
                    with self._lock:
                        if not self._tagger_dirty:
                            break
                        self._tagger_dirty = False
                    self.analyzer.update_workspace(
                        self.state.list_brands(),
                        self.state.list_competitors(),
                        self.brand_corrections(),
                    )
            finally:
                self._tagger_lock.release()
            with self._lock:  # a request may have come between the last check and release
                if not self._tagger_dirty:
                    return

    def notify_sources_changed(self) -> None:
        """Tells the scheduler (when one runs) to pick up added or removed sources."""
        for callback in self.sources_changed:
            try:
                callback()
            except Exception:
                log.exception("could not apply the source change to the scheduler")

    def close(self) -> None:
        """Closes whatever was opened."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for name in ("index", "governance", "leases", "state", "database"):
            part = self.__dict__.get(name)
            if part is not None:
                part.close()
