"""Roles, the permissions each one grants, and the permission every API route needs.

One table for the whole API, so what a role may do is read in one place and a route
nobody declared is refused to all but admins (fail closed); `tests/api/test_roles.py`
checks every OpenAPI route is declared here. A GET needs `read` unless listed.

    admin    everything: keys, people, workspaces, the audit log
    analyst  configures: sources, brands, competitors, topics, saved searches, alert
             rules, reports, corrections, re-analysis
    member   reads, triages, keeps their own saved searches
    viewer   reads only
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "analyst", "member", "viewer")

READ = "read"
# Held by admins only; what a write route nobody declared requires.
UNDECLARED = "admin:undeclared-route"

_VIEWER = frozenset({READ})
_MEMBER = _VIEWER | {"triage:write", "saved_searches:write_own"}
_ANALYST = _MEMBER | {
    "sources:write",
    "brands:write",
    "topics:write",
    "saved_searches:write",
    "alert_rules:write",
    "reports:write",
    "corrections:write",
    "reanalysis:write",
}
_ADMIN = _ANALYST | {
    "keys:admin",
    "people:admin",
    "workspaces:admin",
    "audit:read",
    "governance:admin",
    UNDECLARED,
}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": _ADMIN,
    "analyst": _ANALYST,
    "member": _MEMBER,
    "viewer": _VIEWER,
}
ALL_PERMISSIONS = frozenset(_ADMIN)

P = "/api/v1"


@dataclass(frozen=True)
class RouteRule:
    """What a route needs (None: public) and, for a change, what the audit log calls it."""

    permission: str | None
    audit_kind: str | None = None


def _w(permission: str, kind: str) -> RouteRule:
    return RouteRule(permission, kind)


# (METHOD, path template) -> rule. GET routes not listed need `read` and are not audited.
ROUTES: dict[tuple[str, str], RouteRule] = {
    ("GET", f"{P}/health"): RouteRule(None),
    ("GET", f"{P}/alerts/events/{{event_id}}/chart.png"): RouteRule(None),  # token in the URL
    ("POST", f"{P}/sources/preview"): RouteRule("sources:write"),
    ("POST", f"{P}/sources"): _w("sources:write", "source"),
    ("PUT", f"{P}/sources/{{name}}"): _w("sources:write", "source"),
    ("DELETE", f"{P}/sources/{{name}}"): _w("sources:write", "source"),
    ("POST", f"{P}/brands"): _w("brands:write", "brand"),
    ("PUT", f"{P}/brands/{{name}}"): _w("brands:write", "brand"),
    ("DELETE", f"{P}/brands/{{name}}"): _w("brands:write", "brand"),
    ("POST", f"{P}/competitors"): _w("brands:write", "competitor"),
    ("PUT", f"{P}/competitors/{{name}}"): _w("brands:write", "competitor"),
    ("DELETE", f"{P}/competitors/{{name}}"): _w("brands:write", "competitor"),
    ("POST", f"{P}/topics"): _w("topics:write", "topic"),
    ("DELETE", f"{P}/topics/{{name}}"): _w("topics:write", "topic"),
    ("POST", f"{P}/saved-searches"): _w("saved_searches:write_own", "saved search"),
    ("PUT", f"{P}/saved-searches/{{name}}"): _w("saved_searches:write_own", "saved search"),
    ("PATCH", f"{P}/saved-searches/{{name}}"): _w("saved_searches:write_own", "saved search"),
    ("DELETE", f"{P}/saved-searches/{{name}}"): _w("saved_searches:write_own", "saved search"),
    ("POST", f"{P}/alert-rules"): _w("alert_rules:write", "rule"),
    ("POST", f"{P}/alert-rules/backtest"): RouteRule(READ),  # computes, stores nothing
    ("POST", f"{P}/alert-rules/{{name}}/backtest"): RouteRule(READ),
    ("PUT", f"{P}/alert-rules/{{name}}"): _w("alert_rules:write", "rule"),
    ("PATCH", f"{P}/alert-rules/{{name}}"): _w("alert_rules:write", "rule"),
    ("DELETE", f"{P}/alert-rules/{{name}}"): _w("alert_rules:write", "rule"),
    ("POST", f"{P}/alerts/events/{{event_id}}/deliveries/{{channel}}/resend"): _w(
        "alert_rules:write", "alert delivery"
    ),
    ("POST", f"{P}/reports"): _w("reports:write", "report"),
    ("PUT", f"{P}/reports/{{name}}"): _w("reports:write", "report"),
    ("PATCH", f"{P}/reports/{{name}}"): _w("reports:write", "report"),
    ("DELETE", f"{P}/reports/{{name}}"): _w("reports:write", "report"),
    ("POST", f"{P}/reports/{{name}}/renders"): _w("reports:write", "report"),
    ("POST", f"{P}/mentions/{{mention_id}}/sentiment"): _w("corrections:write", "correction"),
    ("POST", f"{P}/mentions/{{mention_id}}/topics"): _w("corrections:write", "correction"),
    ("POST", f"{P}/mentions/{{mention_id}}/brands"): _w("corrections:write", "correction"),
    ("POST", f"{P}/reanalyze"): _w("reanalysis:write", "reanalysis"),
    # tenancy: workspaces, people, keys, audit (services/api/routers/tenancy.py)
    ("GET", f"{P}/workspaces"): RouteRule(READ),
    ("POST", f"{P}/workspaces"): _w("workspaces:admin", "workspace"),
    ("POST", f"{P}/workspaces/{{workspace_id}}/archive"): _w("workspaces:admin", "workspace"),
    ("POST", f"{P}/workspaces/{{workspace_id}}/unarchive"): _w("workspaces:admin", "workspace"),
    ("GET", f"{P}/users"): RouteRule("people:admin"),
    ("POST", f"{P}/users"): _w("people:admin", "person"),
    ("PUT", f"{P}/users/{{name}}/role"): _w("people:admin", "person"),
    ("DELETE", f"{P}/users/{{name}}/role"): _w("people:admin", "person"),
    ("GET", f"{P}/keys"): RouteRule("keys:admin"),
    ("POST", f"{P}/keys"): _w("keys:admin", "key"),
    ("DELETE", f"{P}/keys/{{key_id}}"): _w("keys:admin", "key"),
    ("GET", f"{P}/audit"): RouteRule("audit:read"),
    ("GET", f"{P}/me"): RouteRule(READ),
    # triage (services/api/routers/triage.py): who changed a mention's triage is kept
    # with the triage itself, so these are not audited
    ("PATCH", f"{P}/triage/mentions/{{mention_id}}"): RouteRule("triage:write"),
    ("POST", f"{P}/triage/mentions/{{mention_id}}/notes"): RouteRule("triage:write"),
    ("POST", f"{P}/triage/bulk"): RouteRule("triage:write"),
    # data governance (services/api/routers/governance.py): personal data, admins only
    ("PUT", f"{P}/retention"): _w("governance:admin", "retention"),
    ("POST", f"{P}/retention/runs"): _w("governance:admin", "retention"),
    ("POST", f"{P}/erasures"): _w("governance:admin", "erasure"),
    ("GET", f"{P}/erasures"): RouteRule("governance:admin"),
    ("GET", f"{P}/erasures/{{erasure_id}}"): RouteRule("governance:admin"),
    ("POST", f"{P}/erasures/{{erasure_id}}/lift"): _w("governance:admin", "erasure"),
    ("GET", f"{P}/authors/{{handle}}/data-export"): RouteRule("governance:admin"),
    # ... in any workspace, archived ones too: admins of `default` (the routes check it
    # and write the audit line in that workspace)
    ("POST", f"{P}/workspaces/{{workspace_id}}/erasures"): RouteRule("workspaces:admin"),
    # Deleting a workspace audits itself (its own entries go, one installation-level stays).
    ("DELETE", f"{P}/workspaces/{{workspace_id}}"): RouteRule("workspaces:admin"),
    ("GET", f"{P}/workspaces/{{workspace_id}}/authors/{{handle}}/data-export"): RouteRule(
        "workspaces:admin"
    ),
    ("POST", f"{P}/workspaces/{{workspace_id}}/retention/runs"): RouteRule("workspaces:admin"),
    ("POST", f"{P}/session"): RouteRule(None),  # the login form: checks the password itself
    ("DELETE", f"{P}/session"): RouteRule(None),
    ("PUT", f"{P}/session/workspace"): RouteRule(READ),  # to a workspace of the person's
    # OIDC sign-in: the provider's round trip, checked by state, PKCE and the ID token
    ("GET", f"{P}/session/providers"): RouteRule(None),
    ("GET", f"{P}/session/oidc"): RouteRule(None),
    ("GET", f"{P}/session/oidc/callback"): RouteRule(None),
}


def route_rule(method: str, path: str) -> RouteRule:
    """The rule of a route (its path template as FastAPI writes it); fail closed."""
    method = "GET" if method == "HEAD" else method.upper()
    rule = ROUTES.get((method, path))
    if rule is not None:
        return rule
    return RouteRule(READ) if method == "GET" else RouteRule(UNDECLARED)


def is_declared(method: str, path: str) -> bool:
    """Whether the route is in the table (every write route must be)."""
    method = "GET" if method == "HEAD" else method.upper()
    return method == "GET" or (method, path) in ROUTES


def role_allows(role: str, permission: str) -> bool:
    """Whether `role` holds `permission`; unknown roles hold nothing."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def check_role(role: str) -> str:
    """Returns `role` if it exists; ValueError naming the roles otherwise."""
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


@dataclass(frozen=True)
class Principal:
    """Who is calling: through a key (of a user or a service) or a user's session."""

    workspace: str
    role: str
    key_id: str | None = None
    key_name: str | None = None
    user: str | None = None
    service: str | None = None

    @property
    def actor(self) -> str:
        """The name the audit log records."""
        return self.user or self.service or self.key_name or "local"

    @property
    def actor_kind(self) -> str:
        """user, service, key (a key from before people existed) or local (keys off)."""
        if self.user:
            return "user"
        if self.service:
            return "service"
        return "key" if self.key_id else "local"

    def can(self, permission: str) -> bool:
        """Whether this principal's role holds `permission`."""
        return role_allows(self.role, permission)

    @property
    def is_installation_admin(self) -> bool:
        """An admin of `default`, the installation's own workspace: they manage every
        workspace and its people (the store's DEFAULT_WORKSPACE; core does not import it)."""
        return self.workspace == "default" and self.role == "admin"


LOCAL_ADMIN = Principal(workspace="default", role="admin")
