"""Destructive operations on one account never interleave, whatever the number of callers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from api_seeds import NEW_AE, OLD_AE

from relink.errors import ConflictError

CALLERS = 12


def _all_at_once(count, call):
    """Run ``call(i)`` from ``count`` threads released together; results or exceptions."""
    start = threading.Barrier(count)

    def run(index):
        start.wait()
        try:
            return call(index)
        except Exception as exc:  # collected, asserted on by the test
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _disconnect(client, account_id, change_id, **options):
    return client.disconnect(
        account_id, change_id=change_id, expected_aliexpress_account=OLD_AE, **options
    )


def test_concurrent_disconnects_disconnect_once(clear):
    change = clear.ready()
    clients = [clear.client() for _ in range(CALLERS)]
    outcomes = _all_at_once(
        CALLERS, lambda i: _disconnect(clients[i], clear.account_id, change.change_id)
    )
    done = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(done) == 1
    assert all(isinstance(e, ConflictError) for e in refused), refused
    assert {e.code for e in refused} <= {"not_linked", "operation_in_progress"}
    assert clear.operations() == ["disconnect"]


def test_two_tickets_racing_one_opens_its_change_and_disconnects(clear):
    """Two analysts, two tickets, same moment: one holds the account, the other is told who."""
    clear.admin.login(clear.account_id, NEW_AE)
    clients = [clear.client() for _ in range(2)]

    def change_then_disconnect(index):
        change = clients[index].open_change(
            clear.account_id,
            ticket=f"T-{index}",
            operator=f"analyst-{index}",
            from_aliexpress_account=OLD_AE,
            to_aliexpress_account=NEW_AE,
        )
        return _disconnect(clients[index], clear.account_id, change.change_id)

    outcomes = _all_at_once(2, change_then_disconnect)
    done = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(done) == 1 and len(refused) == 1, outcomes
    assert isinstance(refused[0], ConflictError) and refused[0].code == "change_in_progress"
    assert refused[0].holder["change_id"] == done[0].change_id
    opened = clear.admin.changes(clear.account_id)
    assert [c["change_id"] for c in opened] == [done[0].change_id]
    assert clear.operations() == ["disconnect"]


def test_concurrent_repeats_of_one_key_disconnect_once(clear):
    change = clear.ready()
    clients = [clear.client() for _ in range(CALLERS)]
    outcomes = _all_at_once(
        CALLERS,
        lambda i: _disconnect(
            clients[i], clear.account_id, change.change_id, idempotency_key="same"
        ),
    )
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(not o.replayed for o in outcomes) == 1
    assert len({o.request_id for o in outcomes if not o.replayed}) == 1
    assert clear.operations() == ["disconnect"]


def test_disconnect_and_link_racing_never_interleave(clear):
    change = clear.ready()
    clients = [clear.client() for _ in range(CALLERS)]

    def disconnect_or_link(index):
        if index % 2:
            return clients[index].link(clear.account_id, NEW_AE, change_id=change.change_id)
        return _disconnect(clients[index], clear.account_id, change.change_id)

    _all_at_once(CALLERS, disconnect_or_link)
    # the operation log must read as one call after another: replay it on a model of the link
    linked = OLD_AE
    for entry in clear.admin.operations(clear.account_id):
        if entry["operation"] == "disconnect":
            assert linked is not None and entry["detail"]["aliexpress_account"] == linked
            linked = None
        else:
            assert linked in (None, NEW_AE), "a link while another account was still linked"
            linked = NEW_AE
    assert clear.client().link_state(clear.account_id).linked_aliexpress_account == linked
