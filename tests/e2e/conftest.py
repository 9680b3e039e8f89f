"""Fixtures for the browser test: a seeded sandbox, a JupyterLab server, headless Chromium.

Everything runs on loopback and is started and stopped by the fixtures:

- ``e2e_sandbox``: ``python -m relink.sandbox serve`` on a free 127.0.0.1 port (its own process,
  so the test owns the clock and the audit log);
- ``blocked_account``: an account seeded in it that an awaiting-payment order blocks, linked to
  the old AliExpress account, with the old account still logged in (not the target);
- ``lab_server``: ``python -m jupyter lab`` started with ``start_new_session=True`` on a free port,
  with a random token, HOME and every JUPYTER_* directory in tmp (no user configuration leaks in),
  news and update checks off, ``RELINK_API_URL`` / ``RELINK_API_TOKEN`` of the sandbox in its
  environment (the kernels inherit them). Readiness is polled on ``/api/status``; teardown shuts
  the kernels down through the REST API, terminates the process group, kills what is left;
- ``loopback_page``: a Playwright page in the system Chromium that aborts every request to a host
  other than 127.0.0.1/localhost and records it. A failing test leaves a screenshot in
  ``test-artifacts/``.

Without ``/usr/bin/chromium`` the browser fixtures skip, except in CI (``CI=true``) where they fail:
``.ci/run`` installs Chromium with apt-get, so a missing browser there is a broken CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from relink.sandbox.launcher import RunningSandbox, start_sandbox

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
RUNBOOK = REPO / "runbook" / "change_aliexpress_account.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
LAB_START_ATTEMPTS = 240  # readiness polls of /api/status, 0.25 s apart at most: about a minute

OLD_AE = "ae-old@example.com"
TARGET_AE = "ae-target@example.com"


# --- the sandbox and its seeded account -------------------------------------------------------


@dataclass
class BlockedAccount:
    """An account seeded blocked: one unpaid AliExpress order stands in the way of an unlink."""

    account_id: str
    token: str
    url: str
    old_aliexpress_account: str
    target_aliexpress_account: str
    unpaid_order: tuple[str, str]  # (store, order number)
    unpaid_aliexpress_order_id: str


@pytest.fixture
def e2e_sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    """A sandbox process of this test's own on a free loopback port."""
    running = start_sandbox(tmp_path / "sandbox.sqlite")
    assert urlsplit(running.url).hostname == "127.0.0.1"
    yield running
    running.stop()


@pytest.fixture
def blocked_account(e2e_sandbox: RunningSandbox) -> BlockedAccount:
    """Blocked by one awaiting-payment order; the target AliExpress account is not logged in."""
    account_id = f"acct-e2e-{uuid.uuid4().hex[:8]}"
    token = f"tok-{secrets.token_hex(16)}"
    unpaid = f"{account_id}-ae1"

    def part(number: str, status: str) -> dict[str, Any]:
        return {"aliexpress_order_id": number, "dsers_status": status}

    e2e_sandbox.admin.seed(
        {
            "account_id": account_id,
            "token": token,
            "linked_aliexpress_account": OLD_AE,
            "logged_in_aliexpress_account": OLD_AE,
            "whitelisted": True,
            "orders": [
                {
                    "store": "alpha",
                    "order": "#1001",
                    "dsers_status": "awaiting_payment",
                    "parts": [part(unpaid, "awaiting_payment")],
                },
                {
                    "store": "alpha",
                    "order": "#1002",
                    "dsers_status": "fulfilled",
                    "parts": [part(f"{account_id}-ae2", "fulfilled")],
                },
                {
                    "store": "alpha",
                    "order": "#1003",
                    "dsers_status": "canceled",
                    "parts": [part(f"{account_id}-ae3", "canceled")],
                },
            ],
        }
    )
    return BlockedAccount(
        account_id=account_id,
        token=token,
        url=e2e_sandbox.url,
        old_aliexpress_account=OLD_AE,
        target_aliexpress_account=TARGET_AE,
        unpaid_order=("alpha", "#1001"),
        unpaid_aliexpress_order_id=unpaid,
    )


