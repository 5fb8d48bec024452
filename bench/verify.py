"""Verification speed and exactness: /q/<code> and /api/v1/verify/<code> against /healthz.

    .venv/bin/python bench/verify.py [--seconds 10] [--concurrency 16] [--db sqlite|postgres|both] [--codes 2000]

For each database (a SQLite file in a temp dir; a fresh PostgreSQL database, dropped
afterwards, when a server answers) it loads the demo data, issues one batch of
--codes labels through the domain, and serves the app with `gunicorn -w 2`.

Speed: --concurrency client threads, one connection each (kept alive where the
server allows; gunicorn's sync workers close it after every answer, so each request
reconnects, alike for all targets), hit /healthz (the contract's speed reference),
the scan page /q/<code> and the JSON verify call, cycling over the many different
codes (every call records a scan).  Latency includes queueing for the two workers.
The client shares the CPU with the server, so the three targets are measured the
same way and interleaved (healthz, q, verify, healthz, q, verify; --seconds in total
per target) and compared as ratios.  Target: each verification path >= 0.7x /healthz.
gunicorn runs with an empty config file, not ./gunicorn.conf.py (--gunicorn-conf to choose).

Exactness: 300 requests (30 threads x 10, released by a barrier) verify one fresh
code at once; one more call must report scans.count == 301 and the scan table must
hold 301 rows for the code.  Exit status 1 on a lost scan or any 5xx.

--profile N times N in-process requests (Flask test client, SQLite) of /healthz, the JSON
call, the page, and the page with its verification replaced by a fixed result (its floor
with no database work), then runs N /q/<code> under cProfile and prints the top costs, so
a missed target can be explained.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import _server
from _server import BenchError

HOST = "127.0.0.1"
RATIO_TARGET = 0.7
HEADERS = {"User-Agent": "gi-bench/1 (python http.client)", "Accept-Language": "zh-CN"}
GENUINE_MARK = b'"verdict":"genuine"'
EXACT_THREADS, EXACT_EACH = 30, 10


# ---- load generator ----------------------------------------------------------------------


@dataclass
class Tally:
    """Responses of one target, summed over its interleaved phases."""

    latencies: list[float] = field(default_factory=list)  # seconds, 200 responses only
    statuses: Counter = field(default_factory=Counter)
    failures: int = 0  # connection errors and timeouts
    genuine: int = 0  # bodies naming the verdict genuine (the JSON call)
    seconds: float = 0.0

    def add(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.failures += other.failures
        self.genuine += other.genuine
        self.seconds += other.seconds

    @property
    def ok(self) -> int:
        return self.statuses[200]

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


@dataclass(frozen=True)
class Target:
    name: str
    path: Callable[[], str]  # the next path to request; thread-safe


def cycling(prefix: str, codes: list[str]) -> Callable[[], str]:
    """Paths over all codes in turn; itertools.count's next() is atomic under the GIL."""
    counter = itertools.count()
    return lambda: prefix + codes[next(counter) % len(codes)]


