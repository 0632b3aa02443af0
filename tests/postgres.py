"""A throwaway PostgreSQL cluster from Debian's packages, on a unix socket, for tests and the
load benchmark. Nothing listens on a network port; the folder is removed afterwards."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

USER = "kb"


def postgres_bin() -> str | None:
    """The newest `/usr/lib/postgresql/<n>/bin` holding `initdb`, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a cluster with trust auth on a unix socket; yields the URL of its `postgres`
    database as user `kb`. initdb refuses to run as root, so root runs it as `postgres`."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: apt-get install -y postgresql")
    root = tempfile.mkdtemp(prefix="kb-pg-")
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, sock, port = f"{root}/data", f"{root}/sock", _free_port()
    run = lambda *args: subprocess.run([*as_owner, *args], check=True,  # noqa: E731
                                       capture_output=True, text=True)
    try:
        run("mkdir", sock)
        run(f"{bindir}/initdb", "-D", data, "-U", USER, "--auth=trust", "-E", "UTF8", "-N")
        run(f"{bindir}/pg_ctl", "-D", data, "-w", "-l", f"{root}/log", "-o",
            f"-k {sock} -p {port} -c listen_addresses='' -c max_connections=200", "start")
        try:
            yield f"postgresql://{USER}@/postgres?host={sock}&port={port}"
        finally:
            run(f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def new_database(server_url: str) -> str:
    """Create an empty database on the cluster; returns its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.replace("/postgres?", f"/{name}?", 1)
