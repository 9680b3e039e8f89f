"""The contract exercised by schemathesis against the running sandbox: no 5xx, and every answer
conforms to api/openapi.json (status code documented, body shape, content type, headers)."""

from __future__ import annotations

import pytest
import schemathesis
from api_seeds import OLD_AE, blocked_orders
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from relink.sandbox.contract import CONTRACT_PATH

DEMO_ACCOUNT = "acct-demo"  # the account id the contract gives as its example
DEMO_TOKEN = "tok-schemathesis"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="session")
def demo_account(sandbox):
    """The example account of the contract, seeded with orders that block."""
    sandbox.admin.seed(
        {
            "account_id": DEMO_ACCOUNT,
            "token": DEMO_TOKEN,
            "linked_aliexpress_account": OLD_AE,
            "logged_in_aliexpress_account": OLD_AE,
            "orders": blocked_orders("demo"),
        }
    )
    return sandbox.url


# Loaded at import (the pytest integration's fixture-based loader does not work with pytest 9);
# the sandbox's URL and the token are given per call instead.
schema = schemathesis.openapi.from_path(
    CONTRACT_PATH,
    config=schemathesis.Config.from_dict(
        {"generation": {"max-examples": 15, "database": "none"}, "request-timeout": 10}
    ),
)


@schema.parametrize()
def test_the_sandbox_honours_the_contract(case, demo_account):
    case.call_and_validate(
        base_url=demo_account,
        headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
        checks=CHECKS,
    )