# --- JupyterLab -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LabServer:
    """A JupyterLab server process started by a test; :meth:`stop` ends it and its kernels."""

    port: int
    token: str
    root: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """``path`` (e.g. ``/lab/tree/x.ipynb``) on this server, with the token."""
        return f"{self.base_url}{path}?token={self.token}"

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"token {self.token}"}
        return requests.request(
            method, f"{self.base_url}{path}", headers=headers, timeout=10, **kwargs
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kernels(self) -> list[dict[str, Any]]:
        return list(self.api("GET", "/api/kernels").json())

    def open_notebook(self, page: Any, name: str, timeout: float = 60_000) -> None:
        """Open ``name`` in JupyterLab and wait until its kernel is connected and idle.

        The toolbar's execution indicator says ``idle`` before any kernel exists, so the wait is
        on the status bar's kernel item ("Python 3 (ipykernel) | Idle"), which only names a
        state once a kernel is connected.
        """
        page.goto(self.url(f"/lab/tree/{name}"))
        kernel_status = page.locator(
            "#jp-main-statusbar .jp-StatusBar-TextItem[title^='Change kernel']"
        )
        expect(kernel_status).to_have_text(re.compile(r"\|\s*Idle$"), timeout=timeout)
        expect(page.locator(".jp-Dialog")).to_have_count(0)

    def run_all_cells(self, page: Any) -> None:
        """Run > Run All Cells, through the menu bar (commands found by ``data-command``)."""
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(
            "li.lm-Menu-item[data-command='runmenu:run-all'],"
            " li.lm-Menu-item[data-command='notebook:run-all-cells']"
        ).first.click()

    def wait_ready(self, attempts: int = LAB_START_ATTEMPTS) -> None:
        """Poll ``/api/status`` a bounded number of times; fail with the server's log."""
        for attempt in range(attempts):
            if self.process.poll() is not None:
                pytest.fail(
                    f"JupyterLab exited with {self.process.returncode} before answering:\n"
                    f"{self.log()[-4000:]}"
                )
            try:
                if self.api("GET", "/api/status").status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(min(0.05 * (attempt + 1), 0.25))
        pytest.fail(f"JupyterLab did not answer on {self.base_url}:\n{self.log()[-4000:]}")

    def stop(self, timeout: float = 10.0) -> list[str]:
        """Shut the kernels down, then the server's process group; returns what had to be killed.

        Kernels run in sessions of their own (jupyter_client starts them so), so they are shut
        down through the REST API first, and any process of the tree still alive at the end is
        killed and reported.
        """
        if self.process.poll() is None:
            with contextlib.suppress(requests.RequestException, ValueError):
                for kernel in self.kernels():
                    self.api("DELETE", f"/api/kernels/{kernel['id']}")
        return _stop_tree(self.process, timeout)


def _stop_tree(process: subprocess.Popen, timeout: float) -> list[str]:
    """SIGTERM to a server's process group, SIGKILL if it lingers; then kill any process of its
    tree (kernels run in sessions of their own) still alive, and return those."""
    try:
        tree = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout)
    _, alive = psutil.wait_procs(tree, timeout=timeout)
    killed = []
    for proc in alive:
        try:
            killed.append(f"{proc.pid} {' '.join(proc.cmdline())}")
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    return killed


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)  # started with start_new_session=True: its pid is its group's id


def _write_json(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2), encoding="utf-8")


