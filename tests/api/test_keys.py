"""API keys on SQLite and PostgreSQL: hashed at rest, scoped, revocable."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from lexgate.api.decision_log import open_decision_log
from lexgate.api.keys import KeyStore, Scope, has_scope, open_key_store

if TYPE_CHECKING:
    from tests.api.conftest import Store


def test_created_key_authenticates_with_its_scopes(store: Store) -> None:
    keys = open_key_store(store.url)
    try:
        plaintext = keys.create(["decide", "read_log"], label="billing service")
        assert plaintext.startswith("lxg_")
        info = keys.authenticate(plaintext)
        assert info is not None
        assert info.scopes == {Scope.DECIDE, Scope.READ_LOG}
        assert info.label == "billing service"
        assert info.allows("decide") and info.allows("read_log")
        assert not info.allows("admin")
        assert plaintext.split("_")[1] == info.key_id
    finally:
        keys.close()


def test_wrong_or_malformed_keys_are_refused(store: Store) -> None:
    keys = open_key_store(store.url)
    try:
        plaintext = keys.create(["decide"])
        tampered = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")
        for attempt in [tampered, "", "lxg_", "lxg_nokey", "abc_def_ghi", plaintext + "x"]:
            assert keys.authenticate(attempt) is None
    finally:
        keys.close()


def test_revoked_key_no_longer_authenticates(store: Store) -> None:
    keys = open_key_store(store.url)
    try:
        plaintext = keys.create(["decide"])
        key_id = plaintext.split("_")[1]
        assert keys.revoke(key_id)
        assert keys.authenticate(plaintext) is None
        assert not keys.revoke("unknown")
        (listed,) = keys.list()
        assert listed.revoked
    finally:
        keys.close()


def test_first_start_creates_one_admin_key(store: Store) -> None:
    keys = open_key_store(store.url)
    try:
        admin = keys.ensure_admin_key()
        assert admin is not None
        assert keys.ensure_admin_key() is None
        info = keys.authenticate(admin)
        assert info is not None and info.scopes == {Scope.ADMIN}
        assert all(info.allows(scope) for scope in Scope)
        assert len(keys.list()) == 1
    finally:
        keys.close()


def test_unknown_or_empty_scopes_are_refused(store: Store) -> None:
    keys = open_key_store(store.url)
    try:
        with pytest.raises(ValueError, match="unknown scope `root`"):
            keys.create(["root"])
        with pytest.raises(ValueError, match="at least one scope"):
            keys.create([])
        assert keys.list() == []
    finally:
        keys.close()


def test_admin_implies_every_scope() -> None:
    assert has_scope({"admin"}, "decide")
    assert has_scope({"admin"}, "read_log")
    assert has_scope({"decide"}, "decide")
    assert not has_scope({"decide"}, "read_log")


def test_plaintext_is_never_stored(tmp_path: Path) -> None:
    database = tmp_path / "lexgate.db"
    log = open_decision_log(str(database))  # keys share the log's file by default
    keys = KeyStore(str(database))
    admin = keys.ensure_admin_key()
    assert admin is not None
    plaintexts = [admin, *(keys.create(["decide"]) for _ in range(5))]
    keys.close()
    log.close()
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    for plaintext in plaintexts:
        secret = plaintext.split("_", 2)[2]
        assert secret.encode() not in stored
        assert plaintext.encode() not in stored
        assert plaintext.split("_")[1].encode() in stored  # the id is stored, in clear


def test_a_revocation_elsewhere_reaches_a_cached_key_at_once(tmp_path: Path) -> None:
    # Two stores on one file stand for two server workers (or a worker and the CLI): the
    # first has cached the key; the second revokes it; the first refuses it on the next call.
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    server, cli = open_key_store(url), open_key_store(url)
    try:
        plaintext = server.create(["decide"])
        assert server.authenticate(plaintext) is not None
        assert server.authenticate(plaintext) is not None  # from the cache
        assert cli.revoke(plaintext.split("_")[1])
        assert server.authenticate(plaintext) is None
        other = cli.create(["decide"])
        assert server.authenticate(other) is not None
        assert cli.revoke(other.split("_")[1])
        assert server.authenticate(other) is None
    finally:
        server.close()
        cli.close()
