"""Users, roles and sign-in (dashboard/auth.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from dashboard import auth
from metrics.store import audit_t, make_engine, users_t

pytestmark = pytest.mark.sqlite

PASSWORD = "correct horse battery"


@pytest.fixture
def engine(tmp_path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'auth.db'}")
    yield eng
    eng.dispose()


def _audit(engine: Engine) -> list[tuple[str, str, dict]]:
    with engine.connect() as conn:
        return [
            (r.actor, r.action, r.detail)
            for r in conn.execute(select(audit_t).order_by(audit_t.c.id))
        ]


def test_password_is_stored_only_as_argon2_hash(engine: Engine) -> None:
    auth.add_user(engine, "alice", "steward", PASSWORD, actor="test")
    with engine.connect() as conn:
        stored = conn.execute(select(users_t.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_sign_in_with_right_password_returns_user_and_is_audited(engine: Engine) -> None:
    auth.add_user(engine, "alice", "oversight", PASSWORD, actor="test")
    user = auth.verify_password(engine, "alice", PASSWORD)
    assert user == auth.User("alice", "oversight", True)
    assert _audit(engine)[-1] == ("alice", "sign_in", {"reason": "ok"})


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("alice", "wrong password here", "wrong_password"),
        ("nobody", PASSWORD, "unknown_user"),
    ],
)
def test_bad_sign_in_refused_and_audited(
    engine: Engine, username: str, password: str, reason: str
) -> None:
    auth.add_user(engine, "alice", "oversight", PASSWORD, actor="test")
    assert auth.verify_password(engine, username, password) is None
    assert _audit(engine)[-1] == (username, "sign_in_refused", {"reason": reason})


def test_unknown_user_costs_a_hash_verification(engine: Engine, monkeypatch) -> None:
    calls: list[str] = []
    real_verify = auth._hasher.verify

    def spy(hash_: str, password: str) -> bool:
        calls.append(hash_)
        return real_verify(hash_, password)

    class SpyHasher:
        verify = staticmethod(spy)
        check_needs_rehash = staticmethod(auth._hasher.check_needs_rehash)

    monkeypatch.setattr(auth, "_hasher", SpyHasher())
    assert auth.verify_password(engine, "nobody", PASSWORD) is None
    assert calls == [auth._DUMMY_HASH]


def test_disabled_user_refused_even_with_right_password(engine: Engine) -> None:
    auth.add_user(engine, "bob", "programme", PASSWORD, actor="test")
    auth.disable_user(engine, "bob", actor="test")
    assert auth.verify_password(engine, "bob", PASSWORD) is None
    assert _audit(engine)[-1][2] == {"reason": "disabled"}
    auth.enable_user(engine, "bob", actor="test")
    assert auth.verify_password(engine, "bob", PASSWORD) is not None


def test_set_password_replaces_the_old_one(engine: Engine) -> None:
    auth.add_user(engine, "bob", "admin", PASSWORD, actor="test")
    auth.set_password(engine, "bob", "another long password", actor="test")
    assert auth.verify_password(engine, "bob", PASSWORD) is None
    assert auth.verify_password(engine, "bob", "another long password") is not None


@pytest.mark.parametrize(
    ("username", "role", "password", "message"),
    [
        ("alice", "boss", PASSWORD, "unknown role"),
        ("al ice", "admin", PASSWORD, "user name"),
        ("alice", "admin", "short", "at least 12"),
    ],
)
def test_bad_user_requests_refused(
    engine: Engine, username: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(auth.UserError, match=message):
        auth.add_user(engine, username, role, password, actor="test")


def test_duplicate_and_unknown_users_refused(engine: Engine) -> None:
    auth.add_user(engine, "alice", "admin", PASSWORD, actor="test")
    with pytest.raises(auth.UserError, match="already exists"):
        auth.add_user(engine, "alice", "admin", PASSWORD, actor="test")
    with pytest.raises(auth.UserError, match="no user"):
        auth.disable_user(engine, "carol", actor="test")


@pytest.mark.unit
def test_page_permissions() -> None:
    assert auth.permitted_pages("oversight") == [
        "",
        "referrals",
        "offences",
        "outcomes",
        "learning",
        "about",
    ]
    assert "data-quality" in auth.permitted_pages("steward")
    assert "data-quality" in auth.permitted_pages("admin")
    assert not auth.may_view("programme", "data-quality")
    assert not auth.may_view(None, "")
    assert not auth.may_view("oversight", "no-such-page")
    assert auth.may_switch_off_disclosure("steward")
    assert not auth.may_switch_off_disclosure("oversight")
    assert not auth.may_switch_off_disclosure("programme")
