"""The Elasticsearch mention index: one cluster shared by every Veille process."""

from services.store.elastic.dead_letters import redrive
from services.store.elastic.index import EsIndex
from services.store.elastic.settings import EsSettings

__all__ = ["EsIndex", "EsSettings", "redrive"]
