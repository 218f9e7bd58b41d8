"""A throwaway PostgreSQL server for the tests: the binaries Debian's ``postgresql`` package
puts under ``/usr/lib/postgresql/<version>/bin`` (``make postgres`` installs them when
missing), a data directory in a temporary directory, trust authentication for one
superuser, a free localhost port and the unix socket inside the temporary directory.

PostgreSQL refuses to run as root: as root (CI), the directory is handed to the
``postgres`` system user (created by the package) and the server's own commands run as
that user through ``runuser``; otherwise they run as the current user. SQL goes through
the ``psql`` of the same version, so the tests need no database driver.

    with PostgresServer.start() as server:
        server.query("select 1")
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Where Debian's packages (and the PGDG ones) put each version's server binaries.
BIN_GLOB = "/usr/lib/postgresql/*/bin"
#: The system user the package creates; the server runs as it when the tests run as root.
SYSTEM_USER = "postgres"
#: The superuser ``initdb`` creates, trusted on localhost: no password anywhere.
SUPERUSER = "postgres"
#: Servers tried before giving up (a free port can be taken between finding and binding it).
ATTEMPTS = 3


def find_bin_dir(pattern: str = BIN_GLOB) -> Path | None:
    """The newest installed version's bin directory (one with ``pg_ctl``), or None."""
    found = [Path(path).parent for path in glob.glob(f"{pattern}/pg_ctl")]
    if not found:
        return None

    def version(bin_dir: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in bin_dir.parent.name.split(".") if part.isdigit())

    return max(found, key=version)


def free_port() -> int:
    """A localhost TCP port nothing listens on (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresError(RuntimeError):
    """The server could not be set up; the message says what and shows its log."""


@dataclass
class PostgresServer:
    """A running server of ``bin_dir`` on ``host:port`` with its data under ``root``."""

    bin_dir: Path
    root: Path
    port: int
    host: str = "127.0.0.1"
    user: str = SUPERUSER
    database: str = "callrecords"
    run_as: str | None = None  # the system user the server runs as (when we are root)
    _started: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @classmethod
    def start(cls, bin_dir: Path | None = None, database: str = "callrecords") -> PostgresServer:
        """initdb, start and wait for a new server; stopped and removed again by ``stop``
        (or the ``with`` block). Nothing is left behind when it fails to start."""
        bin_dir = bin_dir or find_bin_dir()
        if bin_dir is None:
            raise PostgresError(f"no PostgreSQL server binaries under {BIN_GLOB}: run `make postgres` "
                                "(installs Debian's postgresql package)")
        run_as = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SYSTEM_USER)
            except KeyError:
                raise PostgresError(f"running as root, but there is no {SYSTEM_USER!r} system user to run "
                                    "PostgreSQL as (Debian's postgresql package creates it)") from None
            run_as = SYSTEM_USER
        for attempt in range(1, ATTEMPTS + 1):
            root = Path(tempfile.mkdtemp(prefix="tap-callrecords-pg-"))
            server = cls(bin_dir=bin_dir, root=root, port=free_port(), database=database, run_as=run_as)
            try:
                server._init_and_start()
            except PostgresError:
                server.stop()
                if attempt == ATTEMPTS:  # another process may have taken the free port first
                    raise
            except BaseException:
                server.stop()
                raise
            else:
                return server
        raise AssertionError("unreachable")

    def _init_and_start(self) -> None:
        self.socket_dir.mkdir()
        if self.run_as:
            # The server's user must reach its directory: the temporary directory is 0700.
            shutil.chown(self.root, self.run_as)
            shutil.chown(self.socket_dir, self.run_as)
        self._server_command("initdb", "--pgdata", str(self.data_dir), "--username", self.user,
                             "--auth", "trust", "--encoding", "UTF8", "--locale", "C", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._started = True  # from here on, stop() tries pg_ctl stop
        self._server_command("pg_ctl", "start", "--pgdata", str(self.data_dir), "--log", str(self.log_file),
                             "--wait", "--timeout", "60", "--options", options)
        self._wait_until_ready()
        self.psql("-d", "postgres", "-c", f'create database "{self.database}"')

    def _server_command(self, program: str, *args: str) -> None:
        """Run one of the server's own programs, as the server's user."""
        command = [str(self.bin_dir / program), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root)
        if result.returncode != 0:
            raise PostgresError(f"{' '.join(command)} failed ({result.returncode}):\n"
                                f"{result.stdout}{result.stderr}{self.server_log()}")

    def _wait_until_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            ready = subprocess.run([str(self.bin_dir / "pg_isready"), "-h", self.host, "-p", str(self.port),
                                    "-U", self.user, "-d", "postgres"], capture_output=True, timeout=30)
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise PostgresError(f"PostgreSQL on port {self.port} not ready after {timeout} s\n"
                                    f"{self.server_log()}")
            time.sleep(0.2)

    def server_log(self) -> str:
        try:
            return f"--- {self.log_file}:\n{self.log_file.read_text(errors='replace')[-3000:]}"
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory, whatever state it is in."""
        try:
            if self._started and (self.data_dir / "postmaster.pid").exists():
                self._server_command("pg_ctl", "stop", "--pgdata", str(self.data_dir), "-m", "fast",
                                     "--wait", "--timeout", "60")
        finally:
            self._started = False
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- SQL through psql ---------------------------------------------------------------

    def psql(self, *args: str) -> str:
        """``psql`` against this server (as its superuser, over TCP); its stdout."""
        command = [str(self.bin_dir / "psql"), "-h", self.host, "-p", str(self.port), "-U", self.user,
                   "-X", "-v", "ON_ERROR_STOP=1", "-q", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
        if result.returncode != 0:
            raise PostgresError(f"psql {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result.stdout

    def query(self, sql: str) -> list[tuple[str, ...]]:
        """The rows of one SQL statement, each as a tuple of text values (NULL as '')."""
        out = self.psql("-d", self.database, "-A", "-t", "-F", "\x1f", "-c", sql)
        return [tuple(line.split("\x1f")) for line in out.splitlines() if line]

    def scalar(self, sql: str) -> str:
        [[value]] = self.query(sql)
        return value

