"""``relink sandbox seed``: an account seeded from an order export and an AliExpress-side file."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import requests

from relink.api.client import Client
from relink.sandbox.contract import CONTRACT_PATH


def test_seed_from_export_cli(sandbox, tmp_path):
    export = tmp_path / "orders.csv"
    export.write_text(
        "Store,Order No.,Status,AliExpress Order No.,Tracking No.\n"
        "alpha,#1001,Awaiting Payment,E1,\n"
        "alpha,#1002,Awaiting shipment,E2,\n"
        "alpha,#1002,Awaiting shipment,E3,\n"
        "beta,#1001,Fulfilled,E4,LP123\n"
        "beta,#1005,Awaiting orders,,\n"
        "beta,#1006,Shipped-ish,E6,\n",
        encoding="utf-8",
    )
    side = tmp_path / "aliexpress.csv"
    side.write_text(
        "aliexpress_order_id,order_status,end_reason\n"
        "E1,FINISH,buyer_pay_timeout\n"
        "E2,WAIT_SELLER_SEND_GOODS,\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "relink.sandbox", "seed", "--db", str(sandbox.db_path)]
    command += ["acct-export", str(export), "--aliexpress", str(side), "--token", "tok-export"]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "seeded acct-export: 5 orders" in done.stdout
    assert "tok-export" not in done.stdout  # a token given is not echoed back

    client = Client(sandbox.url, "tok-export")
    assert client.account("acct-export").stores == ("alpha", "beta")
    orders = {(o.store, o.order): o for o in client.orders("acct-export")}
    assert len(orders) == 5
    # E1: DSers awaiting payment, AliExpress already closed it: drift alone (a sync clears it;
    # nobody is asked to cancel an order AliExpress already closed)
    assert orders["alpha", "#1001"].blocking_reasons == ("sync_drift",)
    assert [p.aliexpress_order_id for p in orders["alpha", "#1002"].parts] == ["E2", "E3"]
    assert orders["beta", "#1001"].parts[0].tracking_number == "LP123"
    assert orders["beta", "#1005"].parts == () and not orders["beta", "#1005"].blocking
    assert orders["beta", "#1006"].blocking_reasons == ("unknown_status",)
    assert orders["beta", "#1006"].dsers_label == "Shipped-ish"


def test_seed_takes_the_export_order_dates(sandbox, tmp_path):
    export = tmp_path / "dated.csv"
    export.write_text(
        "Store,Order No.,Status,AliExpress Order No.,Order Date\n"
        "alpha,#1001,Awaiting Payment,E1,2026-11-03 10:15\n"
        "alpha,#1002,Awaiting shipment,E2,2026-11-05 08:00\n"
        "alpha,#1002,Awaiting shipment,E3,2026-11-04 09:00\n"
        "alpha,#1003,Awaiting orders,,\n",
        encoding="utf-8",
    )
    side = tmp_path / "aliexpress.csv"
    side.write_text(
        "aliexpress_order_id,order_status,placed_at\n"
        "E1,PLACE_ORDER_SUCCESS,2026-11-04\n"
        "E2,WAIT_SELLER_SEND_GOODS,\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "relink.sandbox", "seed", "--db", str(sandbox.db_path)]
    command += ["acct-dated", str(export), "--aliexpress", str(side), "--token", "tok-dated"]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

    orders = {o.order: o for o in Client(sandbox.url, "tok-dated").orders("acct-dated")}
    assert orders["#1001"].ordered_at == date(2026, 11, 3)
    assert orders["#1001"].parts[0].placed_at == date(2026, 11, 4)  # AliExpress's own day
    assert orders["#1002"].ordered_at == date(2026, 11, 4)  # the order's earliest row
    assert [p.placed_at for p in orders["#1002"].parts] == [date(2026, 11, 4)] * 2
    assert orders["#1003"].ordered_at is None


def test_seed_reports_an_unreadable_export(sandbox, tmp_path):
    export = tmp_path / "empty.csv"
    export.write_text("", encoding="utf-8")
    command = [sys.executable, "-m", "relink.sandbox", "seed", "--db", str(sandbox.db_path)]
    done = subprocess.run([*command, "acct-bad", str(export)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith("relink: error:") and "Traceback" not in done.stderr


def test_seed_and_token_grant_the_override_permission(sandbox, tmp_path):
    export = tmp_path / "orders.csv"
    export.write_text("Order No.,Status\n#1,Fulfilled\n", encoding="utf-8")
    command = [sys.executable, "-m", "relink.sandbox"]
    db = ["--db", str(sandbox.db_path)]
    seeded = [*command, "seed", *db, "acct-perm", str(export), "--token", "tok-perm-seed"]
    done = subprocess.run([*seeded, "--permission", "override"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert Client(sandbox.url, "tok-perm-seed").account("acct-perm").permissions == ("override",)
    plain = [*command, "token", *db, "--account", "acct-perm", "--token", "tok-perm-plain"]
    subprocess.run(plain, check=True, capture_output=True)
    assert Client(sandbox.url, "tok-perm-plain").account("acct-perm").permissions == ()
    granted = [*command, "token", *db, "--account", "acct-perm", "--token", "tok-perm-lead"]
    subprocess.run([*granted, "--permission", "override"], check=True, capture_output=True)
    assert Client(sandbox.url, "tok-perm-lead").account("acct-perm").permissions == ("override",)


def _whoami(url: str, token: str) -> dict:
    answer = requests.get(
        f"{url}/v1/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_token_for_a_principal_and_whoami(sandbox, tmp_path):
    export = tmp_path / "orders.csv"
    export.write_text("Order No.,Status\n#1,Fulfilled\n", encoding="utf-8")
    command = [sys.executable, "-m", "relink.sandbox"]
    db = ["--db", str(sandbox.db_path)]
    seeded = [*command, "seed", *db, "acct-who", str(export), "--token", "tok-who-seed"]
    subprocess.run(seeded, check=True, capture_output=True)
    alice = [*command, "token", *db, "--account", "acct-who", "--token", "tok-who-alice"]
    alice += ["--principal", "alice", "--name", "Alice M.", "--permission", "approve"]
    done = subprocess.run(alice, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "", done.stderr  # a token given: not echoed
    me = _whoami(sandbox.url, "tok-who-alice")
    assert (me["principal"], me["display_name"], me["kind"]) == ("alice", "Alice M.", "person")
    assert me["permissions"] == {"acct-who": ["approve"]}
    plain = [*command, "token", *db, "--account", "acct-who", "--token", "tok-who-plain"]
    subprocess.run(plain, check=True, capture_output=True)
    service = _whoami(sandbox.url, "tok-who-plain")
    assert service["kind"] == "service" and service["principal"].startswith("token:")
    taken = [*command, "token", *db, "--account", "acct-who", "--token", "tok-who-alice"]
    refused = subprocess.run([*taken, "--principal", "bob"], capture_output=True, text=True)
    assert refused.returncode == 2
    assert refused.stderr == "relink: error: this token belongs to alice, not bob\n"
    bad = [*command, "token", *db, "--account", "acct-who", "--principal", "al ice"]
    refused = subprocess.run(bad, capture_output=True, text=True)
    assert refused.returncode == 2 and "principal 'al ice'" in refused.stderr
    nameless = [*command, "token", *db, "--account", "acct-who", "--kind", "service"]
    refused = subprocess.run(nameless, capture_output=True, text=True)
    assert refused.returncode == 2 and "give --principal" in refused.stderr


def test_contract_command_prints_the_committed_contract():
    done = subprocess.run(
        [sys.executable, "-m", "relink.sandbox", "contract"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == CONTRACT_PATH.read_text(encoding="utf-8")
