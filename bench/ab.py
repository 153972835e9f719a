#!/usr/bin/env python3
"""Interleaved A/B runs of one query: builds or settings, or databases, measured in turns.

On these shared, drifting machines two full runs minutes apart can differ by as much as a
change is worth (BENCHMARKS.md, session 10); runs that alternate, round after round, see
the same drift. Each variant is a binary with optional environment settings:

  bench/ab.py q2 3 8 /tmp/old/posko /tmp/new/posko
  bench/ab.py q2 3 8 target/release/posko,POSKO_DB_MAX_CONNECTIONS=4 target/release/posko
  bench/ab.py q3 3 8 posko posko,POSKO_DATABASE_URL=postgres://…/posko_bench_1m?sslmode=disable

QUERY is a file of bench/queries (q1_executed runs q1 as POLICE; q1 is PUBLIC); every
other query runs as POLICE of Polda Metro Jaya. Each turn starts the variant's server, warms
up 3 s, runs wrk (1 thread, 32 connections) for SECONDS, and reads the server's CPU from
/proc. The database is POSKO_DATABASE_URL's, by default bench/run.py's PostgreSQL one
(load it first with bench/run.py or `posko seed-demo`).
"""
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = 18777
SECRET = "benchmark-secret-benchmark-secret-0123"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/posko_bench?sslmode=disable"


def env_for(extra):
    env = dict(os.environ)
    env.setdefault("POSKO_DATABASE_URL", DEFAULT_URL)
    env.update({"POSKO_LISTEN": f"127.0.0.1:{PORT}", "POSKO_JWT_SECRET": SECRET, "POSKO_LOG": "warn",
                "POSKO_RATE_LIMIT_PER_MINUTE": "0", "POSKO_PUBLIC_RATE_LIMIT_PER_MINUTE": "0",
                "POSKO_ENV": "development"})
    env.update(extra)
    return env


def parse_variant(variant):
    binary, *settings = variant.split(",")
    return binary, dict(setting.split("=", 1) for setting in settings)


def start(variant):
    binary, extra = parse_variant(variant)
    process = subprocess.Popen([binary, "serve"], env=env_for(extra), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    for _ in range(600):
        if process.poll() is not None:
            sys.exit(f"ab: {variant} exited (is port {PORT} taken?)")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/readyz", timeout=1)
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    sys.exit(f"ab: {variant} did not become ready")


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post(body, token):
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}/graphql", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json",
                                              "authorization": f"Bearer {token}"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    query, rounds, seconds, variants = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    binary, extra = parse_variant(variants[0])
    token = subprocess.run([binary, "token", "--role", "POLICE", "--agency", "POLDA_METRO_JAYA", "--sub", "bench"],
                           env=env_for(extra), capture_output=True, text=True, check=True).stdout.split()[-1]
    name = query.replace("_executed", "")
    document = (ROOT / "bench" / "queries" / f"{name}.graphql").read_text()
    wrk_token = "" if query == "q1" else token
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / "posko-ab"
    workdir.mkdir(exist_ok=True)
    bodies = {}

    def body_for(index, variant):
        # Per variant: Q3's dispute is the oldest Jakarta one of that variant's database.
        if variant not in bodies:
            variables = {}
            if name == "q3":
                oldest = post({"query": '{ disputes(first: 1, filter: {provinceCodes: ["31"]}, '
                                        'orderBy: {field: REPORTED_AT, direction: ASC}) { nodes { id } } }'}, token)
                variables = {"id": oldest["data"]["disputes"]["nodes"][0]["id"]}
            body = {"query": document, "variables": variables, "operationName": name.upper()}
            answer = post(body, token)
            if "errors" in answer:
                sys.exit(f"ab: {variant} answers with errors: {answer['errors']}")
            path = workdir / f"body{index}.json"
            path.write_text(json.dumps(body))
            bodies[variant] = path
        return bodies[variant]

    results = {variant: [] for variant in variants}
    for round_number in range(rounds):
        for index, variant in enumerate(variants):
            server = start(variant)
            try:
                env = dict(os.environ, BODY_FILE=str(body_for(index, variant)), TOKEN=wrk_token)
                wrk = ["wrk", "-t1", "-c32", "-s", str(ROOT / "bench" / "post.lua"), f"http://127.0.0.1:{PORT}/graphql"]
                subprocess.run(wrk[:3] + ["-d3s"] + wrk[3:], env=env, capture_output=True, check=True)
                before = cpu_seconds(server.pid)
                out = subprocess.run(wrk[:3] + [f"-d{seconds}s"] + wrk[3:], env=env, capture_output=True,
                                     text=True, check=True).stdout
                used = cpu_seconds(server.pid) - before
            finally:
                server.terminate()
                server.wait()
            _, requests, duration, p50, p99, errors = next(
                line for line in out.splitlines() if line.startswith("BENCH")).split()
            rate = int(requests) / (int(duration) / 1e6)
            cpu_us = used * 1e6 / int(requests)
            results[variant].append((rate, cpu_us, int(p99) / 1000))
            print(f"round {round_number} {variant}: {rate:,.0f} req/s, {cpu_us:.0f} µs/request, "
                  f"p50 {int(p50) / 1000:.1f} ms, p99 {int(p99) / 1000:.1f} ms, errors {errors}", flush=True)
    for variant, runs in results.items():
        print(f"median {variant}: {statistics.median(r[0] for r in runs):,.0f} req/s, "
              f"{statistics.median(r[1] for r in runs):.0f} µs/request, p99 {statistics.median(r[2] for r in runs):.1f} ms")


if __name__ == "__main__":
    main()
