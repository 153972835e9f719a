#!/usr/bin/env python3
"""Posko's load benchmark (see BENCHMARKS.md for results and how to read them).

For each backend it loads `posko seed-demo` data, starts the server, drives five
operations with wrk (32 connections), captures the exact SQL each request issues and runs
that SQL against the database alone (pgbench, 8 clients, for PostgreSQL; 8 threads of
Python's sqlite3 for SQLite) for the same time: the captured ceiling. Beside it, the
simplest correct SQL for the same answer (bench/simplest/, the access rule as a
predicate; checked against the API's answer first) gives the simplest ceiling. Two writes
(W1 reportDispute, W2 addNote with expectedVersion) run against a hand-written minimal
transaction (bench/simplest/w*.sql). It reports requests/s, p50/p99 latency, the share of
each ceiling, SQL statements per request, the server's peak RSS and the time from start
to ready.

  bench/run.py --backend postgres            full run: 200 000 disputes, 20 s per query
  bench/run.py --backend sqlite --write      …and append the table to BENCHMARKS.md
  bench/run.py --quick                       a few seconds on small data (CI)
"""

import argparse
import json
import os
import platform
import re
try:
    # The SQLite that Posko bundles (libsqlite3-sys) is far newer than Debian's; pysqlite3
    # carries a recent one, so the ceiling parses and plans the statements as Posko does.
    import pysqlite3 as sqlite3
except ImportError:
    import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-secret-benchmark-secret-0123"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432"
# The database is on loopback, where TLS protects nothing: neither Posko (sslmode in its
# URL) nor pgbench (PGSSLMODE) negotiates it, so both sides measure the work and neither
# pays rustls or OpenSSL (about a tenth of Posko's CPU per list request under
# `sslmode=prefer`, BENCHMARKS.md session 9). A remote database in production pays TLS
# in every client alike.
SSLMODE = "disable"
PORT = 18777
# Posko's connections to PostgreSQL: twice the cores the database runs on, PostgreSQL's
# own rule of thumb, since here it shares this machine's cores with Posko and wrk. More
# connections than cores only queue inside the database, and on two shared cores the
# scheduler's queue is the tail: Q2's p99 was 27 ms with the default 10 and 15 ms with
# 4 (BENCHMARKS.md, session 11). A deployment sets POSKO_DB_MAX_CONNECTIONS the same way
# for its own database server. SQLite keeps the default: its pool is for readers only.
PG_CONNECTIONS = 2 * (os.cpu_count() or 1)
DATABASE = "posko_bench"
QUERIES = ["q1", "q1_police", "q2", "q3", "q4", "q5"]
LABELS = {
    "q1": "Q1 provinces (38 rows), PUBLIC (a kept answer after the first)",
    "q1_police": "Q1 provinces (38 rows), POLICE (a kept answer of its own after the first)",
    "q2": "Q2 50 disputes of a province by reportedAt, POLICE",
    "q3": "Q3 one dispute + last 20 events, POLICE",
    "q4": "Q4 disputeStats by status, one province, POLICE",
    "q5": "Q5 dashboard: stats + 20 disputes + regions + agencies, POLICE",
}


def sh(*args, env=None, check=True, capture=True):
    result = subprocess.run(args, env=env, check=False, text=True, capture_output=capture)
    if check and result.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result


def base_env(database_url, log="warn", production=False):
    env = dict(os.environ)
    env.update({
        "POSKO_DATABASE_URL": database_url,
        "POSKO_LISTEN": f"127.0.0.1:{PORT}",
        "POSKO_JWT_SECRET": SECRET,
        "POSKO_LOG": log,
        "POSKO_RATE_LIMIT_PER_MINUTE": "0",
        "POSKO_PUBLIC_RATE_LIMIT_PER_MINUTE": "0",
        "POSKO_ENV": "production" if production else "development",
    })
    if database_url.startswith("postgres"):
        env["POSKO_DB_MAX_CONNECTIONS"] = str(PG_CONNECTIONS)
    return env


def post(body, token=None):
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}/graphql", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