def lab_environment(base: Path, extra: dict[str, str], quiet: bool = True) -> dict[str, str]:
    """The server's environment: HOME and every Jupyter directory under ``base``, no RELINK_*.

    ``quiet=False`` leaves the Jupyter configuration empty, as on an analyst's first start, for
    the test of what relink's own command line turns off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELINK_", "JUPYTER"))}
    home = base / "home"
    dirs = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_RUNTIME_DIR": base / "runtime",
        "JUPYTER_CONFIG_DIR": base / "jupyter-config",
        "JUPYTER_DATA_DIR": base / "jupyter-data",
        "JUPYTER_RUNTIME_DIR": base / "runtime" / "jupyter",
        "JUPYTERLAB_SETTINGS_DIR": base / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": base / "lab-workspaces",
        "IPYTHONDIR": base / "ipython",
        "MPLCONFIGDIR": base / "matplotlib",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    (base / "runtime").chmod(0o700)
    env.update({name: str(path) for name, path in dirs.items()})
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    if not quiet:
        return env
    # Nothing that phones home: no news feed, no update check, the announcements plugin off.
    _write_json(
        dirs["JUPYTER_CONFIG_DIR"] / "jupyter_server_config.json",
        {
            "LabApp": {
                "news_url": None,
                "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                "collaborative": False,
                "extension_manager": "readonly",
            },
            "ServerApp": {
                "jpserver_extensions": {"jupyter_lsp": False, "jupyter_server_terminals": False}
            },
        },
    )
    _write_json(
        dirs["JUPYTER_CONFIG_DIR"] / "labconfig" / "page_config.json",
        {
            "disabledExtensions": {
                "@jupyterlab/apputils-extension:announcements": True,
            }
        },
    )
    _write_json(
        dirs["JUPYTERLAB_SETTINGS_DIR"]
        / "@jupyterlab"
        / "apputils-extension"
        / "notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    return env


def start_lab(base: Path, root: Path, extra_env: dict[str, str]) -> LabServer:
    """Start ``jupyter lab`` on a free loopback port and wait until ``/api/status`` answers."""
    port = free_port()
    token = secrets.token_hex(24)
    env = lab_environment(base, extra_env)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
        "--ServerApp.allow_remote_access=False",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:  # CI runs as root
        command.append("--ServerApp.allow_root=True")
    log_path = base / "jupyterlab.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    lab = LabServer(port=port, token=token, root=root, log_path=log_path, process=process)
    try:
        lab.wait_ready()
    except BaseException:
        lab.stop()
        raise
    return lab


@pytest.fixture
def relink_lab(tmp_path: Path) -> Iterator[LabServer]:
    """JupyterLab started with the command ``relink open`` runs (``lab_command``), on a desk
    with one ticket, in a Jupyter configuration as empty as an analyst's first start."""
    from relink.desk.app import lab_command
    from relink.desk.folder import open_ticket_folder
    from relink.runbook.options import TicketOptions

    desk = tmp_path / "desk"
    opened = open_ticket_folder(
        "northwind-home",
        "ae-new",
        TicketOptions(ticket="HD-1"),
        desk=desk,
        environ={},
        env_file=tmp_path / "no.env",
    )
    port = free_port()
    token = secrets.token_hex(24)
    command, _url = lab_command(opened, desk, port)
    env = {**lab_environment(tmp_path / "lab", {}, quiet=False), "JUPYTER_TOKEN": token}
    log_path = tmp_path / "jupyterlab.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*command, "--no-browser"],
            cwd=desk,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    lab = LabServer(port=port, token=token, root=desk, log_path=log_path, process=process)
    try:
        lab.wait_ready()
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def lab_factory(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], LabServer]]:
    """``start(extra_env) -> LabServer``; every server started is stopped after the test."""
    started: list[LabServer] = []

    def start(extra_env: dict[str, str]) -> LabServer:
        base = tmp_path / f"lab{len(started)}"
        root = base / "root"
        root.mkdir(parents=True)
        lab = start_lab(base, root, extra_env)
        started.append(lab)
        return lab

    yield start
    leftovers = [line for lab in started for line in lab.stop()]
    assert not leftovers, f"processes outlived JupyterLab and were killed: {leftovers}"


@pytest.fixture
def lab_server(
    lab_factory: Callable[[dict[str, str]], LabServer], blocked_account: BlockedAccount
) -> LabServer:
    """JupyterLab whose kernels talk to the seeded sandbox account."""
    return lab_factory(
        {"RELINK_API_URL": blocked_account.url, "RELINK_API_TOKEN": blocked_account.token}
    )


@pytest.fixture
def runbook_path() -> Path:
    """The runbook notebook of the repository (copied into the lab's folder by the test)."""
    return RUNBOOK


# --- the app: relink app (Voilà) --------------------------------------------------------------

APP_TICKET = "HD-E2E-APP"
APP_LINE = re.compile(r"^App: (http://127\.0\.0\.1:(\d+)/\?token=[0-9a-f]+)$", re.MULTILINE)


@dataclass
class AppServer:
    """``relink app ACCOUNT --to AE`` started by a test; :meth:`stop` ends it and its kernels."""

    url: str  # with the token, as the command printed it
    ticket_folder: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, attempts: int = LAB_START_ATTEMPTS) -> None:
        """Poll the log for the printed address, then the port; fail with the log."""
        for attempt in range(attempts):
            if self.process.poll() is not None:
                pytest.fail(f"relink app exited with {self.process.returncode}:\n{self.log()}")
            printed = APP_LINE.search(self.log())
            if printed:
                self.url = printed.group(1)
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", int(printed.group(2))), timeout=1),
                ):
                    return
            time.sleep(min(0.05 * (attempt + 1), 0.25))
        pytest.fail(f"relink app did not listen:\n{self.log()[-4000:]}")

    def stop(self, timeout: float = 15.0) -> list[str]:
        """SIGTERM to its group (Voilà shuts its kernels down); returns what had to be killed."""
        return _stop_tree(self.process, timeout)


