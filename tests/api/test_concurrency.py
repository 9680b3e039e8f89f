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


def test_concurrent_disconnects_disconnect_once(clear):
    clients = [clear.client() for _ in range(CALLERS)]
    outcomes = _all_at_once(CALLERS, lambda i: clients[i].disconnect(clear.account_id))
    done = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(done) == 1
    assert all(isinstance(e, ConflictError) for e in refused), refused
    assert {e.code for e in refused} <= {"not_linked", "operation_in_progress"}
    assert clear.audit_operations() == ["disconnect"]


def test_concurrent_repeats_of_one_key_disconnect_once(clear):
    clients = [clear.client() for _ in range(CALLERS)]
    outcomes = _all_at_once(
        CALLERS, lambda i: clients[i].disconnect(clear.account_id, idempotency_key="same")
    )
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(not o.replayed for o in outcomes) == 1
    assert len({o.request_id for o in outcomes if not o.replayed}) == 1
    assert clear.audit_operations() == ["disconnect"]


def test_disconnect_and_link_racing_never_interleave(clear):
    clear.admin.login(clear.account_id, NEW_AE)
    clients = [clear.client() for _ in range(CALLERS)]

    def disconnect_or_link(index):
        if index % 2:
            return clients[index].link(clear.account_id, NEW_AE)
        return clients[index].disconnect(clear.account_id)

    _all_at_once(CALLERS, disconnect_or_link)
    # the audit log must read as one call after another: replay it on a model of the link
    linked = OLD_AE
    for entry in clear.admin.audit(clear.account_id):
        if entry["operation"] == "disconnect":
            assert linked is not None and entry["detail"]["aliexpress_account"] == linked
            linked = None
        else:
            assert linked in (None, NEW_AE), "a link while another account was still linked"
            linked = NEW_AE
    assert clear.client().link_state(clear.account_id).linked_aliexpress_account == linked
