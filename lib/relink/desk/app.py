"""The servers of the analyst's desk: JupyterLab on a ticket's notebook, or the same as an app.

``relink open`` ends in :func:`start_lab`: JupyterLab on loopback, rooted at the desk, opening
the ticket's notebook (:mod:`relink.desk.folder`). ``relink app`` ends in :func:`serve_app`:
Voilà serving the ticket's notebook (or the whole desk) as a page without code. Parameters
reach the notebook the simple way: Voilà serves the ticket's own parameterized copy, so Lab, the
app and papermill all run the same file, with the same ticket and journal.

In the app the code is hidden (Voilà strips every source) and :func:`hide_code_view_cells`
leaves out the cells tagged :data:`APP_HIDDEN_TAG` in the runbook: how to run the notebook,
the static blockers table (the panel keeps its own list live) and the record ``relink batch``
reads back. What stays is the page: the ticket and where the calls go, the first audit, the
panel with its light, buttons, reasons and blockers.

Both servers listen on loopback, behind a random token: the page can unlink an account.
:func:`check_host` refuses any other address unless the caller allows it explicitly. Kernels
get ``RELINK_API_URL``/``RELINK_API_TOKEN`` through their environment
(:func:`kernel_environment`), never as parameters.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from relink.api.settings import api_settings
from relink.desk.folder import TicketFolder
from relink.errors import InputError

APP_HIDDEN_TAG = "hide-in-app"  # a runbook cell that only makes sense with the code in view
LOOPBACK_NAMES = {"localhost"}


def kernel_environment(
    environ: dict[str, str] | None = None, env_file: str | Path = ".env"
) -> dict[str, str]:
    """The environment for the kernels a desk's server starts: this one, plus ``.env``'s API.

    A kernel runs in its notebook's folder, where the working directory's ``.env`` is not:
    its ``RELINK_API_URL``/``RELINK_API_TOKEN`` are handed over in the environment (never as
    parameters, never written anywhere).

    Raises:
        InputError: the API settings are split between the environment and ``env_file``.
    """
    env = dict(os.environ if environ is None else environ)
    env.update(api_settings(env, env_file))
    return env


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_token() -> str:
    """A token for a server the desk starts (printed in its URL, as JupyterLab prints its own)."""
    return secrets.token_hex(24)


def lab_command(opened: TicketFolder, desk: Path, port: int) -> tuple[list[str], str]:
    """The ``jupyter lab`` command for the desk, on loopback, opening the ticket's notebook.

    Returns the command and the URL to print, without the token (:func:`start_lab` passes it
    in ``JUPYTER_TOKEN``, so it never shows in a process list).
    """
    root = desk.resolve()
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        str(opened.notebook),
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
    ]
    if os.geteuid() == 0:  # containers run as root; Lab refuses it unless told
        command.append("--ServerApp.allow_root=True")
    relative = opened.notebook.relative_to(root).as_posix()
    return command, f"http://127.0.0.1:{port}/lab/tree/{quote(relative)}"


def start_lab(command: list[str], environ: dict[str, str], token: str) -> None:
    """Replace this process with JupyterLab (``command`` from :func:`lab_command`).

    Raises:
        InputError: JupyterLab is not installed in this environment.
    """
    if importlib.util.find_spec("jupyterlab") is None:
        raise InputError(
            "JupyterLab is not installed here: pip install 'relink[app]' (make install does), "
            "or pass --no-lab and open the notebook in your own JupyterLab"
        )
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, {**environ, "JUPYTER_TOKEN": token})


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, allow_remote: bool = False) -> None:
    """Refuse to serve the app beyond this machine unless asked to explicitly.

    Raises:
        InputError: ``host`` is not a loopback address and ``allow_remote`` is False.
    """
    if not allow_remote and not is_loopback(host):
        raise InputError(
            f"--host {host}: not a loopback address; the app can unlink accounts, so it serves "
            "this machine only (pass --allow-remote to serve the network, token-protected)"
        )


def app_url(host: str, port: int, token: str = "") -> str:
    """The app's address (with ``?token=`` when ``token`` is given)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def hide_code_view_cells(request_handler: Any, notebook: Any, cwd: str) -> Any:
    """Voilà's prelaunch hook: the notebook without its cells tagged :data:`APP_HIDDEN_TAG`.

    Called by Voilà before each page's kernel starts; the file on disk is not changed.
    """
    notebook.cells = [
        cell
        for cell in notebook.cells
        if APP_HIDDEN_TAG not in cell.get("metadata", {}).get("tags", [])
    ]
    return notebook


def voila_available() -> bool:
    """Whether Voilà is installed (the ``app`` extra)."""
    return importlib.util.find_spec("voila") is not None


def serve_app(
    target: Path,
    *,
    host: str = "127.0.0.1",
    port: int,
    token: str,
    open_browser: bool = False,
    env_file: str | Path = ".env",
) -> None:
    """Serve ``target`` (a ticket's notebook, or the desk's folder) with Voilà until stopped.

    Blocks until the server stops (Ctrl-C, SIGTERM); Voilà shuts its kernels down then.

    Raises:
        InputError: Voilà is not installed, or the API settings are split between the
            environment and ``env_file``.
    """
    if not voila_available():
        raise InputError(
            "Voilà is not installed here: pip install 'relink[app]' (make install does)"
        )
    from traitlets.config import Config
    from voila.app import Voila

    os.environ.update(kernel_environment(dict(os.environ), env_file))  # the kernels' only source
    config = Config()
    config.Voila.ip = host
    config.Voila.port = port
    config.Voila.port_retries = 0
    config.Voila.open_browser = open_browser
    config.Voila.token = token
    config.VoilaConfiguration.strip_sources = True
    config.VoilaConfiguration.show_tracebacks = False
    config.VoilaConfiguration.prelaunch_hook = hide_code_view_cells
    Voila.launch_instance(argv=[str(target)], config=config)