class Server:
    def __init__(self, binary, env, log_path):
        self.log = open(log_path, "ab")
        self.started = time.perf_counter()
        self.process = subprocess.Popen([binary, "serve"], env=env, stdout=self.log, stderr=self.log)
        self.ready_ms = None
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/readyz", timeout=1) as r:
                    if r.status == 200:
                        self.ready_ms = (time.perf_counter() - self.started) * 1000
                        return
            except OSError:
                time.sleep(0.005)
        self.stop()
        sys.exit("bench: the server did not become ready")

    def peak_rss_mb(self):
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def load_data(binary, backend, disputes, workdir, reuse):
    if backend == "postgres":
        url = f"{PG_ADMIN}/{DATABASE}?sslmode={SSLMODE}"
        exists = sh("psql", f"{PG_ADMIN}/postgres", "-Atqc", f"SELECT 1 FROM pg_database WHERE datname='{DATABASE}'").stdout.strip()
        if exists and reuse:
            return url, None
        sh("psql", f"{PG_ADMIN}/postgres", "-qc", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        sh("psql", f"{PG_ADMIN}/postgres", "-qc", f"CREATE DATABASE {DATABASE}")
    else:
        path = workdir / "bench.db"
        url = f"sqlite://{path}?mode=rwc"
        if path.exists() and reuse:
            return url, None
        for suffix in ["", "-wal", "-shm"]:
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    sh(binary, "seed-demo", "--disputes", str(disputes), "--seed", "1", env=base_env(url))
    return url, time.perf_counter() - started


# A variant that runs another query's document and simplest SQL (with another caller).
SOURCE = {"q1_police": "q1"}


def document(name, variables):
    name = SOURCE.get(name, name)
    return {"query": (ROOT / "bench" / "queries" / f"{name}.graphql").read_text(), "variables": variables,
            "operationName": name.upper()}


def capture_sql(binary, url, workdir, bodies, tokens):
    """Runs each request once on a server that logs its SQL, and returns the statements."""
    log_path = workdir / "capture.log"
    log_path.unlink(missing_ok=True)
    server = Server(binary, base_env(url, log="warn,posko::sql=trace", production=True), log_path)
    captured = {}
    answers = {}
    try:
        for name, body in bodies.items():
            post(body, tokens[name])  # warm the agency cache
            time.sleep(0.2)
            offset = log_path.stat().st_size
            answer = post(body, tokens[name])
            if "errors" in answer:
                sys.exit(f"bench: {name} answered errors: {answer['errors']}")
            time.sleep(0.3)
            with open(log_path, "rb") as log:
                log.seek(offset)
                lines = log.read().decode(errors="replace").splitlines()
            statements = []
            for line in lines:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if record.get("target") == "posko::sql":
                    statements.append(record["fields"]["message"])
            captured[name] = statements
            answers[name] = answer["data"]
    finally:
        server.stop()
    return captured, answers


def wrk(body_file, token, seconds, connections):
    return run_wrk("post.lua", {"BODY_FILE": str(body_file), "TOKEN": token or ""}, seconds, connections, 2)


def run_wrk(script, variables, seconds, connections, threads):
    env = dict(os.environ, **variables)
    result = sh("wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency", "-s", str(ROOT / "bench" / script),
                f"http://127.0.0.1:{PORT}/graphql", env=env)
    match = re.search(r"BENCH (\d+) (\d+) (\d+) (\d+) (\d+)", result.stdout)
    requests, duration_us, p50, p99, errors = map(int, match.groups())
    if requests == 0 or errors:
        sys.exit(f"bench: wrk saw {errors} errors in {requests} requests:\n{result.stdout}")
    return requests / (duration_us / 1e6), p50 / 1000, p99 / 1000, requests


def cpu_seconds(pid):
    """User + system CPU a process has used so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid, load):
    """Runs a wrk load and adds the server's CPU per request, in microseconds."""
    before = cpu_seconds(pid)
    rps, p50, p99, requests = load()
    return rps, p50, p99, (cpu_seconds(pid) - before) * 1e6 / requests


# Prepared statements, as Posko's connections use: since session 13 Posko plans each
# statement once per connection, so a ceiling that planned every statement anew (pgbench's
# default simple protocol) would be charged for planning that Posko no longer does. The
# captured and simplest SQL carry their values as literals, so pgbench plans them once,
# for those values; the write scripts' :variables get a generic plan, as Posko's do.
# The simple protocol's ceiling (planned every time, as issue 14 first measured it) is
# kept beside the simplest one for comparison with earlier runs.
def run_pgbench(script, seconds, protocol="prepared"):
    """pgbench on a script, 8 clients, with Posko's own session settings
    (db::connect_options): its transactions per second and its report."""
    env = dict(os.environ, PGOPTIONS="-c jit=off -c plan_cache_mode=force_generic_plan", PGSSLMODE=SSLMODE)
    result = sh("pgbench", "-n", "-M", protocol, "-c", "8", "-j", "2", "-T", str(seconds), "-f", str(script),
                f"{PG_ADMIN}/{DATABASE}", env=env)
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout).group(1))
    return tps, result.stdout


