"""The sandbox: a local implementation of relink's account API that behaves like DSers.

It serves the contract in ``api/openapi.json`` (FastAPI on uvicorn, state in SQLite), moves the
AliExpress side on over sandbox time, and can be made to fail on purpose. The library's logic
never imports it; the demo and the tests start it (:func:`relink.sandbox.launcher.start_sandbox`)
when no ``RELINK_API_URL`` is set.

The contract's bodies are :mod:`relink.api.models` (shared with the client). Modules, one
concern each: ``models`` (the refusal, sandbox-only bodies), ``contract`` (OpenAPI pieces),
``dependencies`` (what routes share), ``app`` (``/v1`` routes, builds the application),
``asgi`` (request ids, the error shape), ``admin`` (``/_sandbox`` routes), ``operations``
(reads, sync), ``changes`` (the change leases), ``linking`` (guarded disconnect and link),
``world`` (AliExpress over time, blocking), ``store`` (SQLite, clock, tokens, operation log),
``accounts`` (account, order and part rows), ``idempotency``, ``faults``, ``seeding`` (from
exports), ``launcher`` (serve, start, control), ``cli`` (``relink sandbox``).

Imports flow one way: ``app`` imports ``admin``, ``contract`` and ``dependencies``; nothing
imports ``app`` but ``cli`` and ``launcher``.
"""
