"""Secrets by name: from the environment, else from the file named by VEILLE_SECRETS_FILE.

Configuration only ever holds a secret's *name* (`VEILLE_SLACK_WEBHOOK_ALERTS`); its value
is looked up when a message is sent, so a rotated secret is picked up without a restart.
The secrets file has one `NAME=value` per line (blank lines and `#` comments ignored, the
value optionally in single or double quotes), the format of docker compose env files.
A `Secret` never shows its value in `repr`/`str`; call `reveal()` where it is needed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from services.alerting.notifiers.base import DeliveryError
from services.core.secret_names import SECRETS_FILE_VARIABLE

__all__ = ["SECRETS_FILE_VARIABLE", "MissingSecretError", "Secret", "resolve_secret"]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Secret:
    """A secret value that does not print itself."""

    __slots__ = ("_value", "name")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self._value = value

    def reveal(self) -> str:
        """The secret value itself; keep it out of logs and messages."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.name!r}, '***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and (self.name, self._value) == (other.name, other._value)

    def __hash__(self) -> int:
        return hash((self.name, self._value))


class MissingSecretError(DeliveryError):
    """No secret of that name is configured (permanent: retrying will not create it)."""

    def __init__(self, name: str, where: str) -> None:
        super().__init__(f"secret {name} is not set ({where})", permanent=True)
        self.name = name


def resolve_secret(name: str, *, environ: Mapping[str, str] | None = None) -> Secret:
    """Looks a secret up by name; raises MissingSecretError (a DeliveryError) when absent."""
    env = os.environ if environ is None else environ
    if not _NAME.match(name):
        raise DeliveryError(
            f"invalid secret name {name[:60]!r}: letters, digits and '_' only", permanent=True
        )
    value = env.get(name)
    if value:
        return Secret(name, value)
    path = env.get(SECRETS_FILE_VARIABLE)
    if not path:
        raise MissingSecretError(name, f"not in the environment and {SECRETS_FILE_VARIABLE} unset")
    value = _read_secrets_file(Path(path)).get(name)
    if not value:
        raise MissingSecretError(name, f"not in the environment nor in {SECRETS_FILE_VARIABLE}")
    return Secret(name, value)


def _read_secrets_file(path: Path) -> dict[str, str]:
    """NAME=value lines; an unreadable file is a permanent error naming the file only."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = type(error).__name__
        raise DeliveryError(
            f"cannot read the secrets file {path} ({reason})", permanent=True
        ) from None
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values