def pgbench(statements, seconds, workdir, name, protocol="prepared"):
    script = workdir / f"{name}.sql"
    script.write_text("".join(s.rstrip().rstrip(";") + ";\n" for s in statements))
    return run_pgbench(script, seconds, protocol)[0]


def sqlite_ceiling(statements, seconds, path):
    count = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    failures = []

    # Read-only, unless the request wrote too (an access-log row for a sensitive read):
    # then as Posko writes, each statement its own transaction, WAL, synchronous=NORMAL.
    writes = any(is_write(st) for st in statements)

    def worker():
        if writes:
            db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA synchronous=NORMAL")
        else:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        done = 0
        try:
            while time.perf_counter() < stop:
                for statement in statements:
                    db.execute(statement).fetchall()
                done += 1
        except sqlite3.Error as error:
            failures.append(f"{error}: {statement[:200]}")
        with lock:
            count[0] += done

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        sys.exit(f"bench: SQLite {sqlite3.sqlite_version} refused a statement: {failures[0]}")
    return count[0] / seconds


# --- The simplest correct SQL (bench/simplest/) ------------------------------------------

def sql_file(name, backend):
    """bench/simplest/NAME.BACKEND.sql where the dialects differ, else NAME.sql."""
    own = ROOT / "bench" / "simplest" / f"{name}.{backend}.sql"
    return own if own.exists() else ROOT / "bench" / "simplest" / f"{name}.sql"


def split_statements(text):
    """The statements of a file, comments dropped; a statement ends with `;` at a line's end."""
    statements, current = [], []
    for line in text.splitlines():
        if line.lstrip().startswith("--") or not line.strip():
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).rstrip().rstrip(";"))
            current = []
    if current:
        sys.exit(f"bench: a statement without its closing `;`: {current[0]}")
    return statements


def simplest_statements(name, backend, literals):
    """The read statements of NAME with :placeholders replaced by SQL literals."""
    text = sql_file(SOURCE.get(name, name), backend).read_text()
    for key, value in literals.items():
        text = text.replace(f":{key}", value)
    return split_statements(text)


