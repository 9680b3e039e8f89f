"""The outermost ASGI layer (request ids) and the handlers that give every failure one shape.

Every answer carries ``X-Request-Id``; every failure, whatever raised it (a :class:`Refusal`,
a lock that could not be taken, a request FastAPI could not parse, a crash), answers
``{"error": {"code", "message", "request_id", ...}}`` as the contract says.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from relink.sandbox import store
from relink.sandbox.faults import ASGIApp, Receive, Scope, Send
from relink.sandbox.models import Refusal


class RequestIds:
    """Outermost ASGI layer: gives every call a request id and every answer ``X-Request-Id``.

    It also hands the layers below a way to close the connection without answering
    (``scope["state"]["close_connection"]``), which only the server's own ``send`` can reach.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req_{uuid.uuid4().hex}"
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is not None:
            state["close_connection"] = transport.close

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def _error(
    request: Request, refusal: Refusal, headers: dict[str, str] | None = None
) -> JSONResponse:
    headers = dict(headers or {})
    if refusal.retry_after:
        headers["Retry-After"] = str(refusal.retry_after)
    return JSONResponse(refusal.body(request_id_of(request)), refusal.status, headers=headers)


# the methods of RFC 9110 (section 9) and PATCH (RFC 5789): what a route may serve
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route serves at this request's path: what a 405's ``Allow`` lists.

    Starlette's own 405 names the methods of the first route that matched the path only; a path
    served by two routes (``GET`` and ``POST /v1/accounts/{id}/link``) needs both. Each method
    is tried against the application's routes, so routers included whole count too.
    """
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refusal)
    def refused(request: Request, exc: Refusal) -> JSONResponse:
        return _error(request, exc)

    @app.exception_handler(store.LockTimeout)
    def locked(request: Request, exc: store.LockTimeout) -> JSONResponse:
        message = "another operation on this account is running; retry shortly"
        return _error(request, Refusal(409, "operation_in_progress", message, blockers=[]))

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = exc.errors()
        for problem in problems:
            if problem.get("type") == "missing" and problem.get("loc", ())[-1:] == (
                "Idempotency-Key",
            ):
                message = "every POST needs an Idempotency-Key header"
                return _error(request, Refusal(400, "idempotency_key_required", message))
            if tuple(problem.get("loc", ())) == ("query", "cursor"):
                message = "cursor is not one this server issued"
                return _error(request, Refusal(422, "invalid_cursor", message))
        summary = "; ".join(
            f"{'.'.join(str(part) for part in p.get('loc', ()))}: {p.get('msg', '')}"
            for p in problems[:5]
        )
        return _error(request, Refusal(422, "invalid_request", summary or "invalid request"))

    @app.exception_handler(StarletteHTTPException)
    def http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # RFC 9110 15.5.6: a 405 lists the methods the path serves
            headers["Allow"] = ", ".join(allowed_methods(request))
            message = f"{request.method} is not served here; Allow: {headers['Allow']}"
            return _error(request, Refusal(405, code, message), headers)
        return _error(request, Refusal(exc.status_code, code, str(exc.detail)), headers)

    @app.exception_handler(Exception)
    def crashed(request: Request, exc: Exception) -> JSONResponse:
        return _error(request, Refusal(500, "internal_error", "the sandbox failed"))
