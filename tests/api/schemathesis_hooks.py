"""Schemathesis hooks for runs against the account API: the test suite's and ``st run``'s.

Every POST needs an ``Idempotency-Key``, and a key sent again with another body is refused (422
``idempotency_key_reused``), as the contract says. Generated keys repeat ("0", "00..."), so a
generated call would be refused for an earlier call's key rather than judged on its own data. A
client sends a fresh key per call; so do these runs: in a call whose headers schemathesis
generated valid, the key is replaced by a fresh one. Headers generated invalid (a missing or
invalid key, a missing ``Authorization``) are left as they are, to be refused: schemathesis
judges a call again after this hook, and an edited header set would count as valid and get the
token back. Replays are tested in ``test_idempotency.py``.

From the repository root, against a served sandbox::

    SCHEMATHESIS_HOOKS=tests/api/schemathesis_hooks.py st run api/openapi.json --checks all ...
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation

IDEMPOTENCY_KEY = "Idempotency-Key"


def fresh_idempotency_key(case: Any) -> None:
    """Give ``case`` a fresh ``Idempotency-Key`` when its headers were generated valid."""
    headers = case.headers or {}
    if IDEMPOTENCY_KEY not in headers:
        return
    meta = case.meta
    generated = meta.components.get(ParameterLocation.HEADER) if meta is not None else None
    if generated is not None and not generated.mode.is_positive:
        return
    headers[IDEMPOTENCY_KEY] = f"st-{uuid.uuid4().hex}"
    case.headers = headers


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    fresh_idempotency_key(case)
