"""``beaconport users``: add, list, disable, re-enable and unlock users, set passwords.

A password is never taken as a command-line argument (it would be kept in the shell's
history and be visible to other users in the process list): it is asked for twice at
a prompt, or read from standard input with ``--password-stdin`` for scripts.
"""

from __future__ import annotations

import getpass
import json
import sys

import typer

from dashboard.cli import app, fail, get_engine

users_app = typer.Typer(
    help="Manage dashboard users (passwords are stored only as argon2 hashes).",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")

PASSWORD_STDIN = typer.Option(
    False,
    "--password-stdin",
    help="Read the password from the first line of standard input instead of a prompt.",
)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on standard input")
        return password
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(
    username: str = typer.Argument(..., help="The user's sign-in name."),
    role: str = typer.Option(
        ..., "--role", help="oversight, programme, steward or admin.", metavar="ROLE"
    ),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Create a dashboard user with a role."""
    from dashboard.auth import UserError, add_user, check_role, check_username

    try:
        check_username(username)
        check_role(role)
    except UserError as exc:
        fail(str(exc))
    engine = get_engine()
    password = _read_password(password_stdin)
    try:
        add_user(engine, username, role, password, actor=_actor())
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"added {username} ({role})")


@users_app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """List users with their role, whether they may sign in, and any sign-in lock."""
    from dashboard.auth import list_users

    users = list_users(get_engine())
    for u in users:
        created = u.created_at.isoformat(timespec="seconds") if u.created_at else None
        locked = u.locked_until.isoformat(timespec="seconds") if u.locked_until else None
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "username": u.username,
                        "role": u.role,
                        "active": u.active,
                        "created": created,
                        "locked_until": locked,
                    }
                )
            )
        else:
            state = "active" if u.active else "disabled"
            if locked:
                state += f", sign-in locked until {u.locked_until:%H:%M} UTC"
            typer.echo(f"{u.username}\t{u.role}\t{state}\t{created or ''}")
    if not users and not as_json:
        typer.echo("no users", err=True)


@users_app.command("disable")
def disable(username: str = typer.Argument(..., help="The user to disable.")) -> None:
    """Stop a user from signing in (the user is kept, for the audit trail)."""
    from dashboard.auth import UserError, disable_user

    try:
        disable_user(get_engine(), username, actor=_actor())
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"disabled {username}")


@users_app.command("enable")
def enable(username: str = typer.Argument(..., help="The user to enable again.")) -> None:
    """Allow a disabled user to sign in again."""
    from dashboard.auth import UserError, enable_user

    try:
        enable_user(get_engine(), username, actor=_actor())
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"enabled {username}")


@users_app.command("unlock")
def unlock(
    username: str = typer.Argument(..., help="The user whose sign-in lock to lift."),
) -> None:
    """Lift a user's sign-in lock now, instead of their waiting 15 minutes.

    After 5 refused sign-ins within 15 minutes a name is locked (docs/security.md).
    Unlocking forgets those refusals; it does not change the password.
    """
    from dashboard.auth import UserError, unlock_user

    try:
        unlock_user(get_engine(), username, actor=_actor())
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"unlocked {username}")


@users_app.command("set-password")
def set_password_(
    username: str = typer.Argument(..., help="The user whose password to set."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Set a new password for a user."""
    from dashboard.auth import UserError, set_password

    engine = get_engine()
    password = _read_password(password_stdin)
    try:
        set_password(engine, username, password, actor=_actor())
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"password set for {username}")
