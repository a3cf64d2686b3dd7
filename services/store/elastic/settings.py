"""Connection settings for the Elasticsearch backend, read from the environment.

Credentials come from the environment only (never from the index URL shown in
config files or logs): `ELASTICSEARCH_API_KEY`, or `ELASTICSEARCH_USERNAME` and
`ELASTICSEARCH_PASSWORD`. `__repr__` never shows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from elasticsearch import Elasticsearch

DEFAULT_PREFIX: Final = "veille"
DEFAULT_DEAD_LETTER: Final = "data/elasticsearch-dead-letter.jsonl"
# The 9.x client asks for 9.x responses by default, which an 8.x server refuses. Asking
# for 8.x works on both: 9.x servers answer requests made for the previous major.
_COMPAT_HEADERS: Final = {
    "accept": "application/vnd.elasticsearch+json; compatible-with=8",
    "content-type": "application/vnd.elasticsearch+json; compatible-with=8",
}


@dataclass(frozen=True)
class EsSettings:
    """Where the cluster is, how to log in, and how to name Veille's indices."""

    url: str
    index_prefix: str = DEFAULT_PREFIX
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    dead_letter_path: str = DEFAULT_DEAD_LETTER
    request_timeout: float = 30.0

    @classmethod
    def from_env(cls, url: str | None = None, env: Mapping[str, str] | None = None) -> EsSettings:
        """Settings from `ELASTICSEARCH_*` variables; `url` overrides ELASTICSEARCH_URL."""
        env = os.environ if env is None else env
        chosen = url or env.get("ELASTICSEARCH_URL")
        if not chosen:
            raise ValueError("no Elasticsearch URL: set ELASTICSEARCH_URL or index_url")
        parts = urlsplit(chosen)
        username = env.get("ELASTICSEARCH_USERNAME") or parts.username
        password = env.get("ELASTICSEARCH_PASSWORD") or parts.password
        # Credentials written in the URL are moved out of it, so the URL can be logged.
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        clean = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        return cls(
            url=clean,
            index_prefix=env.get("ELASTICSEARCH_INDEX_PREFIX") or DEFAULT_PREFIX,
            api_key=env.get("ELASTICSEARCH_API_KEY") or None,
            username=username,
            password=password,
            ca_certs=env.get("ELASTICSEARCH_CA_CERTS") or None,
            dead_letter_path=env.get("ELASTICSEARCH_DEAD_LETTER") or DEFAULT_DEAD_LETTER,
        )

    def client(self) -> Elasticsearch:
        """A client for these settings; retries are ours (bulk.py), so the client's are off."""
        options: dict[str, Any] = {
            "headers": dict(_COMPAT_HEADERS),
            "request_timeout": self.request_timeout,
            "max_retries": 0,
            "retry_on_timeout": False,
        }
        if self.api_key:
            options["api_key"] = self.api_key
        elif self.username and self.password is not None:
            options["basic_auth"] = (self.username, self.password)
        if self.ca_certs:
            options["ca_certs"] = self.ca_certs
        return Elasticsearch(self.url, **options)
