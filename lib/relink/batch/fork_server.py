"""The kernels' fork server: ``python -m relink.batch.fork_server SOCKET``.

Started by :class:`relink.batch.kernels.KernelPool` (one per batch, or per Dask worker): it
imports what the audit notebook needs (:data:`PRELOAD`) once, then forks one kernel per request
on its Unix socket, each an ipykernel on the connection file the request names
(:mod:`relink.batch.provisioner` sends the requests). It only imports modules and listens on
that socket (closed in every kernel it forks): it opens no other file, socket, thread or zeromq
context that the children would share. It takes a JSON line per connection
(``{"connection_file": ...}``) and answers ``{"pid": ...}``; it says ``{"ready": true}`` on its
stdout once its imports are done, and when its stdin closes (the batch ended, or died) it kills
every kernel it forked and exits. Each kernel runs in its own session (a terminal's Ctrl-C
reaches only the batch, which then stops them) and exits on its own within a second if the
fork server is gone (ipykernel's parent poller).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import selectors
import shutil
import signal
import socket
import sys

from relink.batch import FORK_SERVER_ENV
from relink.batch_helpers import FOLDER_PREFIX

HISTORY = "--HistoryManager.hist_file=:memory:"  # a kernel keeps no history file

# What the audit notebook needs, imported once in the fork server instead of once per kernel.
PRELOAD: tuple[str, ...] = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "IPython.core.interactiveshell",
    "pandas",
    "pyarrow.csv",
    "PIL.PngImagePlugin",
    "relink.audit.notebook",  # its charts are drawn with Pillow: no matplotlib
)


def serve_forks(socket_path: str, preload: tuple[str, ...] = PRELOAD) -> None:
    """Run the fork server: import ``preload``, then fork one kernel per request on the socket."""
    import importlib

    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything printed by an import goes to the log, not into the protocol
    # The batch decides when we stop (Ctrl-C or a SIGTERM to its process group reaches us too):
    # it closes our stdin once its runs are stopped, and we kill our kernels then.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for name in preload:
        importlib.import_module(name)
    os.environ.pop(FORK_SERVER_ENV, None)  # the kernels are not the fork server
    # What was imported is shared by every kernel and lives as long as they do: out of the
    # cyclic collector's sight, so that no kernel's collections scan it (nor copy its pages).
    gc.collect()
    gc.freeze()
    # Children are reaped by the kernel, so a dead kernel never lingers as a zombie that
    # would still look alive to the batch.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)
    events = selectors.DefaultSelector()
    events.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    events.register(listener, selectors.EVENT_READ, "socket")
    forked: list[int] = []
    replies.write('{"ready": true}\n')
    running = True
    while running:
        for key, _mask in events.select():
            if key.data == "stdin":
                if not os.read(sys.stdin.fileno(), 4096):
                    running = False  # stdin closed: the batch is over
                continue
            connection, _ = listener.accept()
            with connection:
                connection.settimeout(10)
                try:
                    request = json.loads(connection.makefile("rb").readline())
                except (OSError, ValueError):
                    continue
                pid = os.fork()
                if pid == 0:
                    replies.close()
                    events.close()
                    connection.close()
                    listener.close()
                    _become_kernel(request["connection_file"], os.getppid())
                forked.append(pid)
                with contextlib.suppress(OSError):
                    connection.sendall((json.dumps({"pid": pid}) + "\n").encode())
    listener.close()
    for pid in forked:
        # Kill only what is still a kernel of ours: a session leader with its own id.
        with contextlib.suppress(OSError):
            if os.getsid(pid) == pid:
                os.kill(pid, signal.SIGKILL)
    # The pool's private folder (its socket, the kernels' files) goes too: the pool removes it
    # as it closes, but a batch killed with kill -9 never does.
    folder = os.path.dirname(socket_path)
    if os.path.basename(folder).startswith(FOLDER_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)


def _become_kernel(connection_file: str, server_pid: int) -> None:
    """In a forked child: detach, reset what the server changed, run an ipykernel. Never returns."""
    try:
        os.setsid()
        for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        sys.argv = ["relink-kernel"]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(
            argv=[
                "-f",
                connection_file,
                HISTORY,
                f"--IPKernelApp.parent_handle={server_pid}",
            ]
        )
    finally:
        os._exit(0)


if __name__ == "__main__":
    serve_forks(sys.argv[1])
