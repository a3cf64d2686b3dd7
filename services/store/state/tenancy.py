"""The installation's register: workspaces, people and roles, keys, sessions, audit log.

    store = TenancyStore("sqlite:///data/veille.db")   # the default workspace's database

It lives in the installation database (the `default` workspace's state store), opened
after that store migrated it. Keys keep the scheme of `apikeys.py` (only a SHA-256 of
the secret is stored); each now names its workspace, role, owner and expiry. Session
tokens are stored as a SHA-256 as well. Errors: ValueError for bad input,
NotFoundError / ConflictError (from the state contract) for what the caller named.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Row

from services.core.permissions import check_role
from services.store.state import apikeys, tables
from services.store.state.contract import ConflictError, NameTakenError, NotFoundError
from services.store.state.database import DatabaseStore
from services.store.state.engine import (
    read_transaction,
    write_transaction,
)
from services.store.state.passwords import hash_password, password_matches
from services.store.state.tenancy_tables import audit_log, memberships, sessions, users, workspaces

DEFAULT_WORKSPACE = "default"
WORKSPACE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
EMAIL = re.compile(r"^[^@\s]{1,200}@[^@\s]{1,200}$")
SESSION_TTL = timedelta(hours=12)
MAX_PAGE = 500


class NameTaken(NameTakenError):
    """A person's name or email is already someone's; `holder` is who holds it."""

    def __init__(self, message: str, holder: UserRecord) -> None:
        super().__init__(message)
        self.holder = holder


def name_key(name: str) -> str:
    """What makes two names the same person's: the name case-folded ("Alice", "ALICE")."""
    return name.strip().casefold()


@dataclass(frozen=True)
class WorkspaceRecord:
    id: str
    name: str
    created_at: datetime
    archived_at: datetime | None


@dataclass(frozen=True)
class UserRecord:
    id: str
    name: str
    email: str | None
    created_at: datetime
    roles: dict[str, str]  # workspace -> role


@dataclass(frozen=True)
class KeyRecord:
    """A key as stored (never its secret), with its owner's name resolved."""

    key_id: str
    name: str
    workspace: str
    role: str
    user: str | None
    service: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked: bool


@dataclass(frozen=True)
class SessionRecord:
    user: str
    workspace: str
    role: str | None  # None: the user no longer belongs to the workspace
    expires_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    workspace: str
    actor: str
    actor_kind: str
    kind: str
    action: str
    target: str


def check_workspace_id(workspace_id: str) -> str:
    """Returns the id if well formed (lowercase letters, digits, '-'; 1 to 40)."""
    if not WORKSPACE_ID.match(workspace_id):
        raise ValueError(
            f"invalid workspace id {workspace_id!r}: use 1 to 40 lowercase letters, digits "
            "or '-', starting with a letter or digit"
        )
    return workspace_id


