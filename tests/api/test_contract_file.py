"""The committed contract (api/openapi.json) is what the server serves and the code generates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import get_args

import requests

from relink.api.models import StatusFilter
from relink.audit.statuses import DSERS_STATUSES
from relink.sandbox.app import SandboxSettings, build_api, contract_text
from relink.sandbox.contract import CONTRACT_PATH

REPO = Path(__file__).resolve().parents[2]


def test_committed_contract_matches_the_code():
    committed = json.loads((REPO / "api" / "openapi.json").read_text(encoding="utf-8"))
    generated = build_api(SandboxSettings(db_path=Path("unused"))).openapi()
    assert committed == generated, "api/openapi.json is stale: run `relink sandbox openapi`"
    assert CONTRACT_PATH == REPO / "api" / "openapi.json"
    assert CONTRACT_PATH.read_text(encoding="utf-8") == contract_text()


def test_openapi_check_command():
    done = subprocess.run(
        [sys.executable, "-m", "relink.sandbox", "openapi", "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_the_served_contract_is_the_committed_one(sandbox):
    served = requests.get(f"{sandbox.url}/openapi.json", timeout=10).json()
    assert served == json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))


def test_contract_is_versioned_and_has_no_admin_routes():
    document = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    assert document["info"]["version"] == "1.0.0"
    assert all(path.startswith("/v1/") for path in document["paths"])
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_every_operation_documents_its_failures():
    document = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "429"} <= codes and codes & {"200", "201"}, (method, path)
            if "{account_id}" in path:  # whoami names no account: nothing else can fail
                assert {"403", "404", "422"} <= codes, (method, path)
            if method == "post":
                assert {"400", "409"} <= codes, path
                names = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
                assert "Idempotency-Key" in names
            for response in operation["responses"].values():
                assert "X-Request-Id" in response["headers"]


def test_order_dates_are_optional_dates_in_the_contract():
    schemas = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))["components"]["schemas"]
    for model, name in (("Order", "ordered_at"), ("Part", "placed_at")):
        field = schemas[model]["properties"][name]
        assert {"type": "string", "format": "date"} in field["anyOf"], (model, field)
        assert {"type": "null"} in field["anyOf"]
        assert name not in schemas[model].get("required", []), model  # older servers omit it


def test_an_answer_without_dates_still_parses():
    from relink.api.models import Order

    body = {
        "store": "s",
        "order": "#1",
        "dsers_status": "awaiting_payment",
        "dsers_label": "Awaiting payment",
        "parts": [
            {
                "aliexpress_order_id": "A1",
                "dsers_status": "awaiting_payment",
                "aliexpress_status": None,
                "end_reason": None,
                "logistics_status": None,
                "tracking_number": None,
                "stranded": False,
            }
        ],
        "blocking": True,
        "blocking_reasons": ["awaiting_payment"],
        "stranded": False,
    }
    order = Order.model_validate(body)
    assert order.ordered_at is None and order.parts[0].placed_at is None


def test_status_filter_follows_statuses_module():
    assert set(get_args(StatusFilter)) == {*DSERS_STATUSES, "unknown"}
