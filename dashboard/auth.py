"""Dashboard users, roles and sign-in.

Passwords are kept only as argon2id hashes (``argon2-cffi``) in the ``users`` table.
Four roles decide which pages a person may open and whether they may switch
disclosure control off:

- ``oversight``: national oversight viewers (NPCC, the inspectorate); every figure
  disclosure-controlled.
- ``programme``: the review's programme leads; every figure disclosure-controlled.
- ``steward``: data stewards; may switch disclosure control off and open the data-quality page.
- ``admin``: everything a steward may do.

Every sign-in attempt, and every change to a user, is written to the audit log.
After ``MAX_FAILED_SIGN_INS`` refused attempts at one user name within
``SIGN_IN_LOCKOUT`` (counted from that log, so every dashboard process sees the same
count), further attempts at that name are refused without checking the password until
the oldest of those failures is ``SIGN_IN_LOCKOUT`` old. Unknown names are locked the
same way, so the lock does not tell whether a name exists. An administrator may lift a
user's lock early (``unlock_user``): refusals before that moment no longer count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, select, update

from metrics.store import audit, audit_t, transaction, users_t, utcnow

ROLES: tuple[str, ...] = ("oversight", "programme", "steward", "admin")
ALL_ROLES: frozenset[str] = frozenset(ROLES)
STEWARD_ROLES: frozenset[str] = frozenset({"steward", "admin"})

#: Which roles may open which page (keys are the pages' URL paths; "" is Progress).
PAGE_ROLES: dict[str, frozenset[str]] = {
    "": ALL_ROLES,
    "referrals": ALL_ROLES,
    "offences": ALL_ROLES,
    "outcomes": ALL_ROLES,
    "learning": ALL_ROLES,
    "data-quality": STEWARD_ROLES,
    "about": ALL_ROLES,
}

#: Pages whose tables are about the data, not about children or cases, and are never
#: disclosure-controlled (only stewards and administrators may open them): their
#: context has control off whatever the switch says, so their downloads say UNSUPPRESSED.
NOT_DISCLOSURE_CONTROLLED: frozenset[str] = frozenset({"data-quality"})

MIN_PASSWORD_LENGTH = 12
#: Refused sign-ins at one user name, within ``SIGN_IN_LOCKOUT``, that lock the name.
MAX_FAILED_SIGN_INS = 5
SIGN_IN_LOCKOUT = timedelta(minutes=15)
#: How long a dashboard session stays signed in (a working day), however active.
SESSION_LIFETIME = timedelta(hours=10)
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")

_hasher = PasswordHasher()
# Verified against when the user name is unknown, so that an unknown name costs the
# same time as a wrong password and the answer does not tell which it was.
_DUMMY_HASH = _hasher.hash("beaconport-no-such-user-placeholder")


class UserError(Exception):
    """A user-management request that cannot be done, with a message for the person."""


class SignInLocked(Exception):
    """Too many refused sign-ins at one user name; ``until`` is when it may try again (UTC)."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"too many refused sign-ins; try again after {until:%H:%M} UTC")
        self.until = until


@dataclass(frozen=True)
class User:
    """A dashboard user as the dashboard sees it (never the hash)."""

    username: str
    role: str
    active: bool
    created_at: datetime | None = None
    #: When the sign-in lock lifts (UTC), or None when the user may sign in now.
    locked_until: datetime | None = None


def may_view(role: str | None, page: str) -> bool:
    """Whether ``role`` may open the page with URL path ``page``."""
    return role is not None and role in PAGE_ROLES.get(page, frozenset())


def may_switch_off_disclosure(role: str | None) -> bool:
    """Only data stewards and administrators may see unsuppressed figures."""
    return role in STEWARD_ROLES


def permitted_pages(role: str | None) -> list[str]:
    """The URL paths of the pages ``role`` may open, in navigation order."""
    return [page for page in PAGE_ROLES if may_view(role, page)]


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (which must be at least 12 characters)."""
    check_password_strength(password)
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


def check_username(username: str) -> None:
    if not USERNAME_PATTERN.match(username):
        raise UserError(
            "user name must be 1-128 characters: letters, digits, '.', '_', '@', '-' "
            "(starting with a letter or digit)"
        )


def check_role(role: str) -> None:
    if role not in ALL_ROLES:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")


def add_user(engine: Engine, username: str, role: str, password: str, *, actor: str) -> User:
    """Create an active user with ``role``; refuses a name already taken."""
    check_username(username)
    check_role(role)
    password_hash = hash_password(password)
    with transaction(engine) as conn:
        taken = conn.execute(select(users_t.c.id).where(users_t.c.username == username)).first()
        if taken:
            raise UserError(f"user {username!r} already exists")
        created = utcnow()
        conn.execute(
            users_t.insert().values(
                username=username,
                password_hash=password_hash,
                role=role,
                active=True,
                created_at=created,
            )
        )
        audit(conn, actor, "user_added", username=username, role=role)
    return User(username, role, True, created)


def list_users(engine: Engine) -> list[User]:
    """Every user, active or disabled, by name, with when their sign-in lock lifts."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                users_t.c.username, users_t.c.role, users_t.c.active, users_t.c.created_at
            ).order_by(users_t.c.username)
        ).all()
        return [
            User(
                r.username,
                r.role,
                bool(r.active),
                r.created_at,
                _locked_until(conn, r.username[:128]),
            )
            for r in rows
        ]