def db_rows(backend, statement, workdir):
    """A statement's rows as tuples of text (NULL as ''), for comparing with the API."""
    if backend == "postgres":
        out = sh("psql", "-X", "-At", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-c", statement, f"{PG_ADMIN}/{DATABASE}").stdout
        return [tuple(line.split("\x1f")) for line in out.splitlines()]
    db = sqlite3.connect(f"file:{workdir / 'bench.db'}?mode=ro", uri=True)
    try:
        return [tuple("" if v is None else str(v) for v in row) for row in db.execute(statement)]
    except sqlite3.Error as error:
        sys.exit(f"bench: SQLite {sqlite3.sqlite_version} refused a statement: {error}: {statement[:200]}")
    finally:
        db.close()


def text(value):
    return "" if value is None else str(value)


def counts(pairs):
    return [(p["key"], text(p["count"])) for p in sorted(pairs, key=lambda p: p["key"])]


def page(nodes):
    """Q5's page as its statement 3 shows it: id, regions, agencies as `CODE:name,…`."""
    return [(n["id"], n["regency"]["code"], n["regency"]["name"], n["province"]["code"], n["province"]["name"],
             ",".join(f"{a['code']}:{a['name']}" for a in sorted(n["assignedAgencies"], key=lambda a: a["code"])))
            for n in nodes]


def expected_rows(name, answer):
    """For each statement of the simplest SQL: which of its columns stand for what in the
    API's answer, and the values the API returned there, row by row in order."""
    if name == "q1":
        return [((0, 1), [(p["code"], p["name"]) for p in answer["provinces"]])]
    if name == "q2":
        return [((0, 1, 2, 3, 4, 6), [(n["id"], n["refNo"], n["title"], n["status"], n["severity"], n["regency"]["name"])
                                      for n in answer["disputes"]["nodes"]])]
    if name == "q3":
        d = answer["dispute"]
        if not any(e["kind"] == "INTEL_NOTE" for e in d["events"]):
            sys.exit("bench: the Q3 dispute's newest events hold no intelligence note, so the access-log row "
                     "of bench/simplest/q3.sql is not what the answer obliges; pick another dispute")
        events = [(text(e["seq"]), e["kind"], e["actorRole"], text(e["actorAgency"]), text(e["note"]))
                  for e in reversed(d["events"])]
        return [((1, 2, 3, 4, 5), [(d["id"], d["refNo"], d["title"], d["status"], text(d["version"]))]),
                ((0, 1, 3, 4, 5), events)]
    if name == "q4":
        return [((0, 1), counts(answer["disputeStats"]["byStatus"]))]
    if name == "q5":
        stats, disputes = answer["disputeStats"], answer["disputes"]
        if stats["total"] != sum(p["count"] for p in stats["byStatus"]) or disputes["totalCount"] != stats["total"]:
            sys.exit("bench: Q5's total, byStatus and totalCount disagree")
        return [((0, 1), counts(stats["byStatus"])), ((0, 1), counts(stats["bySeverity"])),
                ((0, 6, 7, 8, 9, 10), page(disputes["nodes"]))]
    raise ValueError(name)


def verify_simplest(name, statements, answer, backend, workdir):
    """Fails the run unless the simplest SQL returns what the API answered: a ceiling of a
    wrong query is worthless."""
    expected = expected_rows(SOURCE.get(name, name), answer)
    # A write the answer obliges (the access-log row of a sensitive read) returns nothing
    # to compare; the ceiling runs it.
    statements = [st for st in statements if not is_write(st)]
    if len(expected) != len(statements):
        sys.exit(f"bench: {sql_file(name, backend).name} has {len(statements)} statements, the check expects {len(expected)}")
    for number, (statement, (columns, want)) in enumerate(zip(statements, expected), 1):
        got = [tuple(row[c] for c in columns) for row in db_rows(backend, statement, workdir)]
        if got != want:
            sys.exit(f"bench: {name} simplest SQL, statement {number}, returned {len(got)} rows, the API {len(want)}; "
                     f"first difference: {next(((g, w) for g, w in zip(got, want) if g != w), 'in the row count')}")


def dispute_literals(backend, public_id, workdir):
    """The placeholders of bench/simplest/ for the Q3 dispute, as SQL literals."""
    row = db_rows(backend, f"SELECT id, province_code, regency_code FROM dispute WHERE public_id = '{public_id}'",
                  workdir)[0]
    return {"public_id": f"'{public_id}'", "dispute_id": row[0],
            "province_code": f"'{row[1]}'", "regency_code": f"'{row[2]}'"}


def is_write(statement):
    return statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))


# --- Writes ------------------------------------------------------------------------------

WRITE_LABELS = {
    "w1": "W1 reportDispute, fresh idempotency key, POLICE",
    "w2": "W2 addNote with expectedVersion, a dispute per connection, POLICE",
}


