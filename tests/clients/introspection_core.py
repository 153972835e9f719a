"""graphql-core's introspection queries (what gql, Strawberry's and Ariadne's tooling and
most Python clients send) against a live Posko under its default limits: each answer must
build a client schema with graphql-core's `build_client_schema` that holds `Dispute`, and
a hand-made 50-level `ofType` query must still be refused.

    python3 tests/clients/introspection_core.py http://127.0.0.1:18089
"""

import json
import sys
import urllib.error
import urllib.request

import graphql
from graphql import GraphQLObjectType, build_client_schema, get_introspection_query

BASE = sys.argv[1] if len(sys.argv) > 1 else ""
RESULTS: list[bool] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    RESULTS.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}")


def post(query: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{BASE}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json", "accept": "application/graphql-response+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def introspects(name: str, **options: bool) -> None:
    status, body = post(get_introspection_query(**options))
    if status != 200 or body.get("errors") or not body.get("data"):
        check(f"{name}: the server answers without errors", False, f"HTTP {status} {json.dumps(body)[:400]}")
        return
    try:
        schema = build_client_schema(body["data"])
    except Exception as error:  # noqa: BLE001 - any refusal is the failure to report
        check(f"{name}: build_client_schema accepts the answer", False, repr(error))
        return
    dispute = schema.get_type("Dispute")
    check(f"{name}: a client schema with Dispute",
          isinstance(dispute, GraphQLObjectType) and "refNo" in dispute.fields, repr(dispute))
    mutation = schema.mutation_type
    report = mutation.fields.get("reportDispute") if mutation else None
    check(f"{name}: mutations and their arguments survive", report is not None and "input" in report.args, repr(report))


def refuses_deep_of_type() -> None:
    nested = "name"
    for _ in range(50):
        nested = f"ofType {{ {nested} }}"
    status, body = post(f"{{ __schema {{ types {{ {nested} }} }} }}")
    code = ((body.get("errors") or [{}])[0].get("extensions") or {}).get("code")
    check("a hand-made 50-level ofType query is QUERY_TOO_COMPLEX", code == "QUERY_TOO_COMPLEX" and "data" not in body,
          f"HTTP {status} {json.dumps(body)[:400]}")


def main() -> int:
    if not BASE:
        print("usage: python3 introspection_core.py <base URL>")
        return 2
    version = graphql.__version__
    try:
        introspects(f"graphql-core {version} get_introspection_query()")
        introspects(f"graphql-core {version} with input_value_deprecation and one_of",
                    input_value_deprecation=True, one_of=True)
        introspects(f"graphql-core {version} with every standard option",
                    descriptions=True, specified_by_url=True, directive_is_repeatable=True,
                    schema_description=True, input_value_deprecation=True, one_of=True)
        refuses_deep_of_type()
    except Exception as error:  # noqa: BLE001 - any failure is a failed check
        check("the client ran to the end", False, repr(error))
    failed = RESULTS.count(False)
    print(f"{len(RESULTS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