def _set(engine: Engine, username: str, values: dict, *, actor: str, action: str) -> None:
    with transaction(engine) as conn:
        result = conn.execute(
            update(users_t).where(users_t.c.username == username).values(**values)
        )
        if result.rowcount == 0:
            raise UserError(f"no user named {username!r}")
        audit(conn, actor, action, username=username)


def disable_user(engine: Engine, username: str, *, actor: str) -> None:
    """Stop ``username`` from signing in (the user stays stored, for the audit trail)."""
    _set(engine, username, {"active": False}, actor=actor, action="user_disabled")


def enable_user(engine: Engine, username: str, *, actor: str) -> None:
    """Allow a disabled user to sign in again."""
    _set(engine, username, {"active": True}, actor=actor, action="user_enabled")


def unlock_user(engine: Engine, username: str, *, actor: str) -> None:
    """Lift ``username``'s sign-in lock now: refusals before this moment stop counting.

    Only for a stored user (an unknown name's lock protects nobody). Recorded in the
    audit log as ``user_unlocked``, whether or not the name was locked.
    """
    _set(
        engine,
        username,
        {"sign_in_unlocked_at": utcnow()},
        actor=actor,
        action="user_unlocked",
    )


def set_password(engine: Engine, username: str, password: str, *, actor: str) -> None:
    """Replace ``username``'s password."""
    _set(
        engine,
        username,
        {"password_hash": hash_password(password)},
        actor=actor,
        action="password_set",
    )


def verify_password(engine: Engine, username: str, password: str) -> User | None:
    """The signed-in user, or None when the name, the password or the account is not good.

    The same work is done whether or not the name exists, and the caller is not told
    which of the three failed. Every attempt is written to the audit log. Raises
    ``SignInLocked`` without checking the password while the name is locked (see the
    module's docstring).
    """
    actor = username[:128]
    with transaction(engine) as conn:
        until = _locked_until(conn, actor)
        if until is not None:
            audit(conn, actor, "sign_in_refused", reason="locked")
    if until is not None:
        raise SignInLocked(until)
    with engine.connect() as conn:
        row = conn.execute(
            select(users_t.c.id, users_t.c.password_hash, users_t.c.role, users_t.c.active).where(
                users_t.c.username == username
            )
        ).first()
    stored_hash = row.password_hash if row is not None else _DUMMY_HASH
    try:
        matched = _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        matched = False
    if row is None:
        outcome = "unknown_user"
    elif not matched:
        outcome = "wrong_password"
    elif not row.active:
        outcome = "disabled"
    else:
        outcome = "ok"
    with transaction(engine) as conn:
        if outcome == "ok" and _hasher.check_needs_rehash(stored_hash):
            conn.execute(
                update(users_t)
                .where(users_t.c.id == row.id)
                .values(password_hash=_hasher.hash(password))
            )
        audit(
            conn,
            actor,
            "sign_in" if outcome == "ok" else "sign_in_refused",
            reason=outcome,
        )
    if outcome != "ok":
        return None
    return User(username, row.role, True)


def current_role(engine: Engine, username: str) -> str | None:
    """The stored role of ``username`` if the account is still active, else None.

    The dashboard asks on every page view, so disabling an account or changing its role
    takes effect in sessions already signed in, at their next click.
    """
    with engine.connect() as conn:
        row = conn.execute(
            select(users_t.c.role, users_t.c.active).where(users_t.c.username == username)
        ).first()
    if row is None or not row.active:
        return None
    return row.role


def _locked_until(conn: Connection, actor: str) -> datetime | None:
    """When ``actor``'s lock lifts, or None if it may try now.

    Counts the refusals, other than refusals because of the lock itself, since the
    latest of ``SIGN_IN_LOCKOUT`` ago, the name's last successful sign-in and the last
    time an administrator unlocked it.
    """
    since = utcnow() - SIGN_IN_LOCKOUT
    unlocked = conn.execute(
        select(users_t.c.sign_in_unlocked_at).where(users_t.c.username == actor)
    ).scalar()
    if unlocked is not None and unlocked > since:
        since = unlocked
    attempts = conn.execute(
        select(audit_t.c.at, audit_t.c.action, audit_t.c.detail)
        .where(
            audit_t.c.actor == actor,
            audit_t.c.action.in_(("sign_in", "sign_in_refused")),
            audit_t.c.at >= since,
        )
        .order_by(audit_t.c.id.desc())
    ).all()
    failures: list[datetime] = []
    for at, action, detail in attempts:
        if action == "sign_in":
            break
        if (detail or {}).get("reason") != "locked":
            failures.append(at)
    if len(failures) < MAX_FAILED_SIGN_INS:
        return None
    # The lock lifts when enough of the failures have aged out of the window.
    return failures[MAX_FAILED_SIGN_INS - 1] + SIGN_IN_LOCKOUT


def record_sign_out(engine: Engine, username: str) -> None:
    """Note in the audit log that ``username`` signed out."""
    with transaction(engine) as conn:
        audit(conn, username, "sign_out")