def report_one(token, title):
    """A new dispute in POLDA_METRO_JAYA's jurisdiction: (public id, version)."""
    mutation = "mutation($i: ReportDisputeInput!) { reportDispute(input: $i) { dispute { id version } } }"
    answer = post({"query": mutation, "variables": {"i": {
        "regencyCode": "31.71", "occurredAt": "2026-11-01T00:00:00Z", "category": "OTHER", "severity": "LOW",
        "title": title, "description": "written by bench/run.py"}}}, token)
    if "errors" in answer:
        sys.exit(f"bench: reportDispute answered errors: {answer['errors']}")
    dispute = answer["data"]["reportDispute"]["dispute"]
    return dispute["id"], dispute["version"]


def write_load(name, token, seconds, connections):
    """W1 on 2 wrk threads; W2 on one thread per connection, each with a dispute of its own."""
    variables = {"TOKEN": token, "RUN": f"{time.time_ns()}"}
    if name == "w1":
        return run_wrk("write.lua", {**variables, "MODE": "report"}, seconds, connections, 2)
    disputes = [report_one(token, f"bench W2 {variables['RUN']} {i}") for i in range(connections)]
    variables["DISPUTES"] = ",".join(f"{id}:{version}" for id, version in disputes)
    return run_wrk("write.lua", {**variables, "MODE": "note"}, seconds, connections, connections)


def pgbench_script(path, seconds):
    """A hand-written pgbench script (with its own BEGIN/COMMIT and meta-commands)."""
    tps, report = run_pgbench(path, seconds)
    failed = re.search(r"number of failed transactions: (\d+)", report)
    if failed and int(failed.group(1)):
        sys.exit(f"bench: pgbench {path.name} failed transactions:\n{report}")
    return tps


def sqlite_write_ceiling(statements, seconds, path):
    """8 threads each running the transaction on a dispute of its own (:did = 1 + thread),
    each transaction BEGIN IMMEDIATE … COMMIT; a SELECT's columns become parameters of the
    statements after it, and an UPDATE that changes no row fails the run."""
    count = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    failures = []

    def worker(number):
        db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        # The settings of Posko's own connections (src/db/mod.rs): WAL, synchronous=NORMAL.
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        done = 0
        try:
            while time.perf_counter() < stop:
                params = {"did": 1 + number}
                db.execute("BEGIN IMMEDIATE")
                for statement in statements:
                    cursor = db.execute(statement, {k: v for k, v in params.items() if f":{k}" in statement})
                    if statement.lstrip().upper().startswith("SELECT"):
                        params.update(zip((c[0] for c in cursor.description), cursor.fetchone()))
                    elif statement.lstrip().upper().startswith("UPDATE") and cursor.rowcount == 0:
                        raise sqlite3.Error("the guarded update changed no row")
                db.execute("COMMIT")
                done += 1
        except sqlite3.Error as error:
            failures.append(f"{error}: {statement[:200]}")
        finally:
            db.close()
        with lock:
            count[0] += done

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        sys.exit(f"bench: SQLite write ceiling failed: {failures[0]}")
    return count[0] / seconds


def write_ceiling(name, backend, seconds, workdir):
    path = sql_file(name, backend)
    if backend == "postgres":
        return pgbench_script(path, seconds)
    return sqlite_write_ceiling(split_statements(path.read_text()), seconds, workdir / "bench.db")


# --- Measuring ---------------------------------------------------------------------------

def read_ceiling(statements, backend, seconds, workdir, name):
    if not statements:
        return None  # served from memory: there is no SQL to replay
    if backend == "postgres":
        return pgbench(statements, seconds, workdir, name)
    return sqlite_ceiling(statements, seconds, workdir / "bench.db")


def measure_read(name, body, token, captured, simplest, args, seconds, workdir, pid):
    """Posko under wrk, then the database alone on the captured and on the simplest SQL."""
    print(f"bench: {LABELS[name]}", file=sys.stderr)
    body_file = workdir / f"{name}.json"
    body_file.write_text(json.dumps(body))
    rps, p50, p99, cpu = measured(pid, lambda: wrk(body_file, token, seconds, args.connections))
    ceiling = read_ceiling(captured, args.backend, seconds, workdir, name)
    simplest_ceiling = read_ceiling(simplest, args.backend, seconds, workdir, f"{name}-simplest")
    # PostgreSQL only: the simplest SQL planned on every execution (see run_pgbench).
    replanned = (pgbench(simplest, seconds, workdir, f"{name}-simplest-simple", protocol="simple")
                 if args.backend == "postgres" and simplest else None)
    return name, rps, p50, p99, cpu, ceiling, simplest_ceiling, replanned, len(captured), len(simplest)


