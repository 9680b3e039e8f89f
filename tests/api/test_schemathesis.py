"""The running sandbox against its contract (api/openapi.json), as schemathesis sees it.

Every check schemathesis has (``schemathesis.checks.CHECKS``: no 5xx, documented statuses,
bodies, content types and headers, invalid data refused and valid data accepted, required
headers, 405 with ``Allow``, auth enforced, resources there once created), in every phase: the
contract's examples, its coverage cases (boundaries, missing headers, undeclared methods),
fuzzing, and stateful runs that chain calls along the contract's OpenAPI links (open a change,
read it, renew it, disconnect and link within it, close it). The same run from the command line,
against a served sandbox: api/README.md.

Calls get a fresh ``Idempotency-Key`` each (:mod:`schemathesis_hooks`), as a client sends; the
number of examples and steps is bounded so the file stays well under a minute and a half.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import uuid
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
import schemathesis_hooks  # noqa: F401  (registers the before_call hook: fresh keys)
from api_seeds import NEW_AE, OLD_AE, blocked_orders, settled_orders
from hypothesis import strategies as st
from schemathesis.checks import CHECKS, is_check_class, load_all_checks
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput

from relink.api.models import NOT_BLANK_PATTERN
from relink.sandbox.contract import CONTRACT_PATH, CURSOR_PATTERN

DEMO_ACCOUNT = "acct-demo"  # the account id the contract gives as its example
DEMO_TOKEN = "tok-schemathesis"
CONTRACT = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))

load_all_checks()
ALL_CHECKS = [check for check in CHECKS.get_all() if not is_check_class(check)]

# Loaded at import (the pytest integration's fixture-based loader does not work with pytest 9);
# the sandbox's URL is given per call. The token is the contract's own scheme (HTTPBearer), so
# schemathesis knows it is the credential: it leaves it out where it tests a call without one.
schema = schemathesis.openapi.from_path(
    CONTRACT_PATH,
    config=schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": 10, "database": "none"},
            # mostly the seeded account, so calls get past 403 to the account's own answers
            "dictionaries": {"accounts": {"values": [DEMO_ACCOUNT]}},
            "parameters": {"path.account_id": {"dictionary": "accounts", "probability": 0.9}},
            "request-timeout": 10,
            "auth": {"openapi": {"HTTPBearer": {"bearer": DEMO_TOKEN}}},
        }
    ),
)


def _seed_demo(sandbox: Any) -> str:
    """The contract's example account, afresh: linked, logged in, orders that block, and the
    token may force a disconnect (so a forced one gets past that guard too)."""
    sandbox.admin.seed(
        {
            "account_id": DEMO_ACCOUNT,
            "token": DEMO_TOKEN,
            "linked_aliexpress_account": OLD_AE,
            "logged_in_aliexpress_account": OLD_AE,
            "orders": blocked_orders("demo"),
            "token_permissions": ["override"],
        }
    )
    return str(sandbox.url)


@pytest.fixture(scope="module")
def demo_account(sandbox: Any) -> str:
    return _seed_demo(sandbox)


def test_every_check_schemathesis_has_is_run():
    names = {check.__name__ for check in ALL_CHECKS}
    assert {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",
        "missing_required_header",
        "unsupported_method",
        "allow_header_conformance",
        "use_after_free",
        "ensure_resource_availability",
        "ignored_auth",
        "object_level_authorization",
    } <= names
    phases = schema.config.phases
    assert all(p.enabled for p in (phases.examples, phases.coverage, phases.fuzzing))


@schema.parametrize()
def test_the_sandbox_honours_the_contract(case, demo_account):
    """Examples, coverage and fuzzing, one operation at a time."""
    case.call_and_validate(base_url=demo_account, checks=ALL_CHECKS)


def test_stateful_runs_follow_the_contracts_links(sandbox):
    """Chains of calls along the links, every check on every answer; the links are followed."""
    url = str(sandbox.url)
    followed: list[tuple[str, int]] = []

    class Sandbox(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # every scenario starts from the same account: what it is answered depends on its
            # own calls only, as Hypothesis needs to replay it
            _seed_demo(sandbox)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": url}

        def step(self, input: StepInput) -> StepOutput:
            output = super().step(input)
            if input.transition is not None and input.is_applied:
                followed.append((input.transition.id, output.response.status_code))
            return output

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            kwargs.pop("additional_checks", None)
            case.validate_response(
                response, checks=ALL_CHECKS, transport_kwargs=kwargs or None, recorder=self.recorder
            )

    Sandbox.run(
        settings=hypothesis.settings(
            max_examples=40,
            stateful_step_count=6,
            phases=[hypothesis.Phase.generate],
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    # transitions are named "SOURCE -> [status] link -> TARGET"; inferred ones are not declared
    declared = {f"[{status}] {name} ->" for _, status, name in _declared_links()}
    assert any(
        200 <= status < 300 and any(link in transition for link in declared)
        for transition, status in followed
    ), followed


# ---- what the run above relies on, checked exactly ----


@pytest.mark.parametrize("path", sorted(CONTRACT["paths"]))
def test_a_method_the_contract_does_not_declare_is_405_with_allow(demo_account, path):
    declared = {method.upper() for method in CONTRACT["paths"][path]}
    concrete = path.replace("{account_id}", DEMO_ACCOUNT).replace("{change_id}", "chg_x")
    concrete = concrete.replace("{request_id}", "apr_x")
    for method in ("PUT", "PATCH", "DELETE", "TRACE", "OPTIONS", "GET", "POST"):
        if method in declared:
            continue
        response = requests.request(method, demo_account + concrete, timeout=10)
        assert response.status_code == 405, (method, path)
        assert set(response.headers["Allow"].split(", ")) == declared, (method, path)
        assert response.json()["error"]["code"] == "method_not_allowed"


@hypothesis.settings(max_examples=300, database=None, deadline=None)
@hypothesis.given(st.from_regex(CURSOR_PATTERN, fullmatch=True))
def test_every_cursor_the_contract_allows_is_one_the_server_could_issue(cursor):
    text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    prefix, _, number = text.partition(":")
    assert prefix == "after" and number.isascii() and number.isdigit() and len(number) <= 18


@pytest.mark.parametrize("order_id", [1, 9, 10, 99, 100, 12345, 10**17, 10**18 - 1])
def test_every_cursor_the_server_issues_is_one_the_contract_allows(order_id):
    cursor = base64.urlsafe_b64encode(f"after:{order_id}".encode()).decode().rstrip("=")
    assert re.fullmatch(CURSOR_PATTERN, cursor)


def test_a_cursor_past_sqlites_integers_is_refused_not_a_crash(demo_account):
    huge = base64.urlsafe_b64encode(b"after:" + b"9" * 30).decode().rstrip("=")
    response = requests.get(
        f"{demo_account}/v1/accounts/{DEMO_ACCOUNT}/orders",
        params={"cursor": huge},
        headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_a_written_reason_is_what_the_server_takes_for_one():
    """The contract's "not blank" is exactly what ``str.strip`` leaves something of."""
    pattern = re.compile(NOT_BLANK_PATTERN)
    mismatched = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if (pattern.fullmatch(chr(code)) is None) != chr(code).isspace()
    ]
    assert mismatched == []


