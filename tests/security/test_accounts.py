"""Accounts: argon2id hashes, password policy, generic sign-in failures, lockout, roles."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from earshot.errors import ConfigError
from earshot.security.accounts import AccountPolicy, AccountStore
from earshot.security.errors import (
    AuthenticationError,
    LockedOutError,
    PasswordPolicyError,
    UnknownUserError,
    UserExistsError,
)
from earshot.security.roles import Role

# Cheap argon2id parameters keep the tests fast; the defaults are RFC 9106's.
FAST = AccountPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1, max_failures=3)
PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> AccountStore:
    return AccountStore(tmp_path / "sub" / "accounts.db", policy=FAST, clock=clock)


def _hash_of(store: AccountStore, username: str) -> str:
    with sqlite3.connect(store.path) as conn:
        row = conn.execute("SELECT password_hash FROM users WHERE username = ?", (username,))
        value: str = row.fetchone()[0]
    return value


def test_password_is_stored_as_argon2id_and_file_is_private(store: AccountStore) -> None:
    user = store.add_user("Olena.K", PASSWORD, display_name="Олена К.")
    assert user.username == "olena.k" and user.display_name == "Олена К." and not user.disabled
    stored = _hash_of(store, "olena.k")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert store.path.stat().st_mode & 0o077 == 0
    assert store.authenticate("OLENA.K", PASSWORD, client="10.0.0.1") == user


@pytest.mark.parametrize(
    ("username", "password", "error"),
    [
        ("maks", "short", PasswordPolicyError),
        ("maksym_the_cook", "Maksym_The_Cook", PasswordPolicyError),
        ("../../etc", PASSWORD, ConfigError),
        ("<script>", PASSWORD, ConfigError),
        ("", PASSWORD, ConfigError),
    ],
)
def test_policy_rejects(
    store: AccountStore, username: str, password: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        store.add_user(username, password)
    assert store.users() == []


def test_duplicate_and_unknown_users(store: AccountStore) -> None:
    store.add_user("maks", PASSWORD)
    with pytest.raises(UserExistsError):
        store.add_user("MAKS", PASSWORD)
    with pytest.raises(UnknownUserError):
        store.set_password("nobody", PASSWORD)
    with pytest.raises(UnknownUserError):
        store.grant("nobody", "case1", Role.VIEWER)


def test_failures_share_one_message(store: AccountStore) -> None:
    store.add_user("maks", PASSWORD)
    store.add_user("ira", PASSWORD)
    store.disable("ira")
    messages = set()
    for username, password in (
        ("maks", "wrong password!"),
        ("nobody", PASSWORD),
        ("ira", PASSWORD),
    ):
        with pytest.raises(AuthenticationError) as info:
            store.authenticate(username, password)
        assert not isinstance(info.value, LockedOutError)
        messages.add(str(info.value))
    assert len(messages) == 1
    assert PASSWORD not in messages.pop()


def test_lockout_per_user_expires_and_blocks_even_the_right_password(
    store: AccountStore, clock: Clock
) -> None:
    store.add_user("maks", PASSWORD)
    for _ in range(FAST.max_failures - 1):
        with pytest.raises(AuthenticationError):
            store.authenticate("maks", "wrong password!", client=f"c{_}")
    with pytest.raises(LockedOutError):
        store.authenticate("maks", "wrong password!", client="c9")
    with pytest.raises(LockedOutError):
        store.authenticate("maks", PASSWORD, client="elsewhere")
    clock.now += FAST.lockout_minutes * 60 + 1
    assert store.authenticate("maks", PASSWORD).username == "maks"


def test_lockout_per_client_covers_unknown_users(store: AccountStore, clock: Clock) -> None:
    store.add_user("maks", PASSWORD)
    for i in range(FAST.max_failures - 1):
        with pytest.raises(AuthenticationError):
            store.authenticate(f"guess{i}", PASSWORD, client="203.0.113.7")
    with pytest.raises(LockedOutError):
        store.authenticate("guess9", PASSWORD, client="203.0.113.7")
    with pytest.raises(LockedOutError):
        store.authenticate("maks", PASSWORD, client="203.0.113.7")
    assert store.authenticate("maks", PASSWORD, client="198.51.100.2").username == "maks"


def test_success_resets_the_user_counter(store: AccountStore) -> None:
    store.add_user("maks", PASSWORD)
    for _ in range(3):
        for _ in range(FAST.max_failures - 1):
            with pytest.raises(AuthenticationError):
                store.authenticate("maks", "wrong password!")
        store.authenticate("maks", PASSWORD)


def test_set_password_and_rehash_on_login(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "accounts.db"
    weak = AccountStore(path, policy=FAST, clock=clock)
    weak.add_user("maks", PASSWORD)
    weak.set_password("maks", "another long passphrase")
    with pytest.raises(AuthenticationError):
        weak.authenticate("maks", PASSWORD)
    old = _hash_of(weak, "maks")
    assert "t=1" in old
    stronger = AccountStore(
        path, policy=AccountPolicy(time_cost=2, memory_cost_kib=2048, parallelism=1), clock=clock
    )
    stronger.authenticate("maks", "another long passphrase")
    new = _hash_of(stronger, "maks")
    assert new != old and new.startswith("$argon2id$") and "m=2048,t=2" in new
    assert stronger.authenticate("maks", "another long passphrase").username == "maks"


def test_roles_per_case(store: AccountStore) -> None:
    store.add_user("maks", PASSWORD)
    store.grant("maks", "case-a", Role.EDITOR)
    store.grant("maks", "case-b", Role.VIEWER)
    assert store.role("maks", "case-a") is Role.EDITOR
    assert store.role("maks", "case-c") is None
    store.grant("maks", "case-a", Role.TRANSLATOR)
    assert store.roles("maks") == {"case-a": Role.TRANSLATOR, "case-b": Role.VIEWER}
    store.revoke("maks", "case-b")
    assert store.role("maks", "case-b") is None
    store.disable("maks")
    assert store.role("maks", "case-a") is None
    assert store.role("'; DROP TABLE users; --", "case-a") is None
    assert [u.username for u in store.users()] == ["maks"]
