"""The servers of the analyst's desk: JupyterLab on a ticket's notebook, or the same as an app.

``relink open`` ends in :func:`start_lab`: JupyterLab on loopback, rooted at the desk, opening
the ticket's notebook (:mod:`relink.desk.folder`). ``relink app`` ends in :func:`serve_app`:
Voilà serving the ticket's notebook (or the whole desk) as a page without code. Parameters
reach the notebook the simple way: Voilà serves the ticket's own parameterized copy, so Lab, the
app and papermill all run the same file, with the same ticket and journal.

In the app the code is hidden (Voilà strips every source) and :func:`app_page_cells` (Voilà's
prelaunch hook) lays the page out for an analyst: it leaves out the cells tagged
:data:`APP_HIDDEN_TAG` in the runbook (how to run the notebook, the static blockers table the
panel keeps live, the record ``relink batch`` reads back), puts the explanations after the
panel under "About this page" so that the buttons are on the first screen, and starts the page
with a cell of its own (:func:`as_app_page`) that shows a refusal of relink's as a message on
the page: Voilà hides every error behind "There was an error when executing cell [N]", so
without it a refusal such as "ticket ... is open in another runbook" would reach only the
server's terminal. What stays is the page: the ticket and where the calls go, the first
audit, the panel with its light, buttons, reasons and blockers, then what the page is.

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
# JupyterLab asks on first start whether to fetch Jupyter's news and checks PyPI for updates:
# a pop-up over the ticket's notebook and calls beyond this machine, neither of use at a desk.
QUIET_LAB_OPTIONS = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
)
PANEL_CELL = "panel"  # the runbook cell that displays the panel: the page's explanations follow it
APP_CELL_SOURCE = "from relink.desk.app import as_app_page\n\nas_app_page()"
ABOUT_HEADING = "## About this page"
_SERVING_APP_PAGE = False  # set in a kernel by as_app_page: this kernel runs an app's page


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
        *QUIET_LAB_OPTIONS,
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


def plain_http_warning(host: str) -> str:
    """What crosses the network in clear when the app serves ``host`` over plain HTTP ("" on
    loopback): the access token in the URL and every page. The app serves no TLS itself."""
    if is_loopback(host):
        return ""
    return (
        f"relink app: warning: serving plain HTTP on {host}: the access token in the URL, the "
        "pages and every click cross the network unencrypted. Put a TLS reverse proxy (nginx, "
        "Caddy) in front of it, or keep --host 127.0.0.1 and reach it through an SSH tunnel."
    )


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
    """The notebook without its cells tagged :data:`APP_HIDDEN_TAG` (in place)."""
    notebook.cells = [
        cell
        for cell in notebook.cells
        if APP_HIDDEN_TAG not in cell.get("metadata", {}).get("tags", [])
    ]
    return notebook


def app_page_cells(request_handler: Any, notebook: Any, cwd: str) -> Any:
    """Voilà's prelaunch hook: the notebook as the app's page (in place, and returned).

    Without the cells tagged :data:`APP_HIDDEN_TAG`; with :func:`as_app_page`'s cell first;
    and, when it has a cell with id :data:`PANEL_CELL`, the text cells before it moved after
    it, under :data:`ABOUT_HEADING`: the code cells keep their order (each needs the one
    before), the analyst sees the panel first. Called by Voilà before each page's kernel
    starts; the file on disk is not changed.
    """
    import nbformat

    hide_code_view_cells(request_handler, notebook, cwd)
    cells = list(notebook.cells)
    ids = [cell.get("id") for cell in cells]
    if PANEL_CELL in ids:
        at = ids.index(PANEL_CELL)
        before, after = cells[: at + 1], cells[at + 1 :]
        text = [cell for cell in before if cell.cell_type == "markdown"]
        code = [cell for cell in before if cell.cell_type != "markdown"]
        about = [nbformat.v4.new_markdown_cell(ABOUT_HEADING)] if text else []
        cells = code + about + text + after
    first = nbformat.v4.new_code_cell(APP_CELL_SOURCE)
    notebook.cells = [first, *cells]
    return notebook


def serving_app_page() -> bool:
    """Whether this kernel runs an app's page (:func:`as_app_page` ran in it)."""
    return _SERVING_APP_PAGE


def as_app_page() -> None:
    """Run by the app's first cell: this kernel serves a page, where a refusal of relink's
    (:class:`relink.errors.RelinkError`, raised by a cell) is shown as a message in that
    cell's output instead of an error that Voilà would hide; the cell still fails, so the page
    stops there. Outside IPython, only notes that this is an app's page."""
    global _SERVING_APP_PAGE
    _SERVING_APP_PAGE = True
    from IPython import get_ipython

    from relink.errors import RelinkError

    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((RelinkError,), show_refusal)


def refusal_view(error: BaseException) -> Any:
    """A refusal of relink's as the app's page shows it: what was refused, and why, in the
    error's own words (which say what to do)."""
    import html

    from relink.display import Shown

    text = f"relink refused: {error}"
    return Shown(
        '<div class="relink-refusal" style="border: 2px solid #b26a00; padding: 8px 12px; '
        'max-width: 60em;"><p><b>relink refused to go on.</b></p>'
        f"<p>{html.escape(str(error))}</p></div>",
        text,
    )


def show_refusal(
    shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
) -> list[str]:
    """IPython's custom exception handler for :func:`as_app_page`: display the refusal
    (:func:`refusal_view`); no traceback, so no error output for Voilà to replace."""
    from IPython.display import display

    display(refusal_view(value))
    return []


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
    On the desk's folder the home page is the desk's queue (:mod:`relink.desk.app_home`).

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

    if Path(target).is_dir():  # the desk: the queue is the home page
        from relink.desk.app_home import DeskVoila as Server
    else:
        from voila.app import Voila as Server

    os.environ.update(kernel_environment(dict(os.environ), env_file))  # the kernels' only source
    config = Config()
    config.Voila.ip = host
    config.Voila.port = port
    config.Voila.port_retries = 0
    config.Voila.open_browser = open_browser
    config.Voila.token = token
    config.VoilaConfiguration.strip_sources = True
    config.VoilaConfiguration.show_tracebacks = False
    config.VoilaConfiguration.prelaunch_hook = app_page_cells
    Server.launch_instance(argv=[str(target)], config=config)
