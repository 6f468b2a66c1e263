"""A throwaway PostgreSQL server for the tests: Debian's ``postgresql`` binaries, a cluster made by
``initdb`` in a temporary folder, started by ``pg_ctl`` on a free port of 127.0.0.1, never a mock.

``make test`` installs the package when ``/usr/lib/postgresql/*/bin/initdb`` is missing (``make
postgresql``) and sets FLOPWISE_TEST_PG=required, so that there a missing server fails the tests; run
directly (plain pytest) without the binaries, the PostgreSQL tests are skipped with the reason.

The server refuses to run as root: when the tests run as root (containers, CI) the cluster belongs to
the ``postgres`` user that the Debian package creates, and initdb / pg_ctl run through ``su postgres``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REQUIRED_ENV = "FLOPWISE_TEST_PG"
"""``required`` under ``make test``: a missing server is then an error, not a skip."""


def pg_bin() -> Path | None:
    """The newest installed ``/usr/lib/postgresql/<version>/bin`` that holds initdb, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def required() -> bool:
    return os.environ.get(REQUIRED_ENV) == "required"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    """The command as the cluster's owner: ``su postgres -c`` when running as root."""
    if os.geteuid() != 0:
        return argv
    return ["su", "postgres", "-c", shlex.join(argv)]


@dataclass
class Cluster:
    """A running throwaway cluster: ``url(db)`` for a database on it, ``create_database()`` for a new one."""

    bin: Path
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "pg"

    def url(self, database: str = "flopwise") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            [
                str(self.bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atqc",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database; returns its URL."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log_tail(self, n: int = 4000) -> str:
        try:
            return (self.folder / "pg.log").read_text()[-n:]
        except OSError:
            return ""


@contextlib.contextmanager
def cluster(bin_dir: Path | None = None, *, durable: bool = False) -> Iterator[Cluster]:
    """Start a cluster in a new temporary folder (``initdb -A trust``, then ``pg_ctl start`` on a free
    port, Unix socket in the folder), create the database ``flopwise``, yield it; stop it (fast
    shutdown) and remove the folder afterwards, whatever happened. ``durable=False`` (the tests) turns
    fsync off, which a killed client does not need; a benchmark passes True to keep the server's
    defaults."""
    bin_dir = bin_dir or pg_bin()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin); run `make postgresql`")
    folder = Path(tempfile.mkdtemp(prefix="flopwise-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    port = free_port()
    pg = Cluster(bin_dir, folder, port)

    def run(argv: list[str]) -> None:
        done = subprocess.run(_as_server_user(argv), capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(
                f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}\n{pg.log_tail()}"
            )

    started = False
    try:
        run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(pg.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not durable:
            options += " -c fsync=off"
        run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(pg.data),
                "-o",
                options,
                "-l",
                str(folder / "pg.log"),
                "-w",
                "start",
            ]
        )
        started = True
        pg.create_database("flopwise")
        yield pg
    finally:
        if started:
            subprocess.run(
                _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(pg.data), "-m", "fast", "-w", "stop"]),
                capture_output=True,
                timeout=120,
            )
        shutil.rmtree(folder, ignore_errors=True)
