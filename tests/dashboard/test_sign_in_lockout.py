"""Sign-in throttling (dashboard/auth.py), on SQLite and PostgreSQL.

The rule, from docs/security.md: after 5 refused sign-ins at one user name within 15
minutes, that name is refused without its password being checked until the oldest of
those 5 is 15 minutes old. The tests age the attempts by moving their audit-log times
back in the real database, so no clock is faked.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update

from dashboard import auth
from metrics.store import audit_t, transaction, users_t, utcnow

PASSWORD = "correct horse battery"
WRONG = "not the password at all"


def _refusals(engine: Engine, actor: str) -> list[tuple[object, str]]:
    """(time, reason) of each refused sign-in at ``actor``, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_t.c.at, audit_t.c.detail)
            .where(audit_t.c.actor == actor, audit_t.c.action == "sign_in_refused")
            .order_by(audit_t.c.id)
        ).all()
    return [(r.at, r.detail["reason"]) for r in rows]


def _age_attempts(engine: Engine, actor: str, by: timedelta) -> None:
    """Move every sign-in attempt at ``actor`` so far recorded ``by`` into the past."""
    with transaction(engine) as conn:
        rows = conn.execute(
            select(audit_t.c.id, audit_t.c.at).where(
                audit_t.c.actor == actor, audit_t.c.action.like("sign_in%")
            )
        ).all()
        for row in rows:  # one by one in Python: date arithmetic in SQL differs by dialect
            conn.execute(update(audit_t).where(audit_t.c.id == row.id).values(at=row.at - by))


def _fail(engine: Engine, username: str, times: int) -> None:
    for _ in range(times):
        assert auth.verify_password(engine, username, WRONG) is None


@pytest.fixture
def alice(engine: Engine) -> Engine:
    auth.add_user(engine, "alice", "oversight", PASSWORD, actor="test")
    return engine


def test_four_failures_do_not_lock(alice: Engine) -> None:
    _fail(alice, "alice", auth.MAX_FAILED_SIGN_INS - 1)
    assert auth.verify_password(alice, "alice", PASSWORD) == auth.User("alice", "oversight", True)


def test_fifth_failure_locks_even_the_right_password(alice: Engine, monkeypatch) -> None:
    _fail(alice, "alice", 5)
    failures = _refusals(alice, "alice")
    assert [reason for _, reason in failures] == ["wrong_password"] * 5

    checked: list[str] = []
    real_verify = auth._hasher.verify

    class SpyHasher:
        @staticmethod
        def verify(hash_: str, password: str) -> bool:
            checked.append(password)
            return real_verify(hash_, password)

        check_needs_rehash = staticmethod(auth._hasher.check_needs_rehash)

    monkeypatch.setattr(auth, "_hasher", SpyHasher())
    with pytest.raises(auth.SignInLocked) as locked:
        auth.verify_password(alice, "alice", PASSWORD)
    assert checked == []  # the password was not even looked at
    # The lock lifts when the oldest of the five is fifteen minutes old.
    assert locked.value.until == failures[0][0] + timedelta(minutes=15)
    assert _refusals(alice, "alice")[-1][1] == "locked"


def test_lock_lifts_when_the_failures_are_fifteen_minutes_old(alice: Engine) -> None:
    _fail(alice, "alice", 5)
    _age_attempts(alice, "alice", timedelta(minutes=14, seconds=50))
    with pytest.raises(auth.SignInLocked):
        auth.verify_password(alice, "alice", PASSWORD)
    _age_attempts(alice, "alice", timedelta(seconds=15))
    assert auth.verify_password(alice, "alice", PASSWORD) is not None


def test_attempts_while_locked_do_not_extend_the_lock(alice: Engine) -> None:
    _fail(alice, "alice", 5)
    _age_attempts(alice, "alice", timedelta(minutes=16))  # the five are now old
    # ...but these five newer ones lock again; attempts during that lock are refused...
    _fail(alice, "alice", 5)
    for _ in range(3):
        with pytest.raises(auth.SignInLocked):
            auth.verify_password(alice, "alice", PASSWORD)
    # ...and once the second five are old, the refusals made while locked do not count.
    _age_attempts(alice, "alice", timedelta(minutes=16))
    assert auth.verify_password(alice, "alice", PASSWORD) is not None


