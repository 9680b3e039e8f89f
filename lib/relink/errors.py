"""The one error tree of relink.

Every error a user can cause or meet derives from :class:`RelinkError`, so callers
(the CLI, the notebooks, the batch runner) catch one type and show one line.

::

    RelinkError
    ├── InputError              input a user handed us cannot be used
    │   └── ExportError         an export file: missing, unreadable, wrong shape
    ├── ApiError                the account API answered with a failure
    │   ├── AuthError           401/403: token missing, invalid, or out of scope
    │   ├── NotFoundError       404
    │   ├── ConflictError       409: refused, carries the server's blockers and holder
    │   ├── RateLimitedError    429: carries the wait (seconds)
    │   ├── ServerError         5xx after retries
    │   └── ApiConnectionError  no usable answer (refused, reset, timed out, not JSON)
    ├── GuardError              a runbook step refused by its guard
    └── BatchError              the batch runner could not start
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class RelinkError(Exception):
    """Root of every error relink raises on purpose.

    In a notebook, IPython shows what ``_render_traceback_`` returns instead of a traceback:
    the analyst reads one line saying what is wrong (which file, which account), not twenty
    lines of relink internals. The cell still fails, so papermill and ``relink batch`` record
    the run as failed at that cell.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"relink: {type(self).__name__}: {self}"]


class InputError(RelinkError):
    """Input handed to relink cannot be used as it is."""


class ExportError(InputError):
    """An export file cannot be audited; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ApiError(RelinkError):
    """The account API refused or failed a call.

    Carries the HTTP status, the server's machine code, the server's own message
    (``server_message``: its sentence alone, without the operation, status and code the full
    message adds) and its request id, each when known.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        details: dict[str, Any] | None = None,
        server_message: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.request_id = request_id
        self.details = details or {}
        self.server_message = server_message
        suffix = f" (request {request_id})" if request_id else ""
        super().__init__(f"{message}{suffix}")


class AuthError(ApiError):
    """401 or 403: the token is missing, wrong, or not allowed for this account."""


class NotFoundError(ApiError):
    """404: the account or order does not exist."""


class ConflictError(ApiError):
    """409: the server refused a state change; ``blockers`` and ``holder`` say what is in the way.

    ``code`` says which guard refused (``blocked``, ``change_in_progress``, ``link_changed``...).
    """

    @property
    def blockers(self) -> list[dict[str, Any]]:
        """The blocking orders (a refused or changed disconnect); empty for other refusals."""
        return list(self.details.get("blockers", []))

    @property
    def holder(self) -> dict[str, Any] | None:
        """The change holding the account (``change_in_progress``), as the server sent it."""
        holder = self.details.get("holder")
        return dict(holder) if isinstance(holder, dict) else None


class RateLimitedError(ApiError):
    """429: the sync quota is spent; ``retry_after`` is the wait in seconds."""

    @property
    def retry_after(self) -> float | None:
        value = self.details.get("retry_after")
        return float(value) if value is not None else None


class ServerError(ApiError):
    """5xx that retries did not cure."""


class ApiConnectionError(ApiError):
    """No usable answer: connection refused or dropped, the call timed out, or a success came
    back that is not JSON. The server may have acted: repeat the call with its idempotency key.
    """


class GuardError(RelinkError):
    """A runbook step refused to run because its guard does not hold."""


class BatchError(RelinkError):
    """The batch runner cannot start (bad inputs, bad manifest)."""
