"""Which secret names a workspace may use as alert channel targets and report recipients.

A channel or report names the secret holding an address or URL; the value is read from the
environment or the secrets file when a message is sent. Without a rule, any workspace could
name any variable: acme's analyst could mail a report to the `default` workspace's list
(`VEILLE_REPORT_TO`) or to `HOME`. The rule, the same at creation and at delivery:

1. The name must be a Veille secret name: `VEILLE_` followed by capitals, digits and `_`
   (never `__`: those are settings variables such as `VEILLE_STORE__STATE_URL`), or a key of
   the secrets file (`VEILLE_SECRETS_FILE`). `HOME`, `PATH` or any other variable never are.
   The secrets Veille reads itself are never targets, whatever the workspace: those listed
   in services/core/secret_names.py (`VEILLE_INSTALLATION_SECRET`, the collectors'
   credentials, the store's, `VEILLE_SECRETS_FILE`...) and the SMTP login and OpenID client
   secret the settings name. A key of the secrets file is one only when it is none of them.
2. A workspace may use only the names its YAML lists under `secrets:`. The `default`
   workspace without a `secrets:` list may use every Veille secret name, as before.
   The channels of the brands' default rules (`alerting.brand_rules.channels`) are the
   installation admin's choice, not a workspace's: they deliver in every workspace.

The check never depends on whether a variable is set, so it reveals nothing about one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from services.alerting.notifiers.base import DeliveryError
from services.alerting.notifiers.secrets import SECRETS_FILE_VARIABLE, _read_secrets_file
from services.core.secret_names import INSTALLATION_SECRET_NAMES
from services.core.settings import Settings
from services.core.workspace import Workspace

DEFAULT_WORKSPACE = "default"
_VEILLE_NAME = re.compile(r"^VEILLE_[A-Z0-9]+(_[A-Z0-9]+)*$")
_ALWAYS_RESERVED = INSTALLATION_SECRET_NAMES


class SecretNotAllowed(DeliveryError):
    """The workspace may not use that secret name (permanent: resending will not help)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


@dataclass(frozen=True)
class SecretScope:
    """The secret names one workspace may use; `check` says why one is refused."""

    workspace: str
    declared: tuple[str, ...] | None  # the workspace YAML's `secrets:`; None when absent
    reserved: frozenset[str] = _ALWAYS_RESERVED
    # the targets of `alerting.brand_rules.channels`: allowed to alert deliveries anywhere
    installation_channels: frozenset[str] = frozenset()

    @classmethod
    def of(cls, workspace: str, declared: Sequence[str] | None, settings: Settings) -> SecretScope:
        """The scope of `workspace`, whose YAML lists `declared` (None: no `secrets:`)."""
        reserved = set(_ALWAYS_RESERVED)
        alerting = settings.alerting
        reserved |= {n for n in (alerting.smtp_username_secret, alerting.smtp_password_secret) if n}
        oidc = settings.api.oidc
        if oidc is not None and oidc.client_secret_name:
            reserved.add(oidc.client_secret_name)
        brand_rules = alerting.brand_rules
        channels = frozenset(
            text.partition(":")[2] for text in (brand_rules.channels if brand_rules.enabled else ())
        )
        declared_names = None if declared is None else tuple(declared)
        return cls(workspace, declared_names, frozenset(reserved), channels)

    def check(
        self,
        name: str,
        *,
        environ: Mapping[str, str] | None = None,
        installation_channel: bool = False,
    ) -> str | None:
        """None when the workspace may use `name`, else the reason (naming no value).
        `installation_channel`: for an alert channel, which may be one the installation
        configured for the brands' default rules."""
        if name in self.reserved:
            return f"{name!r} is one of the installation's own secrets, never a target"
        if not _is_veille_name(name, environ):
            return (
                f"{name!r} is not a Veille secret name: use VEILLE_ followed by capitals, "
                "digits and '_' (or a key of the secrets file), never a variable such as HOME"
            )
        if self.declared is None and self.workspace == DEFAULT_WORKSPACE:
            return None
        if installation_channel and name in self.installation_channels:
            return None
        if name in (self.declared or ()):
            return None
        return (
            f"workspace {self.workspace!r} may not use the secret {name!r}: list it under "
            f"`secrets:` in config/workspaces/{self.workspace}/ (docs/user/workspaces.md)"
            if self.workspace != DEFAULT_WORKSPACE
            else f"workspace 'default' may not use the secret {name!r}: list it under "
            "`secrets:` in config/*.yaml (docs/user/workspaces.md)"
        )

    def require(self, name: str, *, installation_channel: bool = False) -> None:
        """Raises SecretNotAllowed unless the workspace may use `name` (at delivery)."""
        reason = self.check(name, installation_channel=installation_channel)
        if reason is not None:
            raise SecretNotAllowed(reason)


def _is_veille_name(name: str, environ: Mapping[str, str] | None) -> bool:
    if _VEILLE_NAME.match(name):
        return True
    if "__" in name:  # a settings variable, even when the secrets file holds it
        return False
    env = os.environ if environ is None else environ
    path = env.get(SECRETS_FILE_VARIABLE)
    if not path:
        return False
    try:
        return name in _read_secrets_file(Path(path))
    except DeliveryError:  # an unreadable file names no secret
        return False


class _WorkspaceContext(Protocol):
    workspace_id: str
    settings: Settings

    @property
    def workspace(self) -> Workspace: ...


def context_scope(ctx: _WorkspaceContext) -> SecretScope:
    """The scope of a service context's workspace."""
    return SecretScope.of(ctx.workspace_id, ctx.workspace.secrets, ctx.settings)


def workspace_secret_problems(
    workspace_id: str, workspace: Workspace, settings: Settings
) -> list[str]:
    """What `veille config check` says of a workspace's secret names: its reports'
    recipients and the brands' default-rule channels it may not use."""
    scope = SecretScope.of(workspace_id, workspace.secrets, settings)
    problems = []
    for report in workspace.reports:
        for index, entry in enumerate(report.recipients):
            reason = None if "@" in entry else scope.check(entry)
            if reason:
                problems.append(f"reports[{report.name}].recipients[{index}]: {reason}")
    if settings.alerting.brand_rules.enabled:
        for text in settings.alerting.brand_rules.channels:
            reason = scope.check(text.partition(":")[2], installation_channel=True)
            if reason:
                problems.append(f"alerting.brand_rules.channels: {text!r}: {reason}")
    return problems