def test_a_successful_sign_in_starts_the_count_again(alice: Engine) -> None:
    _fail(alice, "alice", 4)
    assert auth.verify_password(alice, "alice", PASSWORD) is not None
    _fail(alice, "alice", 4)  # eight failures in the window, but only four since success
    assert auth.verify_password(alice, "alice", PASSWORD) is not None


def test_one_name_locked_leaves_the_others_alone(alice: Engine) -> None:
    auth.add_user(alice, "bob", "programme", PASSWORD, actor="test")
    _fail(alice, "alice", 5)
    assert auth.verify_password(alice, "bob", PASSWORD) is not None
    with pytest.raises(auth.SignInLocked):
        auth.verify_password(alice, "alice", PASSWORD)


def test_unknown_names_lock_the_same_way(alice: Engine) -> None:
    _fail(alice, "mallory", 5)
    with pytest.raises(auth.SignInLocked):
        auth.verify_password(alice, "mallory", WRONG)
    assert [reason for _, reason in _refusals(alice, "mallory")] == ["unknown_user"] * 5 + [
        "locked"
    ]


def _actions(engine: Engine, action: str) -> list[tuple[str, dict]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_t.c.actor, audit_t.c.detail)
            .where(audit_t.c.action == action)
            .order_by(audit_t.c.id)
        ).all()
    return [(r.actor, r.detail) for r in rows]


def test_an_administrator_can_lift_the_lock_early(alice: Engine) -> None:
    _fail(alice, "alice", 5)
    with pytest.raises(auth.SignInLocked):
        auth.verify_password(alice, "alice", PASSWORD)
    auth.unlock_user(alice, "alice", actor="cli:admin")
    assert auth.verify_password(alice, "alice", PASSWORD) == auth.User("alice", "oversight", True)
    # Who lifted it, and for whom, is in the audit log like any other change to a user.
    assert _actions(alice, "user_unlocked") == [("cli:admin", {"username": "alice"})]


def test_refusals_after_an_unlock_count_afresh(alice: Engine) -> None:
    _fail(alice, "alice", 5)
    auth.unlock_user(alice, "alice", actor="cli:admin")
    _fail(alice, "alice", 4)  # nine refusals in the window, four since the unlock
    assert auth.verify_password(alice, "alice", PASSWORD) is not None
    _fail(alice, "alice", 5)
    with pytest.raises(auth.SignInLocked):
        auth.verify_password(alice, "alice", PASSWORD)


def test_an_unlock_long_ago_does_not_shorten_the_window(alice: Engine) -> None:
    auth.unlock_user(alice, "alice", actor="cli:admin")
    with transaction(alice) as conn:  # the unlock was an hour ago
        conn.execute(
            update(users_t)
            .where(users_t.c.username == "alice")
            .values(sign_in_unlocked_at=utcnow() - timedelta(hours=1))
        )
    _fail(alice, "alice", 5)
    with pytest.raises(auth.SignInLocked):
        auth.verify_password(alice, "alice", PASSWORD)


def test_unlocking_an_unknown_name_is_refused(alice: Engine) -> None:
    with pytest.raises(auth.UserError, match="no user named 'mallory'"):
        auth.unlock_user(alice, "mallory", actor="cli:admin")
    assert _actions(alice, "user_unlocked") == []


def test_the_user_list_says_who_is_locked_and_until_when(alice: Engine) -> None:
    auth.add_user(alice, "bob", "programme", PASSWORD, actor="test")
    _fail(alice, "alice", 5)
    oldest = _refusals(alice, "alice")[0][0]
    listed = {u.username: u.locked_until for u in auth.list_users(alice)}
    assert listed == {"alice": oldest + timedelta(minutes=15), "bob": None}
    auth.unlock_user(alice, "alice", actor="cli:admin")
    assert [u.locked_until for u in auth.list_users(alice)] == [None, None]