def request(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    """GET over a kept-alive connection; http.client reopens it when the server closed it."""
    conn.request("GET", path, headers=HEADERS)
    response = conn.getresponse()
    return response.status, response.read()


def client(target: Target, port: int, start: threading.Barrier, deadline: list[float]) -> Tally:
    """One client thread: requests back to back on its own connection until the deadline."""
    tally = Tally()
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    start.wait()
    while time.perf_counter() < deadline[0]:
        began = time.perf_counter()
        try:
            status, body = request(conn, target.path())
        except (OSError, http.client.HTTPException):
            conn.close()
            tally.failures += 1
            continue
        tally.statuses[status] += 1
        if status == 200:
            tally.latencies.append(time.perf_counter() - began)
            tally.genuine += GENUINE_MARK in body
    conn.close()
    return tally


def hammer(target: Target, port: int, *, seconds: float, concurrency: int) -> Tally:
    """`concurrency` clients on one target for `seconds`; the time runs until the last answer."""
    deadline = [0.0]
    began = [0.0]

    def release() -> None:
        began[0] = time.perf_counter()
        deadline[0] = began[0] + seconds

    start = threading.Barrier(concurrency, action=release)
    total = Tally()
    with ThreadPoolExecutor(concurrency) as pool:
        for tally in pool.map(lambda _: client(target, port, start, deadline), range(concurrency)):
            total.add(tally)
    total.seconds = time.perf_counter() - began[0]
    return total


def interleaved(targets: list[Target], port: int, *, seconds: float, concurrency: int, rounds: int, warmup: float):
    """Each target `seconds` in total, in `rounds` alternating phases, after a discarded warm-up."""
    for target in targets:
        hammer(target, port, seconds=warmup, concurrency=concurrency)
    tallies = {target.name: Tally() for target in targets}
    for _round in range(rounds):
        for target in targets:
            tallies[target.name].add(hammer(target, port, seconds=seconds / rounds, concurrency=concurrency))
    return tallies


# ---- exactness ---------------------------------------------------------------------------


def scan_count(body: bytes) -> int:
    return json.loads(body).get("scans", {}).get("count", -1)


def burst(port: int, path: str, *, threads: int, each: int) -> tuple[Counter, Counter]:
    """threads x each requests released at once by a barrier: statuses (0 = no answer), scans.count seen."""
    start = threading.Barrier(threads)

    def one_thread(_) -> tuple[Counter, Counter]:
        statuses, counts = Counter(), Counter()
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
        conn.connect()
        start.wait()
        for _i in range(each):
            try:
                status, body = request(conn, path)
            except (OSError, http.client.HTTPException):
                conn.close()
                statuses[0] += 1
                continue
            statuses[status] += 1
            if status == 200:
                counts[scan_count(body)] += 1
        conn.close()
        return statuses, counts

    statuses, counts = Counter(), Counter()
    with ThreadPoolExecutor(threads) as pool:
        for thread_statuses, thread_counts in pool.map(one_thread, range(threads)):
            statuses.update(thread_statuses)
            counts.update(thread_counts)
    return statuses, counts


@dataclass
class Exactness:
    statuses: Counter
    reported: int  # scans.count of the extra call
    rows: int  # scan rows in the database
    expected: int  # the burst and the extra call
    last_verdict: str  # of the extra call; past GI_COPY_MAX_SCANS it is a copy warning
    burst_counts: Counter  # scans.count answered during the burst: equal values are concurrent reads

    @property
    def exact(self) -> bool:
        return self.reported == self.rows == self.expected and self.statuses[200] == self.expected


def check_exactness(port: int, database_url: str, batch_id: int, serial: int, code: str) -> Exactness:
    path = f"/api/v1/verify/{code}"
    statuses, counts = burst(port, path, threads=EXACT_THREADS, each=EXACT_EACH)
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    status, body = request(conn, path)
    conn.close()
    statuses[status] += 1
    answer = json.loads(body) if status == 200 else {}
    rows = _server.count_scans(database_url, batch_id=batch_id, serial=serial)
    expected = EXACT_THREADS * EXACT_EACH + 1
    reported = answer.get("scans", {}).get("count", -1)
    return Exactness(statuses, reported, rows, expected, answer.get("verdict", "?"), counts)


# ---- one database ------------------------------------------------------------------------


@dataclass
class Outcome:
    db: str
    tallies: dict[str, Tally] | None = None
    exactness: Exactness | None = None
    error: str = ""
    skipped: str = ""

    @property
    def failed(self) -> bool:
        if self.error:
            return True
        if self.skipped:
            return False
        errors_5xx = sum(t.server_errors for t in self.tallies.values()) + sum(
            n for s, n in self.exactness.statuses.items() if s >= 500
        )
        return errors_5xx > 0 or not self.exactness.exact


def targets_for(codes: list[str]) -> list[Target]:
    return [
        Target("/healthz", lambda: "/healthz"),
        Target("/q/<code>", cycling("/q/", codes)),
        Target("/api/v1/verify/<code>", cycling("/api/v1/verify/", codes)),
    ]


def bench_database(db: str, database_url: str, tmp: Path, args) -> Outcome:
    port = _server.free_port()
    env = _server.app_env(database_url=database_url, tmp=tmp, port=port)
    _server.prepare_schema(env, tmp)
    batch = _server.issue_batch(env, args.codes + 1)  # the last code stays fresh for the exactness check
    codes, fresh = batch.codes[:-1], batch.codes[-1]
    print(f"  batch {batch.id}: {len(codes):,} codes for the load, 1 fresh code for the exactness check")
    with _server.gunicorn(env, port=port, log=tmp / "gunicorn.log", config=args.gunicorn_conf):
        tallies = interleaved(
            targets_for(codes),
            port,
            seconds=args.seconds,
            concurrency=args.concurrency,
            rounds=args.rounds,
            warmup=args.warmup,
        )
        report_load(tallies)
        exactness = check_exactness(port, database_url, batch.id, len(batch.codes), fresh)
        report_exactness(exactness)
    return Outcome(db, tallies=tallies, exactness=exactness)


def run_database(db: str, args) -> Outcome:
    print(f"\n== {db}")
    if db == "postgres":
        reason = _server.postgres_unavailable()
        if reason:
            print(f"  SKIPPED: no PostgreSQL server answers at {_server.PG_ADMIN_URL} ({reason})")
            return Outcome(db, skipped=reason)
    with tempfile.TemporaryDirectory(prefix="gi-bench-") as tmp_name:
        tmp = Path(tmp_name)
        databases = {"sqlite": lambda: _server.sqlite_database(tmp), "postgres": _server.postgres_database}
        try:
            with databases[db]() as database_url:
                return bench_database(db, database_url, tmp, args)
        except BenchError as error:
            print(f"  ERROR: {error}")
            return Outcome(db, error=str(error))


# ---- reporting ---------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def report_load(tallies: dict[str, Tally]) -> None:
    base = tallies["/healthz"].rps
    for name, tally in tallies.items():
        others = {s: n for s, n in sorted(tally.statuses.items()) if s != 200}
        extra = f", not 200: {others}" if others else ""
        extra += f", connection failures: {tally.failures}" if tally.failures else ""
        if name.startswith("/api"):
            extra += f", genuine verdicts {tally.genuine:,}/{tally.ok:,}"
        ratio = f", {tally.rps / base:.2f}x /healthz" if base and name != "/healthz" else ""
        print(f"  {name:<22} {tally.rps:8,.0f} req/s  p99 {tally.percentile_ms(0.99):7.1f} ms{ratio}{extra}")
    for name in list(tallies)[1:]:
        ratio = tallies[name].rps / base if base else 0.0
        goal = f"target >= {RATIO_TARGET}: {verdict(ratio >= RATIO_TARGET)}"
        print(f"  ratio {name:<22} / healthz = {ratio:.2f} ({goal})")


def report_exactness(result: Exactness) -> None:
    statuses = dict(sorted(result.statuses.items()))
    print(f"  exactness: {EXACT_THREADS * EXACT_EACH} concurrent verifies of one code + 1, statuses {statuses}")
    if result.exact:
        print(f"  no scan lost: {result.reported}/{result.expected} (api), {result.rows}/{result.expected} (rows)")
    else:
        print(
            f"  SCAN COUNT MISMATCH: api reports {result.reported}, the scan table holds {result.rows}, "
            f"expected {result.expected}"
        )
    shared = sum(n for n in result.burst_counts.values() if n > 1)
    print(
        f"  counts answered during the burst: {len(result.burst_counts)} distinct values for "
        f"{result.burst_counts.total()} answers ({shared} answers shared a value with a concurrent scan)"
    )
    print(f"  scan no. {result.expected}'s verdict: {result.last_verdict!r} (copy detection after 20 scans)")


def summary(outcomes: list[Outcome], args) -> None:
    setting = f"{args.seconds:g} s per target, {args.concurrency} clients, gunicorn -w 2, {os.cpu_count()} CPUs"
    print(f"\n== summary ({setting})")
    print(f"  {'db':<9}{'target':<24}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'/healthz':>10}")
    for outcome in outcomes:
        if not outcome.tallies:
            print(f"  {outcome.db:<9}{'SKIPPED' if outcome.skipped else 'ERROR'}: {outcome.skipped or outcome.error}")
            continue
        base = outcome.tallies["/healthz"].rps
        for name, tally in outcome.tallies.items():
            ratio = tally.rps / base if base else 0.0
            print(
                f"  {outcome.db:<9}{name:<24}{tally.rps:9,.0f}{tally.percentile_ms(0.5):9.1f}"
                f"{tally.percentile_ms(0.99):9.1f}{ratio:9.2f}x"
            )
        exact = outcome.exactness
        print(f"  {outcome.db:<9}{'exactness':<24}{exact.rows}/{exact.expected} rows: {verdict(exact.exact)}")
    print(f"  target: /q and /api/v1/verify >= {RATIO_TARGET}x /healthz")


# ---- profile -----------------------------------------------------------------------------


PROFILE_SNIPPET = """
import cProfile, pstats, sys, time
from gi_registry import create_app
from gi_registry import intake

requests, codes = int(sys.argv[1]), sys.stdin.read().split()
app = create_app()
client = app.test_client()


def ms_each(path_of):
    for i in range(50):  # warm caches, templates and the pool
        client.get(path_of(i))
    start = time.perf_counter()
    for i in range(requests):
        assert client.get(path_of(i)).status_code == 200
    return (time.perf_counter() - start) / requests * 1000


code_of = lambda i: codes[i % len(codes)]
print(f"in process, {requests} requests each, unprofiled:")
print(f"  /healthz                {ms_each(lambda i: '/healthz'):.3f} ms")
print(f"  /api/v1/verify/<code>   {ms_each(lambda i: f'/api/v1/verify/{code_of(i)}'):.3f} ms")
print(f"  /q/<code>               {ms_each(lambda i: f'/q/{code_of(i)}'):.3f} ms")
# The page's floor: the verification replaced by one fixed result, so no database work at all.
with app.test_request_context():
    fixed = intake.record_scan(codes[0], channel="page")
record_scan, intake.record_scan = intake.record_scan, lambda code, **_: fixed
floor = ms_each(lambda i: f"/q/{code_of(i)}")
print(f"  /q/<code>, no database  {floor:.3f} ms (verification replaced by a fixed result)")
intake.record_scan = record_scan

profiler = cProfile.Profile()
profiler.enable()
for i in range(requests):
    assert client.get(f"/q/{code_of(i)}").status_code == 200
profiler.disable()
stats = pstats.Stats(profiler).strip_dirs()
print(f"{requests} x /q/<code> in {stats.total_tt:.2f} s = {stats.total_tt / requests * 1000:.2f} ms each (profiled)")
stats.sort_stats("cumulative").print_stats(40)
stats.sort_stats("tottime").print_stats(25)
"""


def profile(args) -> None:
    """cProfile over in-process /q/<code> requests on a temp SQLite database."""
    with tempfile.TemporaryDirectory(prefix="gi-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = _server.app_env(database_url=f"sqlite:///{tmp / 'bench.db'}", tmp=tmp, port=5000)
        _server.prepare_schema(env, tmp)
        batch = _server.issue_batch(env, args.codes)
        command = [sys.executable, "-c", PROFILE_SNIPPET, str(args.profile)]
        subprocess.run(command, cwd=_server.ROOT, env=env, input="\n".join(batch.codes), text=True, check=True)


# ---- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per target (default 10)")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads (default 16)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--codes", type=int, default=2000, help="distinct label codes to cycle over (default 2000)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved phases per target (default 2)")
    parser.add_argument("--warmup", type=float, default=1.0, help="discarded seconds per target first (default 1)")
    parser.add_argument(
        "--gunicorn-conf", type=Path, default=None, help="a gunicorn config to use (default: none, plain -w 2)"
    )
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="only profile N in-process /q requests")
    args = parser.parse_args()
    if args.profile:
        profile(args)
        return 0
    print(
        f"verification bench: {args.seconds:g} s per target in {args.rounds} interleaved phases, "
        f"{args.concurrency} clients, {args.codes:,} codes"
    )
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    outcomes = [run_database(db, args) for db in databases]
    summary(outcomes, args)
    return 1 if any(outcome.failed for outcome in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
