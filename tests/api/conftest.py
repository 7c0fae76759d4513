"""Store fixtures: every log/key test runs on SQLite and on a throwaway PostgreSQL server."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def _postgres_bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    candidates += ["/usr/local/bin", "/usr/local/pgsql/bin"]
    for directory in candidates:
        if os.access(Path(directory) / "initdb", os.X_OK) and os.access(
            Path(directory) / "pg_ctl", os.X_OK
        ):
            return Path(directory)
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://lexgate@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pytest.importorskip("psycopg", reason="psycopg is not installed in the venv")
    # initdb refuses to run as root, so the cluster belongs to an unprivileged user; mkdtemp
    # in /tmp rather than pytest's tmp_path, whose root-only parent that user cannot enter.
    run_as: dict[str, Any] = {}
    base = Path(tempfile.mkdtemp(prefix="lexgate-pg-"))
    if os.geteuid() == 0:
        account = _unprivileged_account()
        run_as = {"user": account.pw_uid, "group": account.pw_gid}
        os.chown(base, account.pw_uid, account.pw_gid)
    data, port = base / "data", _free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    try:
        subprocess.run(
            [bin_dir / "initdb", "-D", data, "-U", "lexgate", "--auth=trust", "-E", "UTF8",
             "--no-sync"],
            check=True, capture_output=True, env=env, cwd=base, **run_as,
        )  # fmt: skip
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200"
        subprocess.run(
            [bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", base / "server.log", "-w",
             "start"],
            check=True, capture_output=True, env=env, cwd=base, **run_as,
        )  # fmt: skip
    except subprocess.CalledProcessError as error:
        log = base / "server.log"
        detail = log.read_text() if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {error.stderr!r}\n{detail}") from error
    try:
        yield PostgresServer(port=port)
    finally:
        subprocess.run(
            [bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True, env=env, cwd=base, **run_as,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def _unprivileged_account() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root with neither a `postgres` nor a `nobody` account")


@dataclass
class Store:
    """A fresh, empty store and raw SQL access to it for tampering like an attacker would."""

    kind: str
    url: str

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                cursor = conn.execute(sql.replace("?", "%s"), params)
                return cursor.fetchall() if cursor.description else []
        database = sqlite3.connect(self.url.removeprefix("sqlite:///"))
        try:
            with database:
                return database.execute(sql, params).fetchall()
        finally:
            database.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        return Store("sqlite", f"sqlite:///{tmp_path / 'lexgate.db'}")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return Store("postgresql", server.create_database())
