"""Fresh, already-warm Python kernels for ``relink batch``, forked from a pre-imported server.

Why: starting a kernel the usual way (a new Python, ipykernel, then pandas, matplotlib and
relink) costs 1.5 to 2 s of CPU, twenty times the audit itself. Here a *fork server*
(``python -m relink.batch.kernels``, one per batch) imports all of that once; each account's kernel
is a ``fork()`` of it that becomes an ipykernel on its own connection file, which costs about
0.1 s of CPU. :class:`KernelPool` asks for the next kernels while the current ones run, so a
worker always finds one ready. Every account still runs in a process of its own that is
killed afterwards: nothing an audit does can leak into the next one.

The fork server only imports modules: it opens no file, socket, thread or zeromq context that
the children would share. It talks over its stdin (JSON lines: ``{"connection_file": ...}``)
and a duplicate of its stdout (``{"pid": ...}``), never writes anything else there, and when
its stdin closes (the batch ended, or died) it kills every kernel it forked and exits. Each
kernel runs in its own session (a terminal's Ctrl-C reaches only the batch, which then stops
them) and exits on its own within a second if the fork server is gone (ipykernel's parent
poller). Connection files and IPC sockets live in a private temporary folder, never in the
batch's output folder. Environment variables named in ``drop_env`` (the API settings, for a
notebook that needs none) are left out of the fork server's environment, hence its kernels'.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.connect import write_connection_file

from relink.errors import BatchError

# What the audit notebook needs, imported once in the fork server instead of once per kernel.
PRELOAD: tuple[str, ...] = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "IPython.core.interactiveshell",
    "pandas",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "relink.audit.notebook",
)


class KernelStartError(BatchError):
    """A kernel could not be forked or did not answer in time."""


class _PidKernelClient(AsyncKernelClient):
    """A kernel client that knows its kernel's process id.

    Without a KernelManager, jupyter_client would judge liveness by heartbeats; the process id
    is exact and costs no thread.
    """

    pid: int = 0

    async def _async_is_alive(self) -> bool:
        return _process_exists(self.pid)

    is_alive = _async_is_alive


class ForkedKernel:
    """One kernel forked by the server, with the few KernelManager methods nbclient calls."""

    def __init__(self, pid: int, connection_file: Path) -> None:
        self.pid = pid
        self.connection_file = connection_file
        self.client = _PidKernelClient(connection_file=str(connection_file))
        self.client.pid = pid
        self.client.load_connection_file()

    has_kernel = True  # nbclient starts no kernel of its own when the manager has one

    def is_alive(self) -> bool:
        return _process_exists(self.pid)

    async def connect(self, timeout: float) -> None:
        """Open the channels and wait for the kernel's first reply.

        Raises:
            KernelStartError: the kernel died or did not answer within ``timeout`` seconds.
        """
        self.client.start_channels(hb=False)
        self.client.allow_stdin = False
        try:
            await self.client.wait_for_ready(timeout=timeout)
        except RuntimeError as exc:
            raise KernelStartError(f"kernel {self.pid} did not start: {exc}") from exc

    def interrupt_kernel(self) -> None:
        """Called by nbclient when a cell times out."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)

    def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        self.kill()

    def cleanup_resources(self, restart: bool = False) -> None:
        """Nothing to clean: the pool owns the connection files."""

    def kill(self) -> None:
        """Stop the kernel now: it holds nothing worth a graceful shutdown."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        if self.client.channels_running:
            self.client.stop_channels()


class KernelPool:
    """Hands out fresh kernels, keeping ``size`` of them starting ahead of demand.

    ``await pool.start()``, then ``kernel = await pool.acquire()`` per run and
    ``pool.release(kernel)`` after it (the kernel is killed); ``await pool.close()`` kills any
    left.
    """

    def __init__(
        self, size: int, *, startup_timeout: float = 60.0, drop_env: Iterable[str] = ()
    ) -> None:
        self.size = max(1, size)
        self.startup_timeout = startup_timeout
        self.drop_env = frozenset(drop_env)
        self._folder = Path(tempfile.mkdtemp(prefix="relink-kernels-"))
        self._server: asyncio.subprocess.Process | None = None
        self._fork_lock = asyncio.Lock()
        self._numbers = itertools.count(1)
        self._starting: list[asyncio.Task[ForkedKernel]] = []
        self._kernels: set[ForkedKernel] = set()

    async def start(self) -> None:
        """Start the fork server (its imports take a second or two) and the first kernels.

        Raises:
            KernelStartError: the fork server exited before it was ready.
        """
        log = (self._folder / "fork-server.log").open("wb")
        env = {k: v for k, v in os.environ.items() if k not in self.drop_env}
        self._server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "relink.batch.kernels",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            # One thread per BLAS pool in every kernel would oversubscribe the cores.
            env={**env, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
        )
        log.close()
        if await self._server.stdout.readline() != b'{"ready": true}\n':
            raise KernelStartError(f"the kernel fork server did not start: {self._server_log()}")
        self._starting = [asyncio.create_task(self._start_kernel()) for _ in range(self.size)]

    async def acquire(self) -> ForkedKernel:
        """The next ready kernel; starts another one to take its place.

        Raises:
            KernelStartError: that kernel could not be started.
        """
        task = self._starting.pop(0)
        self._starting.append(asyncio.create_task(self._start_kernel()))
        return await task

    async def close(self) -> None:
        """Kill every kernel, stop the fork server and delete the connection files."""
        for task in self._starting:
            task.cancel()
        await asyncio.gather(*self._starting, return_exceptions=True)
        for kernel in list(self._kernels):
            kernel.kill()
        self._kernels.clear()
        if self._server is not None and self._server.returncode is None:
            self._server.stdin.close()  # the server kills what it forked, then exits
            try:
                await asyncio.wait_for(self._server.wait(), 5)
            except TimeoutError:
                self._server.kill()
                await self._server.wait()
        shutil.rmtree(self._folder, ignore_errors=True)

    def release(self, kernel: ForkedKernel) -> None:
        """Kill a kernel handed out by :meth:`acquire`."""
        kernel.kill()
        self._kernels.discard(kernel)

    async def _start_kernel(self) -> ForkedKernel:
        number = next(self._numbers)
        connection_file = self._folder / f"kernel-{number}.json"
        # IPC sockets in a private folder: no TCP port races between kernels, nothing on a network.
        write_connection_file(
            str(connection_file), transport="ipc", ip=str(self._folder / f"k{number}")
        )
        async with self._fork_lock:
            request = json.dumps({"connection_file": str(connection_file)}) + "\n"
            self._server.stdin.write(request.encode())
            await self._server.stdin.drain()
            reply = await self._server.stdout.readline()
        if not reply:
            raise KernelStartError(f"the kernel fork server exited: {self._server_log()}")
        kernel = ForkedKernel(json.loads(reply)["pid"], connection_file)
        self._kernels.add(kernel)
        try:
            await kernel.connect(self.startup_timeout)
        except BaseException:
            self.release(kernel)
            raise
        return kernel

    def _server_log(self) -> str:
        log = self._folder / "fork-server.log"
        text = log.read_text(errors="replace").strip() if log.exists() else ""
        return text.splitlines()[-1] if text else "no message"


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else: not ours any more
        return False
    return True


def serve_forks(preload: tuple[str, ...] = PRELOAD) -> None:
    """Run the fork server: import ``preload``, then fork one kernel per request on stdin."""
    import importlib

    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything printed by an import goes to the log, not into the protocol
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the batch decides when we stop
    for name in preload:
        importlib.import_module(name)
    # Children are reaped by the kernel, so a dead kernel never lingers as a zombie that
    # would still look alive to the batch.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    forked: list[int] = []
    replies.write('{"ready": true}\n')
    for line in sys.stdin:
        connection_file = json.loads(line)["connection_file"]
        pid = os.fork()
        if pid == 0:
            replies.close()
            _become_kernel(connection_file, os.getppid())
        forked.append(pid)
        replies.write(json.dumps({"pid": pid}) + "\n")
    for pid in forked:
        # Kill only what is still a kernel of ours: a session leader with its own id.
        with contextlib.suppress(OSError):
            if os.getsid(pid) == pid:
                os.kill(pid, signal.SIGKILL)


def _become_kernel(connection_file: str, server_pid: int) -> None:
    """In a forked child: detach, reset what the server changed, run an ipykernel. Never returns."""
    try:
        os.setsid()
        for signum in (signal.SIGCHLD, signal.SIGINT):
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
                "--HistoryManager.hist_file=:memory:",
                f"--IPKernelApp.parent_handle={server_pid}",
            ]
        )
    finally:
        os._exit(0)


if __name__ == "__main__":
    serve_forks()