def _operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """The contract's operations by id: (path, method, operation)."""
    return {
        operation["operationId"]: (path, method, operation)
        for path, methods in CONTRACT["paths"].items()
        for method, operation in methods.items()
    }


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = CONTRACT["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _properties(node: dict[str, Any]) -> dict[str, Any]:
    """The properties an object schema (or any of its ``anyOf`` options) names."""
    found: dict[str, Any] = {}
    for option in _resolve(node).get("anyOf", [_resolve(node)]):
        found.update(_resolve(option).get("properties", {}))
    return found


def _field(node: dict[str, Any], pointer: str) -> dict[str, Any] | None:
    """The schema of the field a JSON pointer names in an instance of ``node``, if it has one."""
    for part in pointer.split("/"):
        properties = _properties(node)
        if part not in properties:
            return None
        node = properties[part]
    return _resolve(node)


def _nullable(node: dict[str, Any]) -> bool:
    return node.get("type") == "null" or any(_nullable(_resolve(o)) for o in node.get("anyOf", []))


def _body_schema(operation: dict[str, Any]) -> dict[str, Any]:
    content = operation.get("requestBody", {}).get("content", {})
    return dict(content.get("application/json", {}).get("schema", {}))


def _declared_links() -> set[tuple[str, str, str]]:
    return {
        (operation_id, status, name)
        for operation_id, (_, _, operation) in _operations().items()
        for status, response in operation["responses"].items()
        for name in response.get("links", {})
    }


def test_the_contracts_links_name_real_operations_parameters_and_fields():
    operations = _operations()
    for source_id, (source_path, _, source) in operations.items():
        for status, response in source["responses"].items():
            answer = response["content"]["application/json"]["schema"]
            for name, link in response.get("links", {}).items():
                where = (source_id, status, name)
                _, _, target = operations[link["operationId"]]
                parameters = {(p["in"], p["name"]) for p in target["parameters"]}
                properties = _properties(_body_schema(target))
                sources = [(None, value) for value in link.get("parameters", {}).values()]
                for key in link.get("parameters", {}):
                    assert tuple(key.split(".", 1)) in parameters, where
                for key, value in link.get("requestBody", {}).items():
                    assert key in properties, where
                    sources.append((_resolve(properties[key]), value))
                for fed, value in sources:
                    if not isinstance(value, str):
                        assert fed is None or fed.get("type") != "string", (where, value)
                    elif value.startswith(("$response.body#/", "$request.body#/")):
                        side, pointer = value.split("#/")
                        node = answer if side == "$response.body" else _body_schema(source)
                        field = _field(node, pointer)
                        assert field is not None, (where, value)
                        # null may only feed a field that takes null (a parameter skips it)
                        if fed is not None and _nullable(field):
                            assert _nullable(fed), (where, value)
                    elif value.startswith("$request.path."):
                        assert "{" + value.removeprefix("$request.path.") + "}" in source_path
                    else:
                        assert not value.startswith("$"), (where, value)
    assert len(_declared_links()) >= 20


class _LinkWalk:
    """Calls that follow the contract's links by hand, each link's expressions evaluated on the
    real request and answer (as schemathesis does): which links were followed is kept."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.followed: set[tuple[str, str, str]] = set()

    def call(
        self,
        operation_id: str,
        path: dict[str, str],
        *,
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        template, method, _ = _operations()[operation_id]
        headers = {"Authorization": f"Bearer {token or self.token}"}
        if method == "post":
            headers["Idempotency-Key"] = f"walk-{uuid.uuid4().hex}"
        response = requests.request(
            method,
            self.url + template.format(**path),
            params=query,
            json=body,
            headers=headers,
            timeout=10,
        )
        return {"id": operation_id, "path": path, "body": body, "response": response}

    def follow(
        self,
        call: dict[str, Any],
        name: str,
        *,
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        status = str(call["response"].status_code)
        _, _, operation = _operations()[call["id"]]
        link = operation["responses"][status]["links"][name]
        self.followed.add((call["id"], status, name))

        def value(expression: Any) -> Any:
            if not isinstance(expression, str) or not expression.startswith("$"):
                return expression
            if expression.startswith("$request.path."):
                return call["path"][expression.removeprefix("$request.path.")]
            side, pointer = expression.split("#/")
            found = call["response"].json() if side == "$response.body" else call["body"]
            for part in pointer.split("/"):
                found = found[part]
            return found

        path: dict[str, str] = {}
        query = dict(query or {})
        for key, expression in link.get("parameters", {}).items():
            where, parameter = key.split(".", 1)
            if (found := value(expression)) is not None:
                (path if where == "path" else query)[parameter] = found
        if "requestBody" in link:
            body = {**(body or {}), **{k: value(v) for k, v in link["requestBody"].items()}}
        return self.call(link["operationId"], path, query=query, body=body, token=token)


def _status(call: dict[str, Any]) -> tuple[int, str | None]:
    response = call["response"]
    code = response.json().get("error", {}).get("code") if response.status_code >= 400 else None
    return response.status_code, code


def test_every_link_of_the_contract_leads_where_it_says(seed):
    """By links alone: a whole change (open, renew, disconnect, link, finish), a second one
    found through a 409 and abandoned, pages of orders, an override approved by a second
    person. Every declared link is followed."""
    account = seed(settled_orders("walk"), logged_in=NEW_AE)
    walk = _LinkWalk(account.url, account.token)
    got = walk.call("get_account", {"account_id": account.account_id})
    assert _status(got) == (200, None)

    first = walk.follow(got, "ListOrders", query={"limit": 2})
    second = walk.follow(first, "NextPage", query={"limit": 2})
    pages = [{o["order"] for o in page["response"].json()["orders"]} for page in (first, second)]
    assert len(pages[0]) == len(pages[1]) == 2 and not pages[0] & pages[1]
    assert _status(walk.follow(got, "GetLink")) == (200, None)
    synced = walk.follow(got, "Sync")
    assert _status(synced) == (200, None)
    assert _status(walk.follow(synced, "ListOrders")) == (200, None)
    assert _status(walk.follow(got, "CurrentChange")) == (404, "no_open_change")

    # the whole change, to the account the browser is logged in to
    to_new = {"operator": "st", "to_aliexpress_account": NEW_AE}
    opened = walk.follow(got, "OpenChange", body={"ticket": "T-1", **to_new})
    assert _status(opened) == (200, None)
    change = opened["response"].json()
    assert change["from_aliexpress_account"] == OLD_AE
    renewed = walk.follow(opened, "RenewChange")
    assert _status(renewed) == (200, None)
    assert renewed["response"].json()["change_id"] == change["change_id"]
    record = walk.follow(opened, "Operations")["response"].json()
    assert [op["kind"] for op in record] == ["open", "renew"]
    assert walk.follow(opened, "ApprovalRequests")["response"].json() == []
    nothing_blocks = {"acknowledged_blockers": [{"store": "alpha", "order": "#1"}], "reason": "r"}
    asked = walk.follow(opened, "RequestApproval", body=nothing_blocks)
    assert _status(asked) == (403, "permission_required")  # the seed's token may not override
    taken = walk.follow(opened, "TakeOver", body={"reason": "the lead takes it over"})
    assert _status(taken) == (403, "permission_required")
    other = {"account_id": account.account_id}
    body = {"ticket": "T-2", "from_aliexpress_account": OLD_AE, **to_new}
    refused = walk.call("open_change", other, body=body)
    assert _status(refused) == (409, "change_in_progress")
    current = walk.follow(refused, "CurrentChange")
    assert current["response"].json()["change_id"] == change["change_id"]
    assert _status(walk.follow(current, "Operations")) == (200, None)
    assert _status(walk.follow(current, "ApprovalRequests")) == (200, None)
    asked = walk.follow(current, "RequestApproval", body=nothing_blocks)
    assert _status(asked) == (403, "permission_required")
    taken = walk.follow(current, "TakeOver", body={"reason": "the lead takes it over"})
    assert _status(taken) == (403, "permission_required")
    # the change is held: link is refused for what is linked, not for the change
    assert _status(walk.follow(opened, "Link")) == (409, "already_linked")
    assert _status(walk.follow(current, "Link")) == (409, "already_linked")
    confirmed = {"confirm": True, "expected_aliexpress_account": OLD_AE}
    unlinked = walk.follow(current, "Disconnect", body=confirmed)
    assert _status(unlinked) == (200, None)
    assert walk.follow(unlinked, "GetLink")["response"].json()["light"] == "red"
    linked = walk.follow(unlinked, "Link", body={"aliexpress_account": NEW_AE})
    assert _status(linked) == (200, None)
    assert _status(walk.follow(linked, "GetLink")) == (200, None)
    finished = walk.follow(linked, "FinishChange")
    assert finished["response"].json()["state"] == "finished"
    assert _status(walk.follow(finished, "CurrentChange")) == (404, "no_open_change")
    state = walk.follow(finished, "GetLink")["response"].json()
    assert state["linked_aliexpress_account"] == NEW_AE

    # a second change, to an account nobody is logged in to: held, refused, abandoned
    elsewhere = {
        "operator": "st",
        "from_aliexpress_account": NEW_AE,
        "to_aliexpress_account": "ae-third@example.com",
    }
    opened = walk.call("open_change", other, body={"ticket": "T-3", **elsewhere})
    assert _status(opened) == (200, None)
    confirmed = {"confirm": True, "expected_aliexpress_account": NEW_AE}
    refusal = walk.follow(opened, "Disconnect", body=confirmed)
    assert _status(refusal) == (409, "target_not_logged_in")
    refused = walk.call("open_change", other, body={"ticket": "T-4", **elsewhere})
    current = walk.follow(refused, "CurrentChange")
    assert _status(walk.follow(current, "RenewChange")) == (200, None)
    closed = walk.follow(current, "CloseChange", body={"outcome": "abandoned"})
    assert closed["response"].json()["state"] == "abandoned"
    again = walk.follow(opened, "CloseChange", body={"outcome": "abandoned"})
    assert _status(again) == (200, None)

    walk.followed |= _walk_an_approved_override(seed)
    assert walk.followed == _declared_links()


def _walk_an_approved_override(seed: Any) -> set[tuple[str, str, str]]:
    """Four eyes by links: ask, read, a lead approves, the requester forces with it."""
    account = seed(blocked_orders("four"), logged_in=NEW_AE, permissions=["override"])
    lead = f"tok-lead-{uuid.uuid4().hex}"
    account.admin.issue_token(lead, [account.account_id], "lead", permissions=["approve"])
    walk = _LinkWalk(account.url, account.token)
    path = {"account_id": account.account_id}
    body = {"ticket": "T-9", "from_aliexpress_account": OLD_AE, "to_aliexpress_account": NEW_AE}
    opened = walk.call("open_change", path, body=body)
    blocked = walk.follow(opened, "Disconnect", body={"confirm": True, **_EXPECT_OLD})
    assert _status(blocked) == (409, "blocked")
    refs = [{"store": b["store"], "order": b["order"]} for b in _error(blocked)["blockers"]]
    reason = {"reason": "the merchant accepts, in writing"}
    asked = walk.follow(opened, "RequestApproval", body={"acknowledged_blockers": refs, **reason})
    assert _status(asked) == (201, None)
    read = walk.follow(asked, "GetApprovalRequest")
    assert read["response"].json()["state"] == "pending"
    assert _status(walk.follow(read, "ChangeOperations")) == (200, None)
    decision = {"decision": "approve", **reason}
    approved = walk.follow(asked, "Decide", body=decision, token=lead)
    assert approved["response"].json()["state"] == "approved"
    forced = walk.follow(
        approved, "ForceDisconnect", body={"confirm": True, **_EXPECT_OLD, **reason}
    )
    assert _status(forced) == (200, None)
    assert forced["response"].json()["approved_by"] == "lead"
    return walk.followed


_EXPECT_OLD = {"expected_aliexpress_account": OLD_AE}


def _error(call: dict[str, Any]) -> dict[str, Any]:
    return dict(call["response"].json()["error"])
