"""HTTP plumbing of :mod:`relink.api.client`: the session, its retries, its auth, the error mapping.

Retries live on the ``requests`` adapter (urllib3 ``Retry``): connection errors, read errors,
5xx and 429 are retried with exponential backoff, a ``Retry-After`` is honoured, and POSTs are
retried too because every POST carries an ``Idempotency-Key`` that makes a repeat harmless.
A ``Retry-After`` longer than ``max_retry_after`` is not waited out: the 429 goes back to the
caller (a spent sync quota asks for minutes, which is the analyst's call, not the client's).

:func:`error_from_response` and :func:`error_from_exception` are the one place HTTP failures
become :mod:`relink.errors` types. Neither ever puts the token in a message: the token lives
only in :class:`BearerAuth`, whose repr hides it. Redirects are never followed (the token and a
POST's effect stay with the host configured), and a success that is not a JSON object counts as
no usable answer.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ResponseError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from relink.errors import (
    ApiConnectionError,
    ApiError,
    AuthError,
    ConflictError,
    InputError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

log = logging.getLogger("relink.api.client")
# a failure is raised to the caller, who says it once: without this, Python's last-resort
# handler would print the warning below to stderr as well, before the caller's own line
log.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class Answer:
    """A successful answer: its JSON body, request id, and whether it was an idempotent replay."""

    body: dict[str, Any]
    request_id: str | None
    replayed: bool


class BearerAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer ...`` to each request; its repr never shows the token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<redacted>)"


class CappedRetry(Retry):
    """``Retry`` that hands back a 429/503 whose ``Retry-After`` exceeds ``max_retry_after``."""

    def __init__(self, *args: Any, max_retry_after: float | None = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def new(self, **kw: Any) -> CappedRetry:
        renewed = super().new(**kw)
        renewed.max_retry_after = self.max_retry_after
        return renewed  # type: ignore[return-value]

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        if response is not None and self.max_retry_after is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.max_retry_after:
                # with raise_on_status=False the pool hands this response back to the caller
                raise MaxRetryError(_pool, url or "", ResponseError("Retry-After too long"))
        return super().increment(method, url, response, error, _pool, _stacktrace)


def build_session(
    token: str | None,
    *,
    retries: int = 3,
    backoff_factor: float = 0.5,
    max_retry_after: float = 30.0,
) -> requests.Session:
    """A session that authenticates with ``token`` and retries as the module docstring says.

    Without a token (the sandbox's admin routes need none) no ``Authorization`` is sent.
    """
    retry = CappedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff_factor,
        status_forcelist=RETRYABLE_STATUSES,
        allowed_methods=frozenset({"GET", "POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,  # the last answer comes back; error_from_response maps it
        max_retry_after=max_retry_after,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if token:
        session.auth = BearerAuth(token)
    session.headers["Accept"] = "application/json"
    return session


def check_base_url(base_url: str) -> None:
    """Refuse a URL that would send the token in clear across a network, or is not HTTP(S).

    Raises:
        InputError: naming the host (never the token, never the path).
    """
    parts = urlsplit(base_url.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise InputError(
            f"the account API URL must be https:// (or http:// to this machine), not "
            f"{parts.scheme or 'no'} scheme{f' to {host}' if host else ''}"
        )
    if parts.scheme == "http" and not _is_loopback(host):
        raise InputError(
            f"plain http:// to {host} would send the API token in clear: use https://{host}"
        )


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _error_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def error_from_response(response: requests.Response, operation: str) -> ApiError:
    """The typed error for a failed answer (any status >= 400).

    The message names the operation, the status, the server's code and message; the server's
    message alone is ``server_message`` (the HTTP reason when the body has none); the request id
    (from the body, else the ``X-Request-Id`` header) is on the error and in its message.
    """
    error = _error_body(response)
    status = response.status_code
    code = error.get("code") if isinstance(error.get("code"), str) else None
    server_message = error.get("message")
    if not isinstance(server_message, str) or not server_message:
        server_message = response.reason or "no message"
    request_id = error.get("request_id") or response.headers.get("X-Request-Id")
    message = f"{operation}: HTTP {status} {code or ''}".rstrip() + f": {server_message}"
    # what else the server says of a refusal (who holds a change and until when, which
    # permission is missing): kept as sent, for relink.api.refusals to word
    details: dict[str, Any] = {
        name: value
        for name, value in error.items()
        if name not in ("code", "message", "request_id") and isinstance(name, str)
    }
    if status in (401, 403):
        kind: type[ApiError] = AuthError
    elif status == 404:
        kind = NotFoundError
    elif status == 409:
        kind = ConflictError
        details["blockers"] = list(error.get("blockers") or [])
        holder = error.get("holder")
        details["holder"] = holder if isinstance(holder, dict) else None
        if isinstance(holder, str):  # change_held_by_other names the principal
            details["held_by"] = holder
    elif status == 429:
        kind = RateLimitedError
        retry_after = error.get("retry_after", response.headers.get("Retry-After"))
        try:
            details["retry_after"] = float(retry_after) if retry_after is not None else None
        except (TypeError, ValueError):
            details["retry_after"] = None
    elif status >= 500:
        kind = ServerError
    else:
        kind = ApiError
    return kind(
        message,
        status=status,
        code=code,
        request_id=request_id,
        details=details,
        server_message=server_message,
    )


def error_from_exception(exc: requests.RequestException, operation: str) -> ApiConnectionError:
    """The typed error for a call that got no usable answer, even after retries."""
    reason = exc
    while isinstance(getattr(reason, "args", None), tuple) and reason.args:
        inner = reason.args[0]
        if isinstance(inner, MaxRetryError) and inner.reason is not None:
            reason = inner.reason
            break
        if not isinstance(inner, BaseException):
            break
        reason = inner
    # urllib3 makes "connection refused" (NewConnectionError) a kind of timeout: it is not one
    timed_out = isinstance(exc, requests.Timeout) or (
        isinstance(reason, Urllib3Timeout) and not isinstance(reason, NewConnectionError)
    )
    kind = "timed out" if timed_out else "no answer"
    return ApiConnectionError(
        f"{operation}: {kind} ({type(reason).__name__})",
        details={"reason": "timed out" if timed_out else _reason_words(reason)},
    )


def _reason_words(reason: BaseException) -> str:
    """Why no answer came, as said to people ("connection refused"), for ``details["reason"]``."""
    causes = {type(reason), type(reason.__cause__), type(reason.__context__)}
    if ConnectionRefusedError in causes:
        return "connection refused"
    if isinstance(reason, NameResolutionError):
        return "host name not found"
    if isinstance(reason, SSLError):
        return "TLS handshake failed"
    if isinstance(reason, ProtocolError | ConnectionError):
        return "connection dropped"
    return "no answer"


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    operation: str,
    timeout: tuple[float, float],
    params: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    listing: bool = False,
) -> Answer:
    """Make one call (retries happen inside the session) and return its answer.

    ``listing``: the answer is a JSON list (a GET of a collection); it comes back as the
    answer's ``{"items": [...]}``.

    Redirects are never followed: a redirected POST could land its side effect, or the bearer
    token, somewhere nobody chose.

    Raises:
        ApiError: the typed error of :func:`error_from_response` for any status >= 400;
            code ``redirect_refused`` for a 3xx.
        ApiConnectionError: no answer at all, even after retries, or a success whose body is
            not a JSON object (the server may have acted; repeat with the same key).
    """
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    try:
        response = session.request(
            method,
            url,
            params=params,
            json=body,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        error = error_from_exception(exc, operation)
        log.warning("%s failed: %s", operation, error)
        raise error from None
    request_id = response.headers.get("X-Request-Id")
    log.debug("%s -> HTTP %s (request %s)", operation, response.status_code, request_id)
    if response.status_code >= 400:
        raise error_from_response(response, operation)
    if 300 <= response.status_code < 400:
        raise _redirect_refused(response, operation, request_id)
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if listing and isinstance(payload, list):
        payload = {"items": payload}
    if not isinstance(payload, dict):
        # a 2xx whose body we cannot read: the call may well have done its work
        raise ApiConnectionError(
            f"{operation}: HTTP {response.status_code} but the answer was not JSON, so its "
            "outcome is unknown (the server may have acted): repeat the call with the same "
            "idempotency key, or read the state",
            status=response.status_code,
            code="answer_not_json",
            request_id=request_id,
        )
    replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
    return Answer(payload, request_id, replayed)


def _redirect_refused(
    response: requests.Response, operation: str, request_id: str | None
) -> ApiError:
    """The error for a 3xx: it names the host redirected to, never the full location."""
    location = response.headers.get("Location", "")
    host = urlsplit(location).netloc.rpartition("@")[2] if location else ""
    where = f"to {host}" if host else "elsewhere on the same host" if location else "nowhere"
    return ApiError(
        f"{operation}: HTTP {response.status_code} redirect {where} refused: point "
        "RELINK_API_URL at the API itself",
        status=response.status_code,
        code="redirect_refused",
        request_id=request_id,
    )
