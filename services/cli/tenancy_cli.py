"""`veille workspaces ...` and `veille users ...`: the installation's register.

Changes made here are written to the audit log as done by `cli` (whoever runs the
command line has the installation's files, so is an admin of every workspace).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from services.cli.common import DEFAULT_CONFIG, CliError, ConfigOpt, app, out
from services.cli.common import fail as _fail
from services.cli.common import load_config as _load
from services.core.permissions import ROLES
from services.runtime.app.context import ServiceContext
from services.runtime.app.workspaces import Installation

workspaces_app = typer.Typer(
    help="Workspaces: list, create, archive, unarchive, delete.", no_args_is_help=True
)
users_app = typer.Typer(help="People and their role in each workspace.", no_args_is_help=True)
app.add_typer(workspaces_app, name="workspaces")
app.add_typer(users_app, name="users")

RoleOpt = Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")]
_DURATION = re.compile(r"^(\d{1,5})([dh])$")


@contextmanager
def installation(config: Path) -> Iterator[Installation]:
    """The installation of the workspace in `config`, closed afterwards."""
    loaded = _load(config)
    ctx = ServiceContext(loaded.settings, loaded.workspace)
    inst = Installation(ctx, config_dir=config)
    try:
        yield inst
    except (CliError, typer.Exit):
        raise
    except (ValueError, KeyError) as exc:  # bad input, or a name that does not exist
        raise CliError(str(exc.args[0] if exc.args else exc), code=2) from None
    except Exception as exc:
        _fail(exc)
    finally:
        inst.close()
        ctx.close()


def parse_expiry(text: str) -> datetime:
    """`90d`, `12h` from now, or an ISO date or time (UTC when no zone is given)."""
    match = _DURATION.match(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return datetime.now(UTC) + (
            timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
        )
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"--expires {text!r}: use 90d, 12h or an ISO date (2027-01-31)", 2) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_audit(
    inst: Installation, *, workspace: str, kind: str, action: str, target: str
) -> None:
    """The audit line of a change made from the command line (actor `cli`)."""
    inst.tenancy.record(
        workspace=workspace, actor="cli", actor_kind="cli", kind=kind, action=action, target=target
    )


@workspaces_app.command("list")
def workspaces_list(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """List the workspaces, archived ones included."""
    with installation(config) as inst:
        table = Table("id", "name", "created", "archived")
        for ws in inst.tenancy.list_workspaces():
            table.add_row(
                ws.id,
                ws.name,
                f"{ws.created_at:%Y-%m-%d}",
                f"{ws.archived_at:%Y-%m-%d}" if ws.archived_at else "",
            )
        out.print(table)


@workspaces_app.command("create")
def workspaces_create(
    workspace_id: Annotated[str, typer.Argument(help="lowercase letters, digits and '-'")],
    name: Annotated[str | None, typer.Option(help="a readable name")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Create a workspace; its YAML goes in CONFIG/workspaces/ID/, its data under
    DATA_DIR/workspaces/ID/."""
    with installation(config) as inst:
        inst.tenancy.create_workspace(workspace_id, name)
        record_audit(
            inst, workspace=workspace_id, kind="workspace", action="create", target=workspace_id
        )
    out.print(
        f"created workspace {workspace_id}; give it an admin key with: veille keys create "
        f"--workspace {workspace_id} --role admin --name ..."
    )


