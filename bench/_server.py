"""Helpers for the HTTP benches: a throwaway database, the app's commands, a batch of codes, gunicorn.

Nothing here touches the developer's own instance/: the database is a temp file or a fresh
PostgreSQL database, the keys come from the environment, and seed-demo's account list goes
to the temp dir.
"""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
COOP_USCC = "93512021MA6AY0L018"  # the demo cooperative licensed for anyue-lemon
KG_PER_LABEL = 0.5  # anyue-lemon's label quota: one label per half kilogram


class BenchError(RuntimeError):
    """The bench could not set up or run what it measures."""


# ---- databases ---------------------------------------------------------------------------


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used, or None when a server answers."""
    try:
        import psycopg

        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except Exception as error:  # noqa: BLE001 - any failure means "skip", with the reason shown
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    return None


@contextmanager
def sqlite_database(tmp: Path) -> Iterator[str]:
    """A SQLite file in the temp dir (removed with it)."""
    yield f"sqlite:///{tmp / 'bench.db'}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database gi_bench_<random>, dropped afterwards even if the bench fails."""
    import psycopg
    from psycopg import sql

    name = f"gi_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def count_scans(database_url: str, *, batch_id: int, serial: int) -> int:
    """Rows in the scan table for one code, read straight from the database."""
    query = "SELECT count(*) FROM scan WHERE batch_id = {0} AND serial = {0}"
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return conn.execute(query.format("?"), (batch_id, serial)).fetchone()[0]
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", "", 1), connect_timeout=3) as conn:
        return conn.execute(query.format("%s"), (batch_id, serial)).fetchone()[0]


# ---- the app -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_env(*, database_url: str, tmp: Path, port: int) -> dict[str, str]:
    """The environment of every app process: fresh keys, no rate limits, uploads in the temp dir."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(32),
        GI_CODE_KEY="1:" + secrets.token_hex(16),
        RATELIMIT_ENABLED="false",
        GI_BASE_URL=f"http://127.0.0.1:{port}",
        GI_UPLOAD_DIR=str(tmp / "uploads"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise BenchError(f"{' '.join(command[:4])} … failed ({done.returncode}):\n{tail}")
    return done.stdout


def prepare_schema(env: dict[str, str], tmp: Path) -> None:
    """flask init-db and seed-demo; seed-demo's account file goes to tmp, not instance/."""
    accounts = tmp / "demo-accounts.txt"
    app = f"gi_registry:create_app(overrides={{'GI_DEMO_ACCOUNTS_FILE': {str(accounts)!r}}})"
    _run([str(BIN / "flask"), "--app", "wsgi", "init-db"], env)
    _run([str(BIN / "flask"), "--app", app, "seed-demo"], env)


BATCH_SNIPPET = """
import sys
from datetime import date, timedelta

from sqlmodel import select

from gi_registry import create_app
from gi_registry.db import session_scope
from gi_registry.domain import batches
from gi_registry.models import Licensee

count, quantity, uscc = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
app = create_app()
keys = app.extensions["code_keys"]
with app.app_context(), session_scope() as session:
    licensee = session.exec(select(Licensee).where(Licensee.uscc == uscc)).one()
    data = batches.BatchInput(
        product_code="anyue-lemon",
        quantity=quantity,
        unit="kg",
        harvested_on=date.today() - timedelta(days=7),  # well within the 90-day shelf life
        origin_code="512021",
    )
    batch = batches.register_batch(session=session, licensee=licensee, data=data, actor=None)
    batches.issue_labels(session=session, batch=batch, count=count, keys=keys, actor=None)
    print(batch.id)
    for serial in range(1, count + 1):
        print(batches.label_for(batch=batch, serial=serial, keys=keys, base_url="").code)
"""


@dataclass(frozen=True)
class Batch:
    id: int
    codes: list[str]  # codes[i] has serial i + 1


def issue_batch(env: dict[str, str], count: int) -> Batch:
    """One anyue-lemon batch of the demo cooperative with `count` issued labels, through the domain."""
    quantity = max(10_000.0, count * KG_PER_LABEL)
    out = _run([sys.executable, "-c", BATCH_SNIPPET, str(count), str(quantity), COOP_USCC], env).split()
    batch_id, codes = int(out[0]), out[1:]
    if len(codes) != count:
        raise BenchError(f"asked for {count} codes, got {len(codes)}")
    return Batch(id=batch_id, codes=codes)


# ---- gunicorn ----------------------------------------------------------------------------


def wait_healthy(port: int, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"gunicorn exited with {server.returncode} before /healthz answered")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise BenchError(f"/healthz did not answer within {timeout:.0f} s")


def stop(server: subprocess.Popen) -> None:
    """SIGTERM the gunicorn master we started (it stops its workers); SIGKILL its group if it hangs."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # the group of the master we started, by its id
            server.wait(timeout=5)


@contextmanager
def gunicorn(
    env: dict[str, str], *, port: int, log: Path, workers: int = 2, config: Path | None = None
) -> Iterator[None]:
    """`gunicorn -w 2 wsgi:app` from the repo root, healthy on return, stopped on exit.

    gunicorn would read ./gunicorn.conf.py by itself; the bench names its config instead
    (an empty one by default: sync workers, no access log) so the setting is the same run to run.
    """
    if config is None:
        config = log.with_name("gunicorn.bench.conf.py")
        config.write_text("# gunicorn defaults\n")
    command = [str(BIN / "gunicorn"), "-c", str(config), "-w", str(workers), "-b", f"127.0.0.1:{port}", "wsgi:app"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        try:
            wait_healthy(port, server)
        except BenchError as error:
            tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-15:])
            raise BenchError(f"{error}\n{tail}") from None
        yield
    finally:
        stop(server)
