"""Connection settings for the Elasticsearch backend, read from the environment.

Credentials come from the environment only (never from the index URL shown in
config files or logs): `ELASTICSEARCH_API_KEY`, or `ELASTICSEARCH_USERNAME` and
`ELASTICSEARCH_PASSWORD`. `__repr__` never shows them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, urlsplit, urlunsplit

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, HttpHeaders, Transport, TransportApiResponse
from elastic_transport.client_utils import DEFAULT
from elasticsearch import Elasticsearch

from services.store.contracts import IndexUnavailable

if TYPE_CHECKING:
    from services.core.settings import Settings

DEFAULT_PREFIX: Final = "veille"
DEAD_LETTER_FILE: Final = "elasticsearch-dead-letter.jsonl"
# Only for code that opens a cluster without the installation's settings (benchmarks).
DEFAULT_DEAD_LETTER: Final = f"data/{DEAD_LETTER_FILE}"
DEAD_LETTER_VARIABLE: Final = "ELASTICSEARCH_DEAD_LETTER"
# The servers Veille is tested against (scripts/start-test-elasticsearch.sh runs both).
OLDEST_SUPPORTED: Final = (8, 13)
NEWEST_MAJOR: Final = 9
_COMPAT: Final = re.compile(r"compatible-with=\d+")
_PLAIN_JSON: Final = {"accept": "application/json"}


@dataclass(frozen=True)
class DeadLetterFile:
    """Where the installation's dead-letter file is, and which setting said so."""

    path: str  # absolute: every process resolves it the same way from the same settings
    origin: str  # e.g. "ELASTICSEARCH_DEAD_LETTER", "data_dir (config)"


def dead_letter_file(settings: Settings, env: Mapping[str, str] | None = None) -> DeadLetterFile:
    """The dead-letter file of the installation `settings` are (or derive from, for a
    workspace): ELASTICSEARCH_DEAD_LETTER, else `store.dead_letter_path`, else
    `elasticsearch-dead-letter.jsonl` in the data directory. A relative path is taken from
    the working directory, like the data directory itself, and returned absolute."""
    env = os.environ if env is None else env
    if env.get(DEAD_LETTER_VARIABLE):
        chosen, origin = env[DEAD_LETTER_VARIABLE], DEAD_LETTER_VARIABLE
    elif settings.store.dead_letter_path:
        chosen, origin = settings.store.dead_letter_path, "store.dead_letter_path"
    else:
        chosen, origin = str(Path(settings.data_dir) / DEAD_LETTER_FILE), "data_dir"
    return DeadLetterFile(str(Path(chosen).expanduser().absolute()), origin)


class UnsupportedServer(IndexUnavailable):
    """The cluster runs a version of Elasticsearch that Veille does not support."""


def parse_version(number: str) -> tuple[int, int, int]:
    """`8.19.0` or `9.2.0-SNAPSHOT` as (major, minor, patch)."""
    found = re.match(r"(\d+)\.(\d+)\.(\d+)", number)
    if found is None:
        raise ValueError(f"not an Elasticsearch version number: {number!r}")
    major, minor, patch = (int(part) for part in found.groups())
    return major, minor, patch


def check_supported(version: tuple[int, int, int], url: str) -> None:
    """Refuses a server outside 8.13+ and 9.x, before anything is written to it."""
    if version[:2] < OLDEST_SUPPORTED or version[0] > NEWEST_MAJOR:
        shown = ".".join(map(str, version))
        raise UnsupportedServer(
            f"Elasticsearch {shown} at {url} is not supported: Veille works with "
            f"Elasticsearch {OLDEST_SUPPORTED[0]}.x ({OLDEST_SUPPORTED[0]}.{OLDEST_SUPPORTED[1]}+) "
            f"and {NEWEST_MAJOR}.x"
        )


class NegotiatingTransport(Transport):
    """Sends every request with one `compatible-with` major: the server's, or the client's
    when that is older.

    The `elasticsearch` client asks for responses of its own major on each call (its
    per-call Accept and Content-Type override any default headers), and an 8.x server
    refuses `compatible-with=9` with a 400. The server's version is read once, by the
    first request, with plain JSON headers every version accepts.
    """

    server_version: tuple[int, int, int] | None = None
    _asked = False  # a refused probe is not repeated on every request

    def perform_request(
        self, method: str, target: str, *, headers: Any = DEFAULT, **options: Any
    ) -> TransportApiResponse:
        self.read_version()
        if self.server_version is not None and headers is not DEFAULT and headers:
            major = min(self.server_version[0], _CLIENT_MAJOR)
            headers = HttpHeaders(headers)
            for name in ("accept", "content-type"):
                value = headers.get(name)
                if value:
                    headers[name] = _COMPAT.sub(f"compatible-with={major}", value)
        return super().perform_request(method, target, headers=headers, **options)

    def read_version(self) -> tuple[int, int, int] | None:
        """The server's version, asked once."""
        if self.server_version is None and not self._asked:
            self.server_version = self._ask_version()
            self._asked = True
        return self.server_version

    def _ask_version(self) -> tuple[int, int, int] | None:
        """The server's version (None when it does not say; the request then fails alone).

        The local node's info first: Elastic's test distribution has no `GET /` (its
        rest-root module is left out), and a 405 there would mark the node as failed."""
        for target in (_NODE_VERSION, "/"):
            response = super().perform_request("GET", target, headers=_PLAIN_JSON)
            body: Any = response.body
            if response.meta.status != 200 or not isinstance(body, dict):
                continue
            if target == "/":
                number = body.get("version", {}).get("number")
            else:
                nodes = list(body.get("nodes", {}).values())
                number = nodes[0].get("version") if nodes else None
            if isinstance(number, str):
                return parse_version(number)
        return None