@workspaces_app.command("archive")
def workspaces_archive(workspace_id: str, config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Archive a workspace: its keys and sessions stop working, its data is kept."""
    with installation(config) as inst:
        inst.tenancy.archive_workspace(workspace_id)
        record_audit(
            inst, workspace=workspace_id, kind="workspace", action="archive", target=workspace_id
        )
    out.print(f"archived workspace {workspace_id}")


@workspaces_app.command("unarchive")
def workspaces_unarchive(workspace_id: str, config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Bring an archived workspace back: its keys work again, `veille up` runs it again."""
    with installation(config) as inst:
        inst.tenancy.unarchive_workspace(workspace_id)
        record_audit(
            inst, workspace=workspace_id, kind="workspace", action="unarchive", target=workspace_id
        )
    out.print(f"workspace {workspace_id} is live again")


@workspaces_app.command("delete")
def workspaces_delete(
    workspace_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="say what would be removed, remove nothing")
    ] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Delete an archived workspace and everything it holds, for good (mentions, state,
    renders, keys, people with no other workspace, its audit entries). Archive it first;
    never `default`. Run it again after an interruption: it finishes the job."""
    from services.runtime.app.workspace_deletion import delete_workspace, inspect_workspace

    with installation(config) as inst:
        plan = inspect_workspace(inst, workspace_id)
        out.print(f"workspace {workspace_id} holds:")
        for line in plan.lines():
            out.print(f"  {line}")
        if dry_run:
            out.print("dry run: nothing removed")
            return
        if not yes and not typer.confirm(
            f"Delete workspace {workspace_id} and all its data for good?", default=False
        ):
            raise CliError("nothing deleted", code=1)
        delete_workspace(
            inst,
            workspace_id,
            actor="cli",
            actor_kind="cli",
            progress=lambda step: out.print(f"  {step}"),
        )
    out.print(f"deleted workspace {workspace_id}")


@users_app.command("add")
def users_add(
    name: str,
    email: Annotated[
        str | None, typer.Option(help="their email (they may sign in with it)")
    ] = None,
    workspace: Annotated[
        str, typer.Option(help="the workspace to give them a role in")
    ] = "default",
    role: RoleOpt = "viewer",
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Add a person with a role in a workspace (then `veille users set-password`)."""
    if role not in ROLES:
        raise CliError(f"unknown role {role!r}: use one of {', '.join(ROLES)}", code=2)
    with installation(config) as inst:
        inst.tenancy.get_workspace(workspace)
        user_id = inst.tenancy.add_user(name, email=email)
        inst.tenancy.grant_id(user_id, workspace, role)
        record_audit(inst, workspace=workspace, kind="person", action="create", target=name)
    out.print(f"added {name}, {role} of {workspace}")


@users_app.command("list")
def users_list(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """List people and their roles."""
    with installation(config) as inst:
        table = Table("name", "email", "roles")
        for user in inst.tenancy.list_users():
            roles = ", ".join(f"{ws}: {role}" for ws, role in sorted(user.roles.items()))
            table.add_row(user.name, user.email or "-", roles or "-")
        out.print(table)


@users_app.command("set-password")
def users_set_password(
    name: str,
    # None by default (not required): click prompts for it when neither given nor in the
    # environment, so --help must not mark it [required].
    password: Annotated[
        str | None,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="VEILLE_NEW_PASSWORD",
            help="asked for when not given (never put it on the command line)",
        ),
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Set a person's dashboard password (hashed with Argon2id)."""
    assert password is not None  # prompted for when missing
    with installation(config) as inst:
        inst.tenancy.set_password(name, password)
        record_audit(inst, workspace="default", kind="person", action="set-password", target=name)
    out.print(f"password set for {name}")


@users_app.command("grant")
def users_grant(
    name: str,
    workspace: Annotated[str, typer.Option(help="the workspace")],
    role: RoleOpt,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Give a person a role in a workspace (replacing the one they had there)."""
    with installation(config) as inst:
        inst.tenancy.grant(name, workspace, role)
        record_audit(inst, workspace=workspace, kind="person", action="grant", target=name)
    out.print(f"{name} is now {role} of {workspace}")


@users_app.command("revoke")
def users_revoke(
    name: str,
    workspace: Annotated[str, typer.Option(help="the workspace")],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Take a person's role in a workspace away; their keys there stop working."""
    with installation(config) as inst:
        inst.tenancy.revoke(name, workspace)
        record_audit(inst, workspace=workspace, kind="person", action="revoke", target=name)
    out.print(f"{name} has no role in {workspace} any more")
