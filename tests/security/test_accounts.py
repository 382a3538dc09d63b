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


def _fail(store: AccountStore, name: str, client: str, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(AuthenticationError) as info:
            store.authenticate(name, "wrong password!", client=client)
        assert not isinstance(info.value, LockedOutError)


def test_backoff_per_account_and_client_grows_exponentially(
    store: AccountStore, clock: Clock
) -> None:
    store.add_user("maks", PASSWORD)
    _fail(store, "maks", "203.0.113.7", FAST.max_failures)
    waits = []
    for _ in range(4):
        with pytest.raises(LockedOutError) as info:  # the password is not even checked
            store.authenticate("maks", PASSWORD, client="203.0.113.7")
        waits.append(info.value.retry_after)
        clock.now += info.value.retry_after
        _fail(store, "maks", "203.0.113.7")
    assert waits == [1, 2, 4, 8]
    # The same account from another address, and another account from this address,
    # sign in at once with the right password.
    assert store.authenticate("maks", PASSWORD, client="198.51.100.2").username == "maks"
    store.add_user("olena", PASSWORD)
    assert store.authenticate("olena", PASSWORD, client="203.0.113.7").username == "olena"


def test_backoff_is_capped_and_never_a_hard_lock(store: AccountStore, clock: Clock) -> None:
    store.add_user("maks", PASSWORD)
    for _ in range(30):
        clock.now += 10_000
        _fail(store, "maks", "203.0.113.7")
    with pytest.raises(LockedOutError) as info:
        store.authenticate("maks", PASSWORD, client="203.0.113.7")
    assert info.value.retry_after == FAST.lockout_minutes * 60
    assert "minutes" in str(info.value)
    clock.now += FAST.lockout_minutes * 60
    assert store.authenticate("maks", PASSWORD, client="203.0.113.7").username == "maks"


def test_a_shared_address_cannot_lock_colleagues_out(store: AccountStore) -> None:
    """The review's attack: failures from the newsroom's one address (a NAT or the TLS
    proxy) against many names, and against one colleague in particular."""
    newsroom = "192.0.2.10"
    for name in ("anna", "olena", "maks"):
        store.add_user(name, PASSWORD)
    for i in range(12):
        _fail(store, f"guess{i}", newsroom, FAST.max_failures)
    _fail(store, "anna", newsroom, FAST.max_failures)
    assert store.authenticate("olena", PASSWORD, client=newsroom).username == "olena"
    assert store.authenticate("maks", PASSWORD, client=newsroom).username == "maks"
    # anna herself, from this very address, has to wait for the back-off...
    with pytest.raises(LockedOutError):
        store.authenticate("anna", PASSWORD, client=newsroom)
    # ...but not from her phone, nor once an admin lifts it.
    assert store.authenticate("anna", PASSWORD, client="198.51.100.20").username == "anna"
    assert store.unlock(client=newsroom) >= 1
    assert store.authenticate("anna", PASSWORD, client=newsroom).username == "anna"


def test_guessing_from_many_addresses_spares_the_owners_usual_address(
    store: AccountStore, clock: Clock
) -> None:
    store.add_user("maks", PASSWORD)
    store.authenticate("maks", PASSWORD, client="198.51.100.2")  # his usual address
    wide = 4 * FAST.max_failures
    for i in range(wide):
        _fail(store, "maks", f"203.0.113.{i}")
    with pytest.raises(LockedOutError):  # a new address waits: it may be the guesser
        store.authenticate("maks", PASSWORD, client="203.0.113.200")
    assert store.authenticate("maks", PASSWORD, client="198.51.100.2").username == "maks"
    assert store.unlock(username="MAKS") >= 1
    assert store.authenticate("maks", PASSWORD, client="203.0.113.200").username == "maks"


def test_unknown_names_back_off_like_known_ones(store: AccountStore) -> None:
    store.add_user("maks", PASSWORD)
    _fail(store, "nobody", "203.0.113.7", FAST.max_failures)
    _fail(store, "maks", "203.0.113.7", FAST.max_failures)
    messages = set()
    for name in ("nobody", "maks"):
        with pytest.raises(LockedOutError) as info:
            store.authenticate(name, "wrong password!", client="203.0.113.7")
        messages.add(str(info.value))
    assert len(messages) == 1


def test_success_resets_the_pair_counter(store: AccountStore) -> None:
    store.add_user("maks", PASSWORD)
    for _ in range(3):
        _fail(store, "maks", "c1", FAST.max_failures - 1)
        assert store.authenticate("maks", PASSWORD, client="c1").username == "maks"


def test_set_password_lifts_the_backoff(store: AccountStore) -> None:
    store.add_user("maks", PASSWORD)
    _fail(store, "maks", "c1", FAST.max_failures)
    with pytest.raises(LockedOutError):
        store.authenticate("maks", PASSWORD, client="c1")
    store.set_password("maks", PASSWORD + " new")
    assert store.authenticate("maks", PASSWORD + " new", client="c1").username == "maks"


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
