"""The installation secret: the key of the HMAC that erasure records keep instead of
the erased author handle or identifier, so that the record cannot be reversed by
hashing candidate handles (an unsalted hash of a handle can).

From the environment or the secrets file (`VEILLE_INSTALLATION_SECRET`), else the file
`installation.secret` in the data folder, generated there (mode 600) on first use.
Losing it makes past erasures stop holding against new posts; back it up with the
data folder. It is never logged.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from services.alerting.notifiers.base import DeliveryError
from services.alerting.notifiers.secrets import resolve_secret
from services.core.secret_names import INSTALLATION_SECRET

SECRET_NAME = INSTALLATION_SECRET
FILE_NAME = "installation.secret"
_lock = threading.Lock()
_cache: dict[str, bytes] = {}


def installation_secret(data_dir: str | Path) -> bytes:
    """The secret's bytes (see the module's docstring for where it comes from)."""
    try:
        return resolve_secret(SECRET_NAME).reveal().encode()
    except DeliveryError:
        pass
    path = Path(data_dir) / FILE_NAME
    key = str(path.resolve())
    with _lock:
        cached = _cache.get(key)
        if cached is None:
            cached = _cache[key] = _read_or_create(path)
        return cached


def _read_or_create(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: of two processes starting at once, one writes, the other reads
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read_or_create(path)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
        text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:
        raise ValueError(f"{path} holds no usable secret (32 characters at least)")
    return text.encode()