class TenancyStore(DatabaseStore):
    """Workspaces, people, keys, sessions and the audit log of one installation."""

    # -- workspaces --------------------------------------------------------------

    def list_workspaces(self, *, include_archived: bool = True) -> list[WorkspaceRecord]:
        """Every workspace, by id."""
        query = sa.select(workspaces).order_by(workspaces.c.id)
        if not include_archived:
            query = query.where(workspaces.c.archived_at.is_(None))
        with self._read() as conn:
            return [_workspace(row) for row in conn.execute(query)]

    def get_workspace(self, workspace_id: str) -> WorkspaceRecord:
        """One workspace; NotFoundError when unknown."""
        with self._read() as conn:
            row = conn.execute(sa.select(workspaces).where(workspaces.c.id == workspace_id)).first()
        if row is None:
            raise NotFoundError(f"no workspace {workspace_id!r}")
        return _workspace(row)

    def create_workspace(self, workspace_id: str, name: str | None = None) -> WorkspaceRecord:
        """Registers a workspace; ConflictError when the id is taken."""
        check_workspace_id(workspace_id)
        label = (name or workspace_id).strip()
        if not 1 <= len(label) <= 200:
            raise ValueError("a workspace name needs 1 to 200 characters")
        now = self._now()
        try:
            with self._write() as conn:
                conn.execute(
                    sa.insert(workspaces).values(
                        id=workspace_id, name=label, created_at=now, archived_at=None
                    )
                )
        except ConflictError:
            raise ConflictError(f"workspace {workspace_id!r} already exists") from None
        return WorkspaceRecord(workspace_id, label, now, None)

    def archive_workspace(self, workspace_id: str) -> WorkspaceRecord:
        """Archives a workspace: its keys and sessions stop working, its data stays."""
        if workspace_id == DEFAULT_WORKSPACE:
            raise ValueError("the default workspace cannot be archived")
        with self._write() as conn:
            row = conn.execute(sa.select(workspaces).where(workspaces.c.id == workspace_id)).first()
            if row is None:
                raise NotFoundError(f"no workspace {workspace_id!r}")
            if row.archived_at is not None:
                raise ConflictError(f"workspace {workspace_id!r} is already archived")
            conn.execute(
                sa.update(workspaces)
                .where(workspaces.c.id == workspace_id)
                .values(archived_at=self._now())
            )
            conn.execute(sa.delete(sessions).where(sessions.c.workspace_id == workspace_id))
        return self.get_workspace(workspace_id)

    def unarchive_workspace(self, workspace_id: str) -> WorkspaceRecord:
        """Brings an archived workspace back: its keys work again (its sessions ended
        when it was archived); `veille up` runs its loops again."""
        with self._write() as conn:
            row = conn.execute(sa.select(workspaces).where(workspaces.c.id == workspace_id)).first()
            if row is None:
                raise NotFoundError(f"no workspace {workspace_id!r}")
            if row.archived_at is None:
                raise ConflictError(f"workspace {workspace_id!r} is not archived")
            if _deletion_begun(conn, workspace_id, row.created_at):
                raise ConflictError(
                    f"the deletion of workspace {workspace_id!r} began and must be finished: "
                    f"veille workspaces delete {workspace_id}"
                )
            conn.execute(
                sa.update(workspaces)
                .where(workspaces.c.id == workspace_id)
                .values(archived_at=None)
            )
        return self.get_workspace(workspace_id)

    def deletable_workspace(self, workspace_id: str) -> WorkspaceRecord:
        """The workspace if it may be deleted: archived, never `default`. ValueError for
        `default`, NotFoundError when unknown (or deleted already), ConflictError when live."""
        if workspace_id == DEFAULT_WORKSPACE:
            raise ValueError("the default workspace cannot be deleted")
        record = self.get_workspace(workspace_id)
        if record.archived_at is None:
            raise ConflictError(
                f"workspace {workspace_id!r} is live: archive it first "
                f"(veille workspaces archive {workspace_id}), then delete it"
            )
        return record

    def workspace_footprint(self, workspace_id: str) -> dict[str, int]:
        """What the register holds for a workspace: keys, sessions, memberships, audit
        entries, and the people who have a role there and nowhere else."""
        k = tables.api_keys
        with self._read() as conn:
            return {
                "keys": _count(conn, k, k.c.workspace_id == workspace_id),
                "sessions": _count(conn, sessions, sessions.c.workspace_id == workspace_id),
                "memberships": _count(
                    conn, memberships, memberships.c.workspace_id == workspace_id
                ),
                "audit entries": _count(conn, audit_log, audit_log.c.workspace_id == workspace_id),
                "people with no other workspace": len(_people_only_in(conn, workspace_id)),
            }

    def begin_workspace_deletion(self, workspace_id: str, *, actor: str, actor_kind: str) -> None:
        """First step of deleting an archived workspace, in one transaction: its keys,
        sessions and memberships go (nobody can enter it again), so do the people who
        had a role there and nowhere else, and its audit entries (they name its staff);
        one installation-level entry (workspace `default`, target the id, no personal
        data) records the deletion and stops `unarchive` until it is finished. Re-run
        after an interruption, it does what is left and records nothing twice."""
        record = self.deletable_workspace(workspace_id)
        k = tables.api_keys
        with self._write() as conn:
            orphans = _people_only_in(conn, workspace_id)
            conn.execute(sa.delete(k).where(k.c.workspace_id == workspace_id))
            conn.execute(sa.delete(sessions).where(sessions.c.workspace_id == workspace_id))
            conn.execute(sa.delete(memberships).where(memberships.c.workspace_id == workspace_id))
            if orphans:
                conn.execute(sa.delete(sessions).where(sessions.c.user_id.in_(orphans)))
                conn.execute(sa.delete(users).where(users.c.id.in_(orphans)))
            conn.execute(sa.delete(audit_log).where(audit_log.c.workspace_id == workspace_id))
            if not _deletion_begun(conn, workspace_id, record.created_at):
                conn.execute(
                    sa.insert(audit_log).values(
                        at=self._now(),
                        workspace_id=DEFAULT_WORKSPACE,
                        actor=actor[:200],
                        actor_kind=actor_kind[:20],
                        kind="workspace",
                        action="delete",
                        target=workspace_id,
                    )
                )

    def finish_workspace_deletion(self, workspace_id: str) -> None:
        """Last step: the register forgets the workspace (its id may be used again)."""
        self.deletable_workspace(workspace_id)
        with self._write() as conn:
            conn.execute(sa.delete(workspaces).where(workspaces.c.id == workspace_id))

    # -- people ------------------------------------------------------------------

    def add_user(self, name: str, *, email: str | None = None, password: str | None = None) -> str:
        """Adds a person; returns their id. NameTaken (a ConflictError) when the name, in
        any case, or the email is someone's.

        A name may not be an email address, nor anyone's email: people are found by name
        or email, so such a name would let its holder stand for someone else. Names are
        unique whatever their case, so the audit log, owners and assignees never show two
        people as "Alice" and "alice"."""
        name = name.strip()
        if not 1 <= len(name) <= 200:
            raise ValueError("a user name needs 1 to 200 characters")
        if EMAIL.match(name):
            raise ValueError("a user name may not be an email address (give it as email)")
        if email is not None and not EMAIL.match(email.strip()):
            raise ValueError(f"{email!r} is not an email address")
        email = email.strip().lower() if email else None
        key = name_key(name)
        for user in self.list_users():  # names and emails share one namespace
            if key == name_key(user.name):
                as_written = "" if name == user.name else f" as {user.name!r}"
                raise NameTaken(
                    f"a person named {name!r} already exists{as_written} (names must differ "
                    "by more than case)",
                    user,
                )
            if name.lower() == user.email:
                raise NameTaken(f"the name {name!r} is another person's email", user)
            if email is not None and email in (user.email, user.name.lower()):
                raise NameTaken(f"the email {email!r} is already another person's", user)
        hashed = hash_password(password) if password is not None else None
        user_id = uuid.uuid4().hex
        try:
            with self._write() as conn:
                conn.execute(
                    sa.insert(users).values(
                        id=user_id,
                        name=name,
                        name_key=key,
                        email=email,
                        password_hash=hashed,
                        created_at=self._now(),
                    )
                )
        except ConflictError:  # added meanwhile by another process: say by whom
            for user in self.list_users():
                if key == name_key(user.name):
                    raise NameTaken(f"a person named {name!r} already exists", user) from None
                if email is not None and email == user.email:
                    raise NameTaken(
                        f"the email {email!r} is already another person's", user
                    ) from None
            raise
        return user_id

    def list_users(self, *, workspace: str | None = None) -> list[UserRecord]:
        """Every person (or those with a role in `workspace`), by name."""
        with self._read() as conn:
            rows = conn.execute(sa.select(users).order_by(users.c.name)).all()
            roles: dict[str, dict[str, str]] = {}
            for m in conn.execute(sa.select(memberships)):
                roles.setdefault(m.user_id, {})[m.workspace_id] = m.role
        found = [UserRecord(r.id, r.name, r.email, r.created_at, roles.get(r.id, {})) for r in rows]
        return [u for u in found if workspace is None or workspace in u.roles]

    def get_user(self, login: str, *, workspace: str | None = None) -> UserRecord:
        """A person by name or email (of those with a role in `workspace` when given);
        an exact name wins over an email. NotFoundError when unknown."""
        found = self.list_users(workspace=workspace)
        for user in found:
            if user.name == login:
                return user
        for user in found:
            if user.email is not None and login.strip().lower() == user.email:
                return user
        where = "" if workspace is None else f" in workspace {workspace!r}"
        raise NotFoundError(f"no user {login!r}{where}")

    def get_user_by_id(self, user_id: str) -> UserRecord:
        """A person by id; NotFoundError when unknown."""
        for user in self.list_users():
            if user.id == user_id:
                return user
        raise NotFoundError(f"no user with id {user_id!r}")

    def set_password(self, login: str, password: str) -> None:
        """Sets (or replaces) a person's password and ends their sessions: a password is
        reset because someone else may know it, so what it opened must close too."""
        user = self.get_user(login)
        hashed = hash_password(password)
        with self._write() as conn:
            conn.execute(sa.update(users).where(users.c.id == user.id).values(password_hash=hashed))
            conn.execute(sa.delete(sessions).where(sessions.c.user_id == user.id))

    def check_password(self, login: str, password: str) -> UserRecord | None:
        """The person when the password is theirs, else None."""
        try:
            user = self.get_user(login.strip())
        except NotFoundError:
            password_matches(password, None)
            return None
        with self._read() as conn:
            stored = conn.execute(
                sa.select(users.c.password_hash).where(users.c.id == user.id)
            ).scalar()
        return user if password_matches(password, stored) else None

    def grant(self, login: str, workspace_id: str, role: str) -> None:
        """Gives a person a role in a workspace (replacing the one they had)."""
        check_role(role)
        self.grant_id(self.get_user(login).id, workspace_id, role)

    def grant_id(self, user_id: str, workspace_id: str, role: str) -> None:
        """`grant` for a person already resolved to their id."""
        check_role(role)
        self.get_user_by_id(user_id)
        self._live_workspace(workspace_id)
        with self._write() as conn:
            conn.execute(
                sa.delete(memberships).where(
                    memberships.c.user_id == user_id, memberships.c.workspace_id == workspace_id
                )
            )
            conn.execute(
                sa.insert(memberships).values(user_id=user_id, workspace_id=workspace_id, role=role)
            )

    def revoke(self, login: str, workspace_id: str) -> None:
        """Takes a person's role in a workspace away (their keys there stop working)."""
        user = self.get_user(login)
        self.revoke_id(user.id, workspace_id)

    def revoke_id(self, user_id: str, workspace_id: str) -> None:
        """`revoke` for a person already resolved to their id."""
        user = self.get_user_by_id(user_id)
        with self._write() as conn:
            deleted = conn.execute(
                sa.delete(memberships).where(
                    memberships.c.user_id == user_id, memberships.c.workspace_id == workspace_id
                )
            ).rowcount
            conn.execute(
                sa.delete(sessions).where(
                    sessions.c.user_id == user_id, sessions.c.workspace_id == workspace_id
                )
            )
        if not deleted:
            raise NotFoundError(f"{user.name!r} has no role in workspace {workspace_id!r}")

    # -- keys --------------------------------------------------------------------

    def create_key(
        self,
        *,
        name: str,
        workspace: str = DEFAULT_WORKSPACE,
        role: str = "admin",
        user: str | None = None,
        service: str | None = None,
        expires_at: datetime | None = None,
        user_id: str | None = None,
    ) -> str:
        """Creates a key and returns it in clear, once; only a hash is stored. Its owner
        is `user` (a name or email) or `user_id` (a person already resolved)."""
        check_role(role)
        self._live_workspace(workspace)
        if (user is not None or user_id is not None) and service is not None:
            raise ValueError("a key belongs to a user or to a service, not both")
        owner = None
        if user_id is not None:
            owner = self.get_user_by_id(user_id)
        elif user is not None:
            owner = self.get_user(user)
        if owner is not None:
            if workspace not in owner.roles:
                raise ValueError(f"{owner.name!r} has no role in workspace {workspace!r}")
            user_id = owner.id
        if service is not None and not 1 <= len(service.strip()) <= 200:
            raise ValueError("a service name needs 1 to 200 characters")
        if expires_at is not None and expires_at <= self._now():
            raise ValueError("the expiry date is in the past")
        with self._write() as conn:
            key = apikeys.insert(conn, name=name, now=self._now())
            key_id = key.split("_", 2)[1]
            conn.execute(
                sa.update(tables.api_keys)
                .where(tables.api_keys.c.key_id == key_id)
                .values(
                    workspace_id=workspace,
                    role=role,
                    user_id=user_id,
                    service=service.strip() if service else None,
                    expires_at=expires_at,
                )
            )
        return key

    def find_key(self, key: str) -> KeyRecord | None:
        """The stored key when the secret matches (revoked or expired included), else None."""
        parsed = apikeys.parse_key(key)
        if parsed is None:
            return None
        key_id, secret = parsed
        with self._read() as conn:
            row = apikeys.find(conn, key_id)
            if row is None or not apikeys.secret_matches(secret, row.secret_sha256):
                return None
            record = self._key(conn, row)
        now = self._now()
        if record.last_used_at is None or now - record.last_used_at >= apikeys.TOUCH_INTERVAL:
            with self._write() as conn:
                apikeys.touch(conn, key_id, now=now)
        return record

    def key_owner_role(self, record: KeyRecord) -> str | None:
        """The role the key's user still holds in its workspace (None: not any more)."""
        if record.user is None:
            return record.role
        with self._read() as conn:
            return conn.execute(
                sa.select(memberships.c.role)
                .join(users, users.c.id == memberships.c.user_id)
                .where(users.c.name == record.user, memberships.c.workspace_id == record.workspace)
            ).scalar()

    def list_keys(self, *, workspace: str | None = None) -> list[KeyRecord]:
        """Every key (or a workspace's), oldest first."""
        k = tables.api_keys
        query = sa.select(k).order_by(k.c.created_at, k.c.key_id)
        if workspace is not None:
            query = query.where(k.c.workspace_id == workspace)
        with self._read() as conn:
            return [self._key(conn, row) for row in conn.execute(query).all()]

    def revoke_key(self, key_id: str, *, workspace: str | None = None) -> None:
        """Revokes a key (of `workspace` when given); NotFoundError when unknown."""
        k = tables.api_keys
        query = sa.update(k).where(k.c.key_id == key_id).values(revoked=True)
        if workspace is not None:
            query = query.where(k.c.workspace_id == workspace)
        with self._write() as conn:
            if conn.execute(query).rowcount == 0:
                raise NotFoundError(f"no API key with id {key_id!r}")

    # -- sessions ----------------------------------------------------------------

    def open_session(
        self, user: UserRecord, workspace: str, *, ttl: timedelta = SESSION_TTL
    ) -> str:
        """Starts a session; returns the cookie's token (only its hash is stored)."""
        if workspace not in user.roles:
            raise ValueError(f"{user.name!r} has no role in workspace {workspace!r}")
        self._live_workspace(workspace)
        token = secrets.token_urlsafe(32)
        now = self._now()
        with self._write() as conn:
            conn.execute(sa.delete(sessions).where(sessions.c.expires_at <= now))
            conn.execute(
                sa.insert(sessions).values(
                    token_sha256=_sha256(token),
                    user_id=user.id,
                    workspace_id=workspace,
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
        return token

    def find_session(self, token: str) -> SessionRecord | None:
        """The live session of a cookie token, else None."""
        if not token or len(token) > 200:
            return None
        with self._read() as conn:
            row = conn.execute(
                sa.select(sessions, users.c.name)
                .join(users, users.c.id == sessions.c.user_id)
                .where(sessions.c.token_sha256 == _sha256(token))
            ).first()
            if row is None or row.expires_at <= self._now():
                return None
            role = conn.execute(
                sa.select(memberships.c.role).where(
                    memberships.c.user_id == row.user_id,
                    memberships.c.workspace_id == row.workspace_id,
                )
            ).scalar()
        return SessionRecord(row.name, row.workspace_id, role, row.expires_at)

    def close_session(self, token: str) -> None:
        """Ends a session (signing out); unknown tokens are ignored."""
        with self._write() as conn:
            conn.execute(sa.delete(sessions).where(sessions.c.token_sha256 == _sha256(token)))

    # -- audit log ---------------------------------------------------------------

    def record(
        self, *, workspace: str, actor: str, actor_kind: str, kind: str, action: str, target: str
    ) -> None:
        """Appends an entry to the audit log (names only: no secret, no mention text)."""
        with self._write() as conn:
            conn.execute(
                sa.insert(audit_log).values(
                    at=self._now(),
                    workspace_id=workspace,
                    actor=actor[:200],
                    actor_kind=actor_kind[:20],
                    kind=kind[:40],
                    action=action[:40],
                    target=target[:300],
                )
            )

    def audit(
        self,
        *,
        workspace: str | None = None,
        kind: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[AuditEntry]:
        """Entries newest first, filtered; page with `before_id` (the last id seen)."""
        a = audit_log
        query = sa.select(a).order_by(a.c.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
        for column, value in ((a.c.workspace_id, workspace), (a.c.kind, kind), (a.c.actor, actor)):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(a.c.at >= since)
        if until is not None:
            query = query.where(a.c.at < until)
        if before_id is not None:
            query = query.where(a.c.id < before_id)
        with self._read() as conn:
            return [
                AuditEntry(
                    r.id, r.at, r.workspace_id, r.actor, r.actor_kind, r.kind, r.action, r.target
                )
                for r in conn.execute(query)
            ]

    # -- internals ---------------------------------------------------------------

    def _live_workspace(self, workspace_id: str) -> None:
        record = self.get_workspace(workspace_id)
        if record.archived_at is not None:
            raise ValueError(f"workspace {workspace_id!r} is archived")

    def _key(self, conn: Connection, row: Row[Any]) -> KeyRecord:
        owner = None
        if row.user_id is not None:
            owner = conn.execute(sa.select(users.c.name).where(users.c.id == row.user_id)).scalar()
        return KeyRecord(
            key_id=row.key_id,
            name=row.name,
            workspace=row.workspace_id,
            role=row.role,
            user=owner,
            service=row.service,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            revoked=bool(row.revoked),
        )

    def _now(self) -> datetime:
        return self._clock()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._errors(), read_transaction(self._engine) as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._errors():
            try:
                with write_transaction(self._engine) as conn:
                    yield conn
            except sa_exc.IntegrityError as exc:  # a unique name, id or email taken
                raise ConflictError(str(exc.orig)) from None


def _count(conn: Connection, table: sa.Table, where: sa.ColumnElement[bool]) -> int:
    return int(
        conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar() or 0
    )


def _people_only_in(conn: Connection, workspace_id: str) -> list[str]:
    """The ids of the people with a role in `workspace_id` and in no other workspace."""
    m = memberships
    elsewhere = sa.select(m.c.user_id).where(m.c.workspace_id != workspace_id)
    query = sa.select(m.c.user_id).where(
        m.c.workspace_id == workspace_id, m.c.user_id.not_in(elsewhere)
    )
    return [row.user_id for row in conn.execute(query)]


def _deletion_begun(conn: Connection, workspace_id: str, created_at: datetime) -> bool:
    """Whether the deletion of this workspace (created at `created_at`) was begun."""
    a = audit_log
    query = sa.select(a.c.id).where(
        a.c.workspace_id == DEFAULT_WORKSPACE,
        a.c.kind == "workspace",
        a.c.action == "delete",
        a.c.target == workspace_id,
        a.c.at >= created_at,
    )
    return conn.execute(query.limit(1)).first() is not None


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _workspace(row: Row[Any]) -> WorkspaceRecord:
    return WorkspaceRecord(row.id, row.name, row.created_at, row.archived_at)