_NODE_VERSION: Final = "/_nodes/_local?filter_path=nodes.*.version"
_CLIENT_MAJOR: Final = parse_version(package_version("elasticsearch"))[0]


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
    # The Kibana full-text fields `title` and `text` (mapping.py): True or False, or None
    # to keep what the existing indices have (off for a new installation).
    kibana_full_text: bool | None = None

    @classmethod
    def from_env(
        cls,
        url: str | None = None,
        env: Mapping[str, str] | None = None,
        *,
        dead_letter_path: str | None = None,
    ) -> EsSettings:
        """Settings from `ELASTICSEARCH_*` variables; `url` overrides ELASTICSEARCH_URL.
        The dead-letter file: ELASTICSEARCH_DEAD_LETTER, else `dead_letter_path` (the
        installation's, `dead_letter_file`), else DEFAULT_DEAD_LETTER."""
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
        # `?prefix=NAME` in the URL (a workspace's own indices) beats the environment.
        in_url = parse_qs(parts.query).get("prefix", [""])[0]
        return cls(
            url=clean,
            index_prefix=in_url or env.get("ELASTICSEARCH_INDEX_PREFIX") or DEFAULT_PREFIX,
            api_key=env.get("ELASTICSEARCH_API_KEY") or None,
            username=username,
            password=password,
            ca_certs=env.get("ELASTICSEARCH_CA_CERTS") or None,
            dead_letter_path=env.get(DEAD_LETTER_VARIABLE)
            or dead_letter_path
            or DEFAULT_DEAD_LETTER,
            kibana_full_text=_flag(env, "ELASTICSEARCH_KIBANA_FULL_TEXT"),
        )

    def client(self) -> Elasticsearch:
        """A client for these settings; retries are ours (bulk.py), so the client's are off.

        Its first request reads the server's version and fixes the compatibility headers
        of every request after it (`NegotiatingTransport`)."""
        options: dict[str, Any] = {
            "transport_class": NegotiatingTransport,
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

    def probe(self, timeout: float) -> None:
        """One request to the cluster, given `timeout` seconds in all and never retried:
        IndexUnavailable when no answer comes or the answer is a server error (not ready).
        Any other answer, a refusal of our missing credentials included, means it is up:
        the requests that follow (with their retries) say what else may be wrong."""
        client = (
            Elasticsearch(self.url, ca_certs=self.ca_certs)
            if self.ca_certs
            else Elasticsearch(self.url)
        )
        try:
            # The transport's own request: no credentials sent, no version negotiated; its
            # limits given here (the client would pass its own on each of its requests).
            status = client.transport.perform_request(
                "GET",
                "/",
                headers=_PLAIN_JSON,
                request_timeout=timeout,
                max_retries=0,
                retry_on_timeout=False,
            ).meta.status
        except (TransportConnectionError, ConnectionTimeout) as error:
            raise IndexUnavailable(
                f"cannot reach Elasticsearch at {self.url} (one try of {timeout:g} s): "
                f"{type(error).__name__}"
            ) from error
        finally:
            client.close()
        if status >= 500:
            raise IndexUnavailable(f"Elasticsearch at {self.url} is not ready: HTTP {status}")


_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    """A yes/no variable; None when unset or empty, ValueError when it is neither."""
    value = env.get(name, "").strip().lower()
    if not value:
        return None
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise ValueError(f"{name} must be true or false, not {env[name]!r}")


def server_version(client: Elasticsearch, url: str) -> tuple[int, int, int]:
    """The version of the server behind `client`, refused when Veille does not support it."""
    transport = client.transport
    version = transport.read_version() if isinstance(transport, NegotiatingTransport) else None
    if version is None:
        # The version probe was refused (credentials?): this request says why.
        answer = client.nodes.info(node_id="_local", metric="_none", filter_path="nodes.*.version")
        nodes = list(answer.body.get("nodes", {}).values())
        if not nodes or not isinstance(nodes[0].get("version"), str):
            raise IndexUnavailable(f"Elasticsearch at {url} does not say its version")
        version = parse_version(nodes[0]["version"])
        if isinstance(transport, NegotiatingTransport):
            transport.server_version = version
    check_supported(version, url)
    return version
