#!/usr/bin/env python3
"""Subscriptions under load: two Posko instances on one PostgreSQL, N subscribers spread
over both (several roles and agencies), W writes per second through both, for S seconds.

Measures delivery latency from commit to socket (p50/p99; the commit instant is the
dispute's `reportedAt`, stamped inside the writing transaction, so the figure slightly
overstates), events lost (each subscriber must receive every report: all are unrestricted
in Jakarta Pusat, which every subscriber's agency covers), server RSS per 1 000 idle
subscribers, and server CPU per delivered event. A benchmark, not a test: it prints
figures and fails only when the run itself breaks.

The sockets are held by one Node process (bench/subscribers.mjs, the `ws` package of
tests/clients) by default; `--client python` holds them in this process with `websockets`,
as session 3 did, which saturates its core long before the server does.

    python3 bench/subscriptions.py [--quick] [--client node|python] [--binary target/release/posko]
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-secret-benchmark-secret-0123"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432"
DATABASE = "posko_bench_subscriptions"
PORTS = (18781, 18782)
SUBSCRIBERS = [  # role, agency: each covers Jakarta Pusat (31.71)
    ("POLICE", "POLDA_METRO_JAYA"),
    ("KPU", "KPU_DKI"),
    ("BAWASLU", "BAWASLU_DKI"),
    ("MEMBER", "KODAM_JAYA"),
    ("ADMIN", "KESBANGPOL_DKI"),
]
SUBSCRIPTION = "subscription { disputeUpdated { dispute { id version reportedAt } } }"
REPORT = "mutation($input: ReportDisputeInput!) { reportDispute(input: $input) { dispute { id } } }"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(role: str, agency: str) -> str:
    now = int(time.time())
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": f"bench-{role.lower()}", "role": role, "agency": agency,
                           "iat": now, "exp": now + 3600}).encode())
    signature = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start(binary: str, port: int, url: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.update({
        "POSKO_DATABASE_URL": url, "POSKO_LISTEN": f"127.0.0.1:{port}", "POSKO_JWT_SECRET": SECRET,
        "POSKO_LOG": "warn", "POSKO_RATE_LIMIT_PER_MINUTE": "0", "POSKO_PUBLIC_RATE_LIMIT_PER_MINUTE": "0",
        "POSKO_WS_MAX_CONNECTIONS_PER_IP": "100000", "POSKO_WS_MAX_AGENCY_SUBSCRIPTIONS": "100000",
    })
    process = subprocess.Popen([binary, "serve"], env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    sys.exit(f"bench: the instance on {port} did not become ready (see {log})")


def subscriber_plan(args) -> list[tuple[int, str]]:
    """Which instance and token each subscriber uses: roles and instances alternate."""
    plan = []
    for n in range(args.subscribers):
        role, agency = SUBSCRIBERS[n % len(SUBSCRIBERS)]
        plan.append((PORTS[n % 2], token(role, agency)))
    return plan


class NodeSubscribers:
    """Every socket in one Node process (bench/subscribers.mjs)."""

    def __init__(self, args):
        self.args = args
        self.pushes = 0

    async def open(self) -> None:
        if not (ROOT / "tests" / "clients" / "node_modules" / "ws").exists():
            subprocess.run(["npm", "ci", "--prefix", str(ROOT / "tests" / "clients"), "--no-audit", "--no-fund",
                            "--loglevel=error"], check=True)
        self.process = await asyncio.create_subprocess_exec(
            "node", str(ROOT / "bench" / "subscribers.mjs"),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        config = {"query": SUBSCRIPTION, "subscribers": [
            {"url": f"ws://127.0.0.1:{port}/graphql", "token": bearer} for port, bearer in subscriber_plan(self.args)]}
        self.process.stdin.write((json.dumps(config) + "\n").encode())
        await self.process.stdin.drain()
        line = await self.process.stdout.readline()
        if line.strip() != b"ready":
            sys.exit(f"bench: the Node subscribers did not start: {line!r}")
        self.reader = asyncio.create_task(self._read_counts())

    async def _read_counts(self) -> None:
        while True:
            line = await self.process.stdout.readline()
            if not line.startswith(b"count "):
                self.result = line
                return
            self.pushes = int(line.split()[1])

    def count(self) -> int:
        return self.pushes

    async def finish(self, sent: list[str]) -> dict:
        self.process.stdin.write((json.dumps(sent) + "\n").encode())
        await self.process.stdin.drain()
        await self.reader
        await self.process.wait()
        return json.loads(self.result)


class PythonSubscribers:
    """Every socket in this process (websockets): the client of session 3's figures."""

    def __init__(self, args):
        self.args = args
        self.received: list[dict] = []
        self.stop = asyncio.Event()
        self.tasks = []

    async def open(self) -> None:
        for port, bearer in subscriber_plan(self.args):
            ready = asyncio.Event()
            mine: dict = {}
            self.received.append(mine)
            self.tasks.append(asyncio.create_task(self.subscriber(port, bearer, mine, ready)))
            await ready.wait()

    async def subscriber(self, port: int, bearer: str, received: dict, ready: asyncio.Event):
        import websockets  # only this client needs it

        async with websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"],
                                      max_queue=None, ping_interval=None) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {bearer}"}}))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
            ready.set()
            while not self.stop.is_set():
                try:
                    text = await asyncio.wait_for(socket.recv(), 0.5)
                except asyncio.TimeoutError:
                    continue
                arrived = time.time()
                message = json.loads(text)
                if message.get("type") != "next":
                    continue
                dispute = message["payload"]["data"]["disputeUpdated"]["dispute"]
                committed = datetime.fromisoformat(dispute["reportedAt"].replace("Z", "+00:00")).timestamp()
                received.setdefault(dispute["id"], []).append(arrived - committed)

    def count(self) -> int:
        return sum(len(ls) for mine in self.received for ls in mine.values())

    async def finish(self, sent: list[str]) -> dict:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        latencies = sorted(l for mine in self.received for ls in mine.values() for l in ls)
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
        return {
            "delivered": sum(1 for mine in self.received for i in sent if i in mine),
            "duplicated": sum(len(ls) - 1 for mine in self.received for ls in mine.values() if len(ls) > 1),
            "latency_p50_ms": round(q[49] * 1000, 1), "latency_p99_ms": round(q[98] * 1000, 1),
        }


