"""Where the runbook's account API lives: the deployment named in the environment, or a sandbox.

``RELINK_API_URL`` and ``RELINK_API_TOKEN`` are read by :func:`relink.api.settings.api_settings`
(the environment, or a ``.env`` file; both from the same place).

With no ``RELINK_API_URL`` anywhere, :func:`connect` calls the ``fallback`` its caller gave:
the desk and ``relink run`` pass :func:`relink.practice.embedded.embedded_connection`, the
*embedded sandbox* with every bundled sample account. The change itself never starts a sandbox
(it knows nothing of ``relink.sandbox``): a :class:`Connection` is all it is given, with the
practice room's additions (its clock, the practice bar) as plain callables.

Secrets never come from parameters: nothing here accepts a token as an argument.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from relink.api.client import Client
from relink.api.settings import api_settings
from relink.errors import ApiConnectionError, InputError, RelinkError

# A part the panel shows below its steps, built from the runbook and the panel's refresh
# callback: returns an object whose ``widget`` is displayed, or None for nothing (the practice
# bar is one). The change only calls it.
PanelExtra = Callable[[Any, Callable[[], None]], Any]


@dataclass
class Connection:
    """A client of the account API, and the embedded sandbox behind it when there is one."""

    client: Client
    embedded: bool = False
    journal_dir: Path | None = None  # where journals go by default (None: ./runs)
    # the API's own clock in epoch seconds (the practice sandbox's moves on); None: this machine
    clock: Callable[[], float] | None = field(default=None, repr=False)
    # widgets the panel adds below its steps (the practice bar on the embedded sandbox)
    panel_extras: Sequence[PanelExtra] = field(default=(), repr=False)
    # what the practice room keeps with the connection (its sandbox, for the practice actions);
    # opaque to the change, which never reads it
    practice: object = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        """``"sandbox"`` (the embedded practice sandbox) or ``"deployment"`` (real accounts)."""
        return "sandbox" if self.embedded else "deployment"

    @property
    def api_label(self) -> str:
        """``SANDBOX``, or the deployment's host (and port): never a path, never the token."""
        if self.embedded:
            return "SANDBOX"
        parts = urlsplit(self.client.base_url)
        host = parts.hostname or "?"
        host = f"[{host}]" if ":" in host else host
        return f"{host}:{parts.port}" if parts.port else host

    def describe(self) -> str:
        """One line saying which API this is: SANDBOX, or the deployment's host."""
        if self.embedded:
            return (
                "Account API: SANDBOX (the embedded practice sandbox with the bundled sample "
                "accounts; set RELINK_API_URL and RELINK_API_TOKEN for real accounts)"
            )
        return f"Account API: deployment at {self.api_label}"

    def server_time(self) -> datetime:
        """The API's clock, which its times (the next sync allowed) are read against: the
        embedded sandbox's own (practice moves it on), else this machine's UTC time."""
        if self.clock is not None:
            try:
                return datetime.fromtimestamp(self.clock(), UTC)
            except (RelinkError, ValueError, KeyError):
                pass  # a sandbox that does not answer: its clock runs as the machine's
        return datetime.now(UTC)

    def unreachable(self, exc: ApiConnectionError) -> ApiConnectionError:
        """``exc`` said as the setting to fix: "cannot reach the account API at URL
        (RELINK_API_URL): connection refused". An answer that came but could not be read
        (``exc.code`` set) is returned as it is: the API was reached."""
        if exc.code is not None:
            return exc
        parts = urlsplit(self.client.base_url)
        where = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"  # never a path or userinfo
        why = exc.details.get("reason") or "no answer"
        if self.embedded:
            text = f"cannot reach the embedded practice sandbox at {where}: {why}"
        else:
            text = f"cannot reach the account API at {where} (RELINK_API_URL): {why}"
        return ApiConnectionError(text, request_id=exc.request_id, details=exc.details)


def connect(
    environ: dict[str, str] | None = None,
    env_file: str | Path = ".env",
    *,
    fallback: Callable[..., Connection] | None = None,
    **client_options: object,
) -> Connection:
    """A connection to the configured account API, else ``fallback(**client_options)``.

    Raises:
        InputError: only one of ``RELINK_API_URL``/``RELINK_API_TOKEN`` is set, or they come
            from different places, or the URL is not https (nor http to this machine); or no
            ``RELINK_API_URL`` is set and there is no fallback.
        RelinkError: the fallback could not connect (the embedded sandbox did not start).
    """
    settings = api_settings(environ, env_file)
    if settings.get("RELINK_API_URL"):
        return Connection(Client.from_env(settings, **client_options))
    if fallback is None:
        raise InputError(
            "RELINK_API_URL is not set: set RELINK_API_URL and RELINK_API_TOKEN (the environment "
            "or a .env file), or open the runbook from the desk to practise on the sandbox"
        )
    return fallback(**client_options)
