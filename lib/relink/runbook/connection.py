"""Where the runbook's account API lives: the deployment named in the environment, or a sandbox.

``RELINK_API_URL`` and ``RELINK_API_TOKEN`` are read by :func:`relink.api.settings.api_settings`
(the environment, or a ``.env`` file; both from the same place).

With no ``RELINK_API_URL`` anywhere, :func:`connect` starts the *embedded sandbox*: a real
sandbox server on a free loopback port, on a temporary database seeded with every bundled
sample account (``relink.samples``), so the notebook and ``relink run`` work as they are on a
fresh checkout. It is started once per process, lives as long as the process (a notebook's
kernel) and is stopped at exit. Its journal folder is temporary too: a journal describes one
server's state, and that server's state dies with the process.

Secrets never come from parameters: nothing here accepts a token as an argument.
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from relink.api.client import Client
from relink.api.settings import api_settings
from relink.errors import ApiConnectionError, RelinkError

if TYPE_CHECKING:
    from relink.samples import SampleAccount
    from relink.sandbox.launcher import RunningSandbox, SandboxAdmin

# The embedded sandbox's world: every sample account starts linked to (and logged in as) this
# AliExpress account; the runbook's default target is the other one.
EMBEDDED_OLD_ACCOUNT = "ae-old@example.com"
EMBEDDED_TARGET_ACCOUNT = "ae-new@example.com"


@dataclass
class Connection:
    """A client of the account API, and the embedded sandbox behind it when there is one."""

    client: Client
    embedded: bool = False
    sandbox: RunningSandbox | None = field(default=None, repr=False)
    journal_dir: Path | None = None  # where journals go by default (None: ./runs)

    @property
    def admin(self) -> SandboxAdmin | None:
        """The embedded sandbox's admin routes (time, merchant, login); None for a deployment."""
        return self.sandbox.admin if self.sandbox is not None else None

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
        admin = self.admin
        if admin is not None:
            try:
                return datetime.fromtimestamp(admin.clock(), UTC)
            except (requests.RequestException, ValueError, KeyError):
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
    environ: dict[str, str] | None = None, env_file: str | Path = ".env", **client_options: object
) -> Connection:
    """A connection to the configured account API, or to the embedded sandbox.

    Raises:
        InputError: only one of ``RELINK_API_URL``/``RELINK_API_TOKEN`` is set, or they come
            from different places, or the URL is not https (nor http to this machine).
        RelinkError: the embedded sandbox could not start.
    """
    settings = api_settings(environ, env_file)
    if settings.get("RELINK_API_URL"):
        return Connection(Client.from_env(settings, **client_options))
    return _embedded(**client_options)


@dataclass
class _Embedded:
    sandbox: RunningSandbox
    token: str = field(repr=False)
    folder: Path = Path()


_lock = threading.Lock()
_running: _Embedded | None = None


def _embedded(**client_options: object) -> Connection:
    global _running
    with _lock:
        if _running is None or _running.sandbox.process.poll() is not None:
            _running = _start_embedded()
    client = Client(_running.sandbox.url, _running.token, **client_options)  # type: ignore[arg-type]
    return Connection(client, True, _running.sandbox, _running.folder / "runs")


def _start_embedded() -> _Embedded:
    from relink.samples import ACCOUNTS, bundled_sample
    from relink.sandbox.launcher import start_sandbox

    folder = Path(tempfile.mkdtemp(prefix="relink-sandbox-"))
    try:
        sandbox = start_sandbox(folder / "sandbox.sqlite")
    except RelinkError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    atexit.register(_stop, sandbox, folder)
    token = secrets.token_urlsafe(24)
    for account in ACCOUNTS:
        # the same token each time: its scope grows to every sample account
        seed_practice_account(sandbox, bundled_sample(account.name), token)
    return _Embedded(sandbox, token, folder)


def seed_practice_account(sandbox: RunningSandbox, sample: SampleAccount, token: str) -> None:
    """Seed a bundled sample account as practice starts it: the old AliExpress account linked
    and logged in, and ``token`` allowed to override (practice includes forcing past blockers).

    Raises:
        relink.errors.RelinkError: the sandbox refused the seed.
    """
    from relink.sandbox.seeding import seed_from_export

    seed = seed_from_export(
        sample.account,
        sample.export,
        sample.aliexpress,
        linked=EMBEDDED_OLD_ACCOUNT,
        logged_in=EMBEDDED_OLD_ACCOUNT,
        token=token,
        token_permissions=["override"],
    )
    sandbox.admin.seed(seed.model_dump(mode="json"))


def _stop(sandbox: RunningSandbox, folder: Path) -> None:
    sandbox.stop()
    shutil.rmtree(folder, ignore_errors=True)