@pytest.fixture
def app_server(tmp_path: Path, blocked_account: BlockedAccount) -> Iterator[AppServer]:
    """``relink app`` on the blocked account's ticket, on a free loopback port, kernels on the
    test's sandbox (RELINK_API_* in the environment, as for JupyterLab; never parameters)."""
    import importlib.util

    if importlib.util.find_spec("voila") is None:
        message = "voila is not installed (the relink[app] extra; make install installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    base = tmp_path / "app"
    base.mkdir()
    env = lab_environment(
        base, {"RELINK_API_URL": blocked_account.url, "RELINK_API_TOKEN": blocked_account.token}
    )
    desk = base / "desk"
    command = [
        sys.executable, "-m", "relink", "app", blocked_account.account_id,
        "--to", blocked_account.target_aliexpress_account, "--ticket", APP_TICKET,
        "--operator", "e2e-app", "--desk", str(desk), "--port", str(free_port()), "--no-browser",
    ]  # fmt: skip
    log_path = base / "relink-app.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=base,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    folder = desk / blocked_account.account_id / APP_TICKET
    server = AppServer(url="", ticket_folder=folder, log_path=log_path, process=process)
    try:
        server.wait_ready()
        yield server
    finally:
        leftovers = server.stop()
    assert not leftovers, f"processes outlived relink app and were killed: {leftovers}"


@pytest.fixture
def practice_app_factory(tmp_path: Path) -> Iterator[Callable[[list[str]], AppServer]]:
    """``start(arguments) -> AppServer``: ``relink app ARGUMENTS --no-browser --port P`` with no
    account API configured (the embedded practice sandbox, started by each page's kernel), in
    this test's folder; every server started is stopped after the test."""
    import importlib.util

    if importlib.util.find_spec("voila") is None:
        message = "voila is not installed (the relink[app] extra; make install installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    started: list[AppServer] = []

    def start(arguments: list[str]) -> AppServer:
        base = tmp_path / f"practice-app{len(started)}"
        base.mkdir()
        env = lab_environment(base, {})  # no RELINK_*: practice
        port = str(free_port())
        command = [
            sys.executable,
            "-m",
            "relink",
            "app",
            *arguments,
            "--no-browser",
            "--port",
            port,
        ]
        log_path = base / "relink-app.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=base,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = AppServer(url="", ticket_folder=base, log_path=log_path, process=process)
        started.append(server)
        server.wait_ready()
        return server

    yield start
    leftovers = [line for server in started for line in server.stop()]
    assert not leftovers, f"processes outlived relink app and were killed: {leftovers}"


# --- Chromium ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The system Chromium: missing is a failure in CI, a skip elsewhere."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"{CHROMIUM} is missing: the browser test needs the system Chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI installs it in .ci/run (apt-get install chromium)")
    pytest.skip(f"{message} (apt-get install chromium)")


@dataclass
class LoopbackPage:
    """A page, and the requests it tried to send off loopback (all aborted)."""

    page: Any
    aborted: list[str] = field(default_factory=list)
    off_loopback: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome-extension"):
        return True
    return parts.hostname in LOOPBACK_HOSTS


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell that the test failed."""
    report = yield
    setattr(item, f"e2e_report_{report.when}", report)
    return report


@pytest.fixture
def loopback_page(chromium: Path, request: pytest.FixtureRequest) -> Iterator[LoopbackPage]:
    """A headless Chromium page that may only reach loopback; screenshot kept on failure."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1100})
        page = context.new_page()
        loopback = LoopbackPage(page)

        def guard(route: Any) -> None:
            url = route.request.url
            if _is_loopback(url):
                route.continue_()
            else:
                loopback.aborted.append(url)
                route.abort("blockedbyclient")

        def seen(req: Any) -> None:
            if not _is_loopback(req.url):
                loopback.off_loopback.append(req.url)

        def console(message: Any) -> None:
            if message.type == "error":
                loopback.console_errors.append(message.text)

        def websocket(socket: Any) -> None:  # not routed: any off loopback is a failure
            if not _is_loopback(socket.url):
                loopback.off_loopback.append(socket.url)

        context.route("**/*", guard)
        context.on("request", seen)
        page.on("websocket", websocket)
        page.on("console", console)
        try:
            yield loopback
            report = getattr(request.node, "e2e_report_call", None)
            if report is not None and report.failed:
                name = f"{request.node.name}-failure.png".replace("/", "_")
                loopback.screenshot(name)
        finally:
            context.close()
            browser.close()
    unexpected = [url for url in loopback.off_loopback if url not in loopback.aborted]
    assert not unexpected, f"requests left loopback without being aborted: {unexpected}"