def measure_write(name, token, args, seconds, workdir, pid):
    print(f"bench: {WRITE_LABELS[name]}", file=sys.stderr)
    rps, p50, p99, cpu = measured(pid, lambda: write_load(name, token, seconds, args.connections))
    return name, rps, p50, p99, cpu, write_ceiling(name, args.backend, seconds, workdir)


def machine():
    model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), "?")
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // (1024 * 1024)
    return f"{os.cpu_count()} cores ({model}), {memory} GiB, {platform.system()} {platform.release()}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--quick", action="store_true", help="small data, short runs, debug build: checks the benchmark works")
    parser.add_argument("--disputes", type=int)
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--binary")
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run")
    parser.add_argument("--write", action="store_true", help="append the result to BENCHMARKS.md")
    args = parser.parse_args()
    disputes = args.disputes or (1_000 if args.quick else 200_000)
    seconds = args.seconds or (2 if args.quick else 20)
    binary = args.binary or str(ROOT / "target" / ("debug" if args.quick else "release") / "posko")
    if not args.binary:
        # A full PostgreSQL run measures the build README recommends for PostgreSQL, any
        # other the default build; cargo rebuilds only when the last build was the other.
        features = ["--features", "mimalloc"] if args.backend == "postgres" and not args.quick else []
        sh("cargo", "build", *([] if args.quick else ["--release"]), *features, capture=False)
    # The quick mode keeps its small data apart, so a CI run leaves a full load in place.
    global DATABASE
    DATABASE = "posko_bench_quick" if args.quick else "posko_bench"
    workdir = Path(tempfile.gettempdir()) / ("posko-bench-quick" if args.quick else "posko-bench")
    workdir.mkdir(exist_ok=True)

    url, load_seconds = load_data(binary, args.backend, disputes, workdir, args.reuse)
    police = sh(binary, "token", "--role", "POLICE", "--agency", "POLDA_METRO_JAYA", "--sub", "bench",
                env=base_env(url)).stdout.strip()

    ready = []
    for _ in range(3):
        server = Server(binary, base_env(url), workdir / "ready.log")
        ready.append(server.ready_ms)
        server.stop()

    server = Server(binary, base_env(url), workdir / "server.log")
    try:
        # The oldest Jakarta dispute: one of the demo data's, whatever earlier runs wrote
        # (with --reuse, the newest is a W2 dispute with hundreds of notes).
        first = post({"query": '{ disputes(first: 1, filter: {provinceCodes: ["31"]}, '
                               'orderBy: {field: REPORTED_AT, direction: ASC}) { nodes { id } } }'}, police)
        dispute_id = first["data"]["disputes"]["nodes"][0]["id"]
    finally:
        server.stop()
    bodies = {name: document(name, {"id": dispute_id} if name == "q3" else {}) for name in QUERIES}
    # Q1 asks as PUBLIC, whose answers of reference data are shared; Q1 POLICE asks the
    # same with a token, whose answers are kept for that caller alone.
    tokens = {name: (None if name == "q1" else police) for name in QUERIES}
    small = dict(bodies["q2"])
    small["query"] = small["query"].replace("first: 50", "first: 5")
    medium = dict(bodies["q2"])
    medium["query"] = medium["query"].replace("first: 50", "first: 25")
    captured, answers = capture_sql(
        binary,
        url,
        workdir,
        {**bodies, "q2_small": small, "q2_medium": medium},
        {**tokens, "q2_small": police, "q2_medium": police},
    )
    literals = dispute_literals(args.backend, dispute_id, workdir)
    simplest = {name: simplest_statements(name, args.backend, literals) for name in QUERIES}
    for name in QUERIES:
        verify_simplest(name, simplest[name], answers[name], args.backend, workdir)

    server = Server(binary, base_env(url), workdir / "server.log")
    try:
        pid = server.process.pid
        rows = [measure_read(name, bodies[name], tokens[name], captured[name], simplest[name], args, seconds, workdir, pid)
                for name in QUERIES]
        writes = [measure_write(name, police, args, seconds, workdir, pid) for name in WRITE_LABELS]
        rss = server.peak_rss_mb()
    finally:
        server.stop()

    postgres = args.backend == "postgres"
    ceiling_tool = "pgbench -M prepared -c 8" if postgres else f"SQLite {sqlite3.sqlite_version} × 8 threads"
    replanned_header = "| simplest, planned every time (pgbench -M simple) req/s | % of it " if postgres else ""
    lines = [
        f"### {args.backend}: {disputes:,} disputes, {seconds} s per query, {args.connections} connections",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {machine()}",
        f"- command: `bench/run.py --backend {args.backend}"
        + (" --quick" if args.quick else "") + (f" --disputes {disputes}" if args.disputes else "") + "`",
        (f"- Posko's connections (POSKO_DB_MAX_CONNECTIONS): {PG_CONNECTIONS}, a pool per HTTP worker\n"
         if args.backend == "postgres" else "")
        + f"- demo data load: " + (f"{load_seconds:.1f} s" if load_seconds else "reused"),
        f"- ready after start (migrated database): {statistics.median(ready):.0f} ms (median of 3: "
        + ", ".join(f"{r:.0f}" for r in ready) + ")",
        f"- server peak RSS under load: {rss:.1f} MB",
        f"- SQL statements of Q2 at first: 5 / 25 / 50: {len(captured['q2_small'])} / {len(captured['q2_medium'])} / {len(captured['q2'])}",
        "",
        f"| query | req/s | p50 ms | p99 ms | server CPU µs/request | captured ceiling ({ceiling_tool}) req/s | % of captured "
        f"| simplest ceiling req/s | % of simplest {replanned_header}| SQL statements (captured / simplest) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if postgres else "") + "---:|",
    ]
    def share(rps, ceiling):
        return "no SQL" if ceiling is None else f"{100 * rps / ceiling:.0f} %"

    def rate(ceiling):
        return "—" if ceiling is None else f"{ceiling:,.0f}"

    for name, rps, p50, p99, cpu, ceiling, simplest_ceiling, replanned, count, simplest_count in rows:
        replanned_cells = f"| {rate(replanned)} | {share(rps, replanned)} " if postgres else ""
        lines.append(f"| {LABELS[name]} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {cpu:,.0f} | {rate(ceiling)} | {share(rps, ceiling)} "
                     f"| {rate(simplest_ceiling)} | {share(rps, simplest_ceiling)} {replanned_cells}| {count} / {simplest_count} |")
    lines += [
        "",
        f"| write | req/s | p50 ms | p99 ms | server CPU µs/request | ceiling: hand-written transaction ({ceiling_tool}) tx/s | % of ceiling |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, rps, p50, p99, cpu, ceiling in writes:
        lines.append(f"| {WRITE_LABELS[name]} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {cpu:,.0f} | {ceiling:,.0f} | {100 * rps / ceiling:.0f} % |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.quick:
        # Quick mode checks that every step ran and the statement count holds, not speed.
        # It compares pages of 5 and 25: async-graphql resolves lists longer than 30
        # through FuturesOrdered, which yields every 32 items, and in a slow debug build
        # a DataLoader's 1 ms window can close in between and split one batch in two
        # (one statement more, never one per row; see BENCHMARKS.md).
        if len(captured["q2_small"]) != len(captured["q2_medium"]):
            sys.exit("bench: the statement count of Q2 depends on the page size")
        print(f"bench quick mode: {len(rows)} queries (simplest SQL checked against the API) and {len(writes)} writes measured, 0 failed")
        print("1 passed, 0 failed")
    if args.write:
        with open(ROOT / "BENCHMARKS.md", "a") as out:
            out.write("\n" + report)


if __name__ == "__main__":
    main()