def report(port: int, bearer: str, n: int) -> str:
    body = {"query": REPORT, "variables": {"input": {
        "regencyCode": "31.71", "occurredAt": "2024-11-25T10:00:00+07:00", "category": "CLASH", "severity": "LOW",
        "title": f"Laporan beban {n}", "description": "Tolok ukur langganan."}}}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json", "authorization": f"Bearer {bearer}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())["data"]["reportDispute"]["dispute"]["id"]


async def run(args) -> dict:
    subprocess.run(["psql", f"{PG_ADMIN}/postgres", "-qc", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"], check=True)
    subprocess.run(["psql", f"{PG_ADMIN}/postgres", "-qc", f"CREATE DATABASE {DATABASE}"], check=True)
    url = f"{PG_ADMIN}/{DATABASE}?sslmode=disable"
    work = Path(tempfile.mkdtemp(prefix="posko-subs-"))
    instances = [start(args.binary, port, url, work / f"server-{port}.log") for port in PORTS]
    try:
        base_rss = [rss_mb(p.pid) for p in instances]
        clients = NodeSubscribers(args) if args.client == "node" else PythonSubscribers(args)
        await clients.open()
        await asyncio.sleep(1)
        idle_rss = [rss_mb(p.pid) for p in instances]
        cpu_before = [cpu_seconds(p.pid) for p in instances]
        writer = token("ADMIN", "KESBANGPOL_DKI")
        interval = 1 / args.writes_per_second
        started = time.time()
        n = 0
        writes = []
        # Each write starts at its due time, whatever the earlier ones take, so the rate
        # is the one asked for (the writers are threads: urllib blocks).
        while time.time() - started < args.seconds:
            due = started + n * interval
            await asyncio.sleep(max(0.0, due - time.time()))
            writes.append(asyncio.create_task(asyncio.to_thread(report, PORTS[n % 2], writer, n)))
            n += 1
        sent = list(await asyncio.gather(*writes))
        achieved = len(sent) / (time.time() - started)
        # Drain: a push that is late is not lost; wait until deliveries stop (at most 60 s).
        last, quiet_since, drain_started = clients.count(), time.time(), time.time()
        while time.time() - quiet_since < 2 and time.time() - drain_started < 60:
            await asyncio.sleep(0.5)
            if clients.count() != last:
                last, quiet_since = clients.count(), time.time()
        cpu = sum(cpu_seconds(p.pid) - before for p, before in zip(instances, cpu_before))
        figures = await clients.finish(sent)
        expected = len(sent) * args.subscribers
        return {
            "client": args.client,
            "subscribers": args.subscribers, "writes": len(sent), "writes_per_second": args.writes_per_second,
            "writes_per_second_achieved": round(achieved, 1),
            "expected_deliveries": expected, "delivered": figures["delivered"],
            "lost": expected - figures["delivered"], "duplicated": figures["duplicated"],
            "latency_p50_ms": figures["latency_p50_ms"], "latency_p99_ms": figures["latency_p99_ms"],
            "rss_idle_mb_per_1000": round(sum(i - b for i, b in zip(idle_rss, base_rss)) * 1000 / max(1, args.subscribers), 1),
            "server_rss_mb_after": round(sum(rss_mb(p.pid) for p in instances), 1),
            "cpu_us_per_delivered_event": round(cpu * 1e6 / max(1, figures["delivered"]), 1),
            "binary": args.binary,
        }
    finally:
        for process in instances:
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a small run that checks the benchmark works")
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "posko"))
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--writes-per-second", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--client", choices=["node", "python"], default="node",
                        help="who holds the sockets (node: bench/subscribers.mjs)")
    args = parser.parse_args()
    if args.quick:
        args.subscribers, args.seconds, args.writes_per_second = 20, 3, 10
        if args.binary.endswith("release/posko") and not Path(args.binary).exists():
            args.binary = str(ROOT / "target" / "debug" / "posko")
    figures = asyncio.run(run(args))
    print(json.dumps(figures, indent=2))
    if figures["delivered"] == 0:
        sys.exit("bench: nothing was delivered")


if __name__ == "__main__":
    main()
