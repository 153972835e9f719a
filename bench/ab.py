#!/usr/bin/env python3
"""Interleaved A/B runs of one query: builds or settings, or databases, measured in turns.

On these shared, drifting machines two full runs minutes apart can differ by as much as a
change is worth (BENCHMARKS.md, session 10); runs that alternate, round after round, see
the same drift. Each variant is a binary with optional environment settings:

  bench/ab.py q2 3 8 /tmp/old/posko /tmp/new/posko
  bench/ab.py q2 3 8 target/release/posko,POSKO_DB_MAX_CONNECTIONS=4 target/release/posko
  bench/ab.py q3 3 8 posko posko,POSKO_DATABASE_URL=postgres://…/posko_bench_1m?sslmode=disable

QUERY is a file of bench/queries (q1_police runs q1 as POLICE; q1 is PUBLIC); every
other query runs as POLICE of Polda Metro Jaya. Each turn starts the variant's server, warms
up 3 s, runs wrk (1 thread, 32 connections) for SECONDS, and reads the server's CPU from
/proc. The database is POSKO_DATABASE_URL's, by default bench/run.py's PostgreSQL one
(load it first with bench/run.py or `posko seed-demo`). Server settings are bench/run.py's,
its PostgreSQL pool size included; a variant's own settings override them.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The server, its settings, the documents and the token come from the benchmark itself.
from run import DATABASE, PG_ADMIN, PORT, ROOT, SSLMODE, Server, base_env, document, post  # noqa: E402

DEFAULT_URL = f"{PG_ADMIN}/{DATABASE}?sslmode={SSLMODE}"


def parse_variant(variant):
    binary, *settings = variant.split(",")
    return binary, dict(setting.split("=", 1) for setting in settings)


def env_for(variant):
    binary, extra = parse_variant(variant)
    env = base_env(extra.get("POSKO_DATABASE_URL", os.environ.get("POSKO_DATABASE_URL", DEFAULT_URL)))
    env.update(extra)
    return binary, env


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    query, rounds, seconds, variants = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    binary, env = env_for(variants[0])
    token = subprocess.run([binary, "token", "--role", "POLICE", "--agency", "POLDA_METRO_JAYA", "--sub", "bench"],
                           env=env, capture_output=True, text=True, check=True).stdout.split()[-1]
    wrk_token = "" if query == "q1" else token
    workdir = Path(tempfile.gettempdir()) / "posko-ab"
    workdir.mkdir(exist_ok=True)
    bodies = {}

    def body_for(index, variant):
        # Per variant: Q3's dispute is the oldest Jakarta one of that variant's database.
        if variant not in bodies:
            variables = {}
            if query == "q3":
                oldest = post({"query": '{ disputes(first: 1, filter: {provinceCodes: ["31"]}, '
                                        'orderBy: {field: REPORTED_AT, direction: ASC}) { nodes { id } } }'}, token)
                variables = {"id": oldest["data"]["disputes"]["nodes"][0]["id"]}
            body = document(query, variables)
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
            binary, env = env_for(variant)
            server = Server(binary, env, workdir / "server.log")
            try:
                wrk_env = dict(os.environ, BODY_FILE=str(body_for(index, variant)), TOKEN=wrk_token)
                wrk = ["wrk", "-t1", "-c32", "-s", str(ROOT / "bench" / "post.lua"), f"http://127.0.0.1:{PORT}/graphql"]
                subprocess.run(wrk[:3] + ["-d3s"] + wrk[3:], env=wrk_env, capture_output=True, check=True)
                before = cpu_seconds(server.process.pid)
                out = subprocess.run(wrk[:3] + [f"-d{seconds}s"] + wrk[3:], env=wrk_env, capture_output=True,
                                     text=True, check=True).stdout
                used = cpu_seconds(server.process.pid) - before
            finally:
                server.stop()
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
