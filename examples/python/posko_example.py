"""An agency's integration with Posko, in plain Python over HTTP (httpx).

It files a report with an idempotency key and retries it (the same dispute comes back),
follows the workflow as the roles allowed to move it (Bawaslu verifies, Kesbangpol starts
and records the mediation and resolves), recovers from a CONFLICT caused by a stale
`expectedVersion` by re-reading and retrying, and pages through the disputes with cursors.

    POSKO_URL=http://127.0.0.1:8080 \\
    POSKO_ADMIN_TOKEN=$(posko token --role ADMIN --agency KESBANGPOL_DKI --sub you) \\
    POSKO_BAWASLU_TOKEN=$(posko token --role BAWASLU --agency BAWASLU_DKI --sub you) \\
    python3 posko_example.py

Every step checks what it got; the script exits non-zero at the first surprise, so CI
(.ci/run) proves it against the current server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

URL = os.environ.get("POSKO_URL", "http://127.0.0.1:8080").rstrip("/") + "/graphql"


class PoskoError(Exception):
    """A GraphQL error from Posko. Branch on `code` (README, "Error codes"), never on the message."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", "error"))
        self.extensions: dict[str, Any] = error.get("extensions") or {}
        self.code: str = self.extensions.get("code", "")


class Posko:
    """One caller (one token) of the GraphQL endpoint."""

    def __init__(self, http: httpx.Client, token: str) -> None:
        self.http = http
        self.token = token

    def call(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        for attempt in range(5):
            answer = self.http.post(
                URL,
                json={"query": query, "variables": variables or {}},
                headers={"authorization": f"Bearer {self.token}", "accept": "application/graphql-response+json"},
            )
            # Over the rate limit (429) or while the database is away (503) Posko says
            # when to come back.
            if answer.status_code in (429, 503) and attempt < 4:
                time.sleep(min(float(answer.headers.get("retry-after", "1")), 10))
                continue
            body = answer.json()
            if body.get("errors"):
                raise PoskoError(body["errors"][0])
            answer.raise_for_status()
            return body["data"]
        raise RuntimeError("unreachable")


def dev_token(role: str, agency: str) -> str:
    """An HS256 token signed with a development server's secret (the one `posko token` uses).

    Only for trying things out; a real integration gets its token from its identity provider
    or from `posko token`.
    """
    secret = os.environ.get("POSKO_JWT_SECRET")
    if not secret:
        sys.exit(f"set POSKO_{role}_TOKEN (posko token --role {role} --agency {agency} --sub you) or POSKO_JWT_SECRET")

    def b64(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    body = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64({'sub': 'example-python', 'role': role, 'agency': agency, 'iat': now, 'exp': now + 600})}"
    signature = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def token(role: str, agency: str) -> str:
    return os.environ.get(f"POSKO_{role}_TOKEN") or dev_token(role, agency)


def step(ok: bool, what: str, detail: Any = None) -> None:
    if not ok:
        raise SystemExit(f"FAIL {what}: {json.dumps(detail, default=str)}")
    print(f"ok   {what}")


REPORT = """
mutation Report($input: ReportDisputeInput!) {
  reportDispute(input: $input) { replayed dispute { id refNo status version } }
}"""

READ = "query Read($id: ID!) { dispute(id: $id) { id status version viewerCan { transitionTo } } }"

VERIFY = """
mutation Verify($input: TransitionInput!) { verifyDispute(input: $input) { dispute { status version } } }"""

START_MEDIATION = """
mutation StartMediation($input: TransitionInput!) { startMediation(input: $input) { dispute { status version } } }"""

RECORD_MEDIATION = """
mutation RecordMediation($input: RecordMediationInput!) {
  recordMediation(input: $input) { dispute { status version } }
}"""

RESOLVE = """
mutation Resolve($input: ResolveDisputeInput!) { resolveDispute(input: $input) { dispute { status version outcome } } }"""

PAGE = """
query Page($first: Int!, $after: String, $filter: DisputeFilterInput) {
  disputes(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id refNo status }
  }
}"""


def with_fresh_version(caller: Posko, mutation: str, dispute_id: str, known_version: int, **fields: Any) -> dict[str, Any]:
    """Runs a workflow mutation; on CONFLICT (someone moved the dispute since we read it)
    re-reads the dispute and tries once more with its current version."""
    try:
        return caller.call(mutation, {"input": {"id": dispute_id, "expectedVersion": known_version, **fields}})
    except PoskoError as error:
        if error.code != "CONFLICT":
            raise
        print(f"     CONFLICT: expected version {known_version}, the dispute is at {error.extensions.get('currentVersion')}")
        # Look again before acting again: the change we missed may make our move pointless.
        current = caller.call(READ, {"id": dispute_id})["dispute"]
        return caller.call(mutation, {"input": {"id": dispute_id, "expectedVersion": current["version"], **fields}})


def main() -> None:
    with httpx.Client(timeout=20) as http:
        admin = Posko(http, token("ADMIN", "KESBANGPOL_DKI"))
        bawaslu = Posko(http, token("BAWASLU", "BAWASLU_DKI"))

        # 1. Report with an idempotency key, stored with the report on our side so a retry
        # after a timeout or a crash sends the same key.
        key = f"example-{uuid.uuid4()}"
        report = {
            "regencyCode": "31.71",
            # Timestamps need an offset: a naive datetime's isoformat() is refused.
            "occurredAt": (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat(),
            "category": "CAMPAIGN_PROPS",
            "severity": "MEDIUM",
            "title": "Baliho paslon dipasang di pagar sekolah",
            "description": "Warga melaporkan baliho kampanye di pagar SD Negeri, Jakarta Pusat.",
            "reporter": {"kind": "VOTER", "name": "Warga RT 05"},
            "idempotencyKey": key,
        }
        first = admin.call(REPORT, {"input": report})["reportDispute"]
        dispute = first["dispute"]
        step(not first["replayed"] and dispute["status"] == "REPORTED" and dispute["version"] == 1,
             f"reported {dispute['refNo']}", first)

        # 2. The same report again (as after a lost answer): the first dispute, nothing new.
        again = admin.call(REPORT, {"input": report})["reportDispute"]
        step(again["replayed"] and again["dispute"]["id"] == dispute["id"], "the retry returned the same dispute", again)

        # 3. Bawaslu verifies it (REPORTED → VERIFIED).
        verified = bawaslu.call(VERIFY, {"input": {"id": dispute["id"], "expectedVersion": 1,
                                                   "note": "Lokasi dicek oleh Panwascam."}})["verifyDispute"]["dispute"]
        step(verified["status"] == "VERIFIED" and verified["version"] == 2, "Bawaslu verified it", verified)

        # 4. Kesbangpol starts mediation with the version it saw when reporting (1), which
        # Bawaslu's move made stale: CONFLICT, re-read, retry.
        started = with_fresh_version(admin, START_MEDIATION, dispute["id"], dispute["version"])["startMediation"]["dispute"]
        step(started["status"] == "IN_MEDIATION" and started["version"] == 3,
             "mediation started after re-reading the version", started)

        # 5. A mediation session, then the resolution.
        recorded = admin.call(RECORD_MEDIATION, {"input": {
            "id": dispute["id"], "expectedVersion": started["version"],
            "heldAt": datetime.now(timezone.utc).isoformat(),
            "participants": ["Tim kampanye paslon 1", "Kepala sekolah", "Panwascam Gambir"],
            "outcome": "Tim kampanye sepakat memindahkan baliho hari ini.",
        }})["recordMediation"]["dispute"]
        step(recorded["status"] == "IN_MEDIATION" and recorded["version"] == 4, "mediation session recorded", recorded)
        resolved = admin.call(RESOLVE, {"input": {"id": dispute["id"], "expectedVersion": recorded["version"],
                                                  "outcome": "Baliho dipindahkan; dicek ulang oleh Satpol PP."}})
        resolved = resolved["resolveDispute"]["dispute"]
        step(resolved["status"] == "RESOLVED", "resolved", resolved)

        # 6. Every Jakarta dispute Kesbangpol sees, following the cursors. Pages of 3 so that
        # even a fresh development database takes several; up to 100 per page are allowed.
        seen: list[str] = []
        after = None
        pages = 0
        while True:
            page = admin.call(PAGE, {"first": 3, "after": after, "filter": {"provinceCodes": ["31"]}})["disputes"]
            pages += 1
            seen.extend(node["id"] for node in page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        step(len(seen) == page["totalCount"] == len(set(seen)) and dispute["id"] in seen,
             f"paged through {len(seen)} disputes in {pages} pages, each once, ours among them",
             {"seen": len(seen), "distinct": len(set(seen)), "total": page["totalCount"]})
    print("example finished")


if __name__ == "__main__":
    main()
