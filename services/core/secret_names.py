"""The secret names Veille reads itself: never a workspace's alert target or report recipient.

One list, so that the rule in services/alerting/secret_scope.py cannot fall behind the code:
tests/api/test_secret_scope.py greps services/ for every name read through `resolve_secret`,
`env_value` or `os.environ` and fails when one is missing here. The names configured in
the settings (the SMTP login, the OpenID client secret) are added by `SecretScope.of`.
"""

from __future__ import annotations

SECRETS_FILE_VARIABLE = "VEILLE_SECRETS_FILE"
INSTALLATION_SECRET = "VEILLE_INSTALLATION_SECRET"  # the HMAC key of erasure records

# Social collectors (services/collector/social/*.py): credentials and endpoints.
_COLLECTOR_KINDS = ("x", "reddit", "bluesky", "mastodon", "youtube", "hackernews")
COLLECTOR_SECRET_NAMES = frozenset(
    {
        "VEILLE_X_BEARER_TOKEN",
        "VEILLE_REDDIT_CLIENT_ID",
        "VEILLE_REDDIT_CLIENT_SECRET",
        "VEILLE_REDDIT_USER_AGENT",
        "VEILLE_REDDIT_AUTH_URL",
        "VEILLE_BLUESKY_IDENTIFIER",
        "VEILLE_BLUESKY_APP_PASSWORD",
        "VEILLE_BLUESKY_AUTH_URL",
        "VEILLE_BLUESKY_TOKEN",
        "VEILLE_MASTODON_TOKEN",
        "VEILLE_YOUTUBE_API_KEY",
    }
    | {f"VEILLE_{kind.upper()}_BASE_URL" for kind in _COLLECTOR_KINDS}
)

INSTALLATION_SECRET_NAMES = frozenset(
    {
        SECRETS_FILE_VARIABLE,
        INSTALLATION_SECRET,
        "VEILLE_WORKSPACE",
        "VEILLE_CONFIG",
        "VEILLE_USER",
        "VEILLE_NEW_PASSWORD",
        "VEILLE_BASE_DATA",
        "VEILLE_MODEL_CACHE",
        # The store's connection (services/store/elastic/settings.py), and the deployment's
        # database password (deploy/docker-compose.yml): keys a secrets file may well hold.
        "ELASTICSEARCH_URL",
        "ELASTICSEARCH_USERNAME",
        "ELASTICSEARCH_PASSWORD",
        "ELASTICSEARCH_API_KEY",
        "ELASTICSEARCH_CA_CERTS",
        "ELASTICSEARCH_INDEX_PREFIX",
        "ELASTICSEARCH_DEAD_LETTER",
        "POSTGRES_PASSWORD",
    }
    | COLLECTOR_SECRET_NAMES
)
