"""Python `gql` with its WebSocket transport (graphql-transport-ws) against a live Posko:
it subscribes as POLICE, sees a report that ADMIN makes over HTTP, reads a field it may not
(the reporter) as null + FORBIDDEN, and is closed with 4403 when its token expires.

    POSKO_JWT_SECRET=... python3 tests/clients/gql_client.py http://127.0.0.1:18089
"""

import asyncio
import base64
import hashlib
import hmac
import json
import sys
import time
import urllib.request

from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

BASE = sys.argv[1] if len(sys.argv) > 1 else ""
SECRET = __import__("os").environ.get("POSKO_JWT_SECRET", "")
RESULTS: list[bool] = []


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(role: str, agency: str, seconds: int) -> str:
    now = int(time.time())
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": f"gql-{role.lower()}", "role": role, "agency": agency, "iat": now, "exp": now + seconds}).encode())
    signature = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def http(query: str, variables: dict, bearer: str) -> dict:
    request = urllib.request.Request(
        f"{BASE}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {bearer}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def check(name: str, ok: bool, detail: str = "") -> None:
    RESULTS.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}")


def transport(bearer: str) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=BASE.replace("http", "ws", 1) + "/graphql",
        init_payload={"Authorization": f"Bearer {bearer}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )


async def receives_a_report_with_a_forbidden_field() -> None:
    subscription = gql("subscription { disputeUpdated { dispute { id title reporter { name } } event { kind } } }")
    async with Client(transport=transport(token("POLICE", "POLDA_METRO_JAYA", 600))) as session:
        title = f"Laporan dari gql {time.time()}"

        async def report_later() -> str:
            await asyncio.sleep(0.3)
            made = await asyncio.to_thread(
                http,
                "mutation($input: ReportDisputeInput!) { reportDispute(input: $input) { dispute { id } } }",
                {"input": {"regencyCode": "31.71", "occurredAt": "2024-11-25T10:00:00+07:00", "category": "CLASH",
                           "severity": "HIGH", "title": title, "description": "Uji klien gql.",
                           "reporter": {"name": "Rahasia", "kind": "VOTER"}}},
                token("ADMIN", "KESBANGPOL_DKI", 600),
            )
            return made["data"]["reportDispute"]["dispute"]["id"]

        reporting = asyncio.create_task(report_later())
        try:
            async for _ in session.subscribe(subscription):
                check("a push without errors", False, "the reporter field should have failed")
                break
        except TransportQueryError as error:
            # gql raises on a `next` carrying errors; its data comes with it.
            made_id = await reporting
            data = error.data or {}
            update = data.get("disputeUpdated") or {}
            check("the report made by ADMIN reaches the POLICE subscriber",
                  update.get("dispute", {}).get("id") == made_id and update["dispute"].get("title") == title, json.dumps(data))
            check("the reporter is null for POLICE before escalation", update.get("dispute", {}).get("reporter", "x") is None, json.dumps(data))
            errors = error.errors or []
            check("with a FORBIDDEN error at its path",
                  bool(errors) and errors[0].get("extensions", {}).get("code") == "FORBIDDEN"
                  and errors[0].get("path") == ["disputeUpdated", "dispute", "reporter"], json.dumps(errors))
            check("the reporter's name never leaves the server", "Rahasia" not in json.dumps(data) + json.dumps(errors))


async def closed_with_4403_when_the_token_expires() -> None:
    code = None
    try:
        async with Client(transport=transport(token("KPU", "KPU_DKI", 2))) as session:
            async for _ in session.subscribe(gql("subscription { disputeStatsUpdated { total } }")):
                pass
    except Exception as error:  # noqa: BLE001 - gql wraps the close in its own exception
        cause = error.__cause__ or error.__context__
        code = getattr(getattr(cause, "rcvd", None), "code", None)
    check("an expired token closes the socket with 4403", code == 4403, str(code))


async def main() -> int:
    if not BASE or not SECRET:
        print("usage: POSKO_JWT_SECRET=... python3 gql_client.py <base URL>")
        return 2
    try:
        await asyncio.wait_for(receives_a_report_with_a_forbidden_field(), 15)
        await asyncio.wait_for(closed_with_4403_when_the_token_expires(), 15)
    except Exception as error:  # noqa: BLE001 - any failure is a failed check
        check("the client ran to the end", False, repr(error))
    failed = RESULTS.count(False)
    print(f"{len(RESULTS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
