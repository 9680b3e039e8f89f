"""The contract's types are defined once (relink.api.models): the sandbox declares its routes
with them, the client parses its answers with them; imports flow one way."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pydantic
import pytest
import requests

from relink.api import models
from relink.api.results import Account, Change, Order, SyncOutcome, parse
from relink.api.transport import Answer, error_from_response
from relink.errors import ApiConnectionError, ConflictError

SANDBOX = Path(models.__file__).resolve().parents[1] / "sandbox"


def test_results_are_the_contract_models_frozen(blocked):
    client = blocked.client()
    account = client.account(blocked.account_id)
    assert isinstance(account, models.Account) and account.request_id
    with pytest.raises(pydantic.ValidationError):
        account.whitelisted = False  # type: ignore[misc]
    order = client.orders(blocked.account_id)[0]
    assert isinstance(order, models.Order) and isinstance(order.parts[0], models.Part)
    assert order.request_id and "request_id" in order.model_dump()
    change = blocked.open_change()
    assert isinstance(change, models.Change) and isinstance(change.opened_at, datetime)
    assert change.idempotency_key and change.replayed is False
    outcome = client.sync(blocked.account_id)
    assert isinstance(outcome, SyncOutcome) and outcome.remaining_today == 9
    assert outcome.next_sync_at == outcome.quota.next_sync_at


def test_fields_the_contract_lacks_are_ignored_and_origin_is_set():
    body = {
        "account_id": "a",
        "stores": ["s"],
        "linked_aliexpress_account": None,
        "whitelisted": False,
        "logged_in_aliexpress_account": None,
        "added_later": 1,
    }
    account = parse(Account, Answer(body, "req_1", False), "account")
    assert account.request_id == "req_1" and account.stores == ("s",)
    assert not hasattr(account, "added_later")


def test_an_answer_without_the_contract_shape_is_no_usable_answer():
    answer = Answer({"change_id": "chg_1"}, "req_2", False)
    with pytest.raises(ApiConnectionError) as caught:
        parse(Change, answer, "open_change", "key-1")
    assert caught.value.code == "answer_invalid" and caught.value.request_id == "req_2"
    assert "open_change" in str(caught.value)
    with pytest.raises(ApiConnectionError):
        parse(Order, Answer({"orders": "no"}, None, False), "orders")


def test_the_server_message_is_kept_apart():
    response = requests.Response()
    response.status_code = 409
    body = {"error": {"code": "link_changed", "message": "x: is linked", "request_id": "r"}}
    response._content = json.dumps(body).encode()
    response.reason = "Conflict"
    error = error_from_response(response, "disconnect")
    assert isinstance(error, ConflictError)
    assert error.server_message == "x: is linked"
    assert str(error).startswith("disconnect: HTTP 409 link_changed: x: is linked")
    response._content = b"<html>oops</html>"
    assert error_from_response(response, "disconnect").server_message == "Conflict"


def test_the_client_needs_neither_fastapi_nor_the_sandbox():
    code = (
        "import sys, relink.api, relink.api.client, relink.api.models; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette') "
        "or m.startswith('relink.sandbox')]; print(bad)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _imports(path: Path) -> tuple[set[str], list[str]]:
    """The relink.sandbox modules ``path`` imports at its top, and any imported in a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            top |= {name for name in names if name.count(".") == 2 and "sandbox" in name}
    nested = [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith("relink.sandbox")
        and node not in tree.body
    ]
    return {name.split(".")[2] for name in top if name.startswith("relink.sandbox.")}, nested


def test_sandbox_imports_flow_one_way():
    modules = {path.stem: path for path in SANDBOX.glob("*.py") if path.stem != "__init__"}
    graph = {}
    for name, path in modules.items():
        imported, nested = _imports(path)
        graph[name] = imported & set(modules)
        # the only imports inside functions are the CLI's lazy ones (uvicorn, pandas)
        assert set(nested) <= {"relink.sandbox.launcher", "relink.sandbox.seeding"}, name
    seen: dict[str, int] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert name not in trail, " -> ".join((*trail, name))
        if seen.get(name):
            return
        for imported in graph[name]:
            visit(imported, (*trail, name))
        seen[name] = 1

    for name in graph:
        visit(name, ())
    assert "app" not in graph["admin"] | graph["contract"] | graph["dependencies"]
