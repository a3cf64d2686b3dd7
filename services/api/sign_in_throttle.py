"""Slows password guessing on `POST /session`: after a few failed sign-ins the login (or
the client address) must wait before trying again, the right password included.

Argon2 makes each guess slow, but not rare: without a limit a script tries a password
list against a name all day. Counts are kept in memory, per process (a restart forgets
them, which costs an attacker a restart they cannot cause); a login and a client address
each have their own budget, so spraying one password over many names is slowed too.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 15 * 60
PER_LOGIN = 5  # failures of one login within the window
PER_CLIENT = 30  # failures from one client address within the window
_MAX_KEYS = 10_000  # memory bound: the oldest keys are forgotten first


class SignInThrottle:
    """Failed sign-ins in the last `WINDOW_SECONDS`, by login and by client address."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, login: str, client: str) -> float | None:
        """Seconds before this login may try again from this client; None: now."""
        now = self.clock()
        with self._lock:
            waits = [
                self._wait(key, limit, now)
                for key, limit in (
                    (_login_key(login), PER_LOGIN),
                    (_client_key(client), PER_CLIENT),
                )
            ]
        found = [w for w in waits if w is not None]
        return max(found) if found else None

    def failed(self, login: str, client: str) -> None:
        """Counts a failed sign-in."""
        now = self.clock()
        with self._lock:
            for key in (_login_key(login), _client_key(client)):
                self._failures.setdefault(key, deque()).append(now)
                self._failures[key] = self._failures.pop(key)  # newest last, for the bound
            while len(self._failures) > _MAX_KEYS:
                del self._failures[next(iter(self._failures))]

    def succeeded(self, *logins: str) -> None:
        """A right password: the person's failures are forgotten, under each login that
        names them (name and email), not the client's."""
        with self._lock:
            for login in logins:
                self._failures.pop(_login_key(login), None)

    def _wait(self, key: str, limit: int, now: float) -> float | None:
        times = self._failures.get(key)
        if not times:
            return None
        while times and times[0] <= now - WINDOW_SECONDS:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        if len(times) < limit:
            return None
        return times[-limit] + WINDOW_SECONDS - now


def _login_key(login: str) -> str:
    # Names and emails are found whatever their case: "Ana" and "ana" share a budget.
    return "login:" + login.strip().lower()


def _client_key(client: str) -> str:
    return "client:" + client
