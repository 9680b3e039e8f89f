"""Fresh Python kernels for ``relink batch``: forked from a pre-imported server, or ordinary.

Why: starting a kernel the usual way (a new Python, ipykernel, then pandas, pyarrow and
relink) costs 1.5 to 2 s of CPU, twenty times the audit itself. On POSIX (``os.name ==
"posix"``: Linux, macOS) a *fork server* (:mod:`relink.batch.fork_server`, one per batch)
imports all of that once; each kernel is an ``os.fork()`` of it that becomes an ipykernel on
its own connection file, which costs about 0.1 s of CPU.

Every kernel is an ordinary ``jupyter_client`` :class:`~jupyter_client.AsyncKernelManager`:
the fork server sits behind a kernel provisioner (:mod:`relink.batch.provisioner`, the
``relink-fork-server`` entry point of ``jupyter_client.kernel_provisioners``), selected by a
kernelspec (``relink-forked``) that :class:`KernelPool` writes into its private folder, whose
``metadata.kernel_provisioner`` names it and the fork server's socket. Elsewhere, with
``RELINK_BATCH_KERNELS=standard`` (or ``KernelPool(kernels="standard")``), or when the fork
server cannot start, the pool starts standard ``python3`` kernels with the same manager (a new
Python per account: slower, same results). :class:`KernelPool` starts the next kernels while
the current ones run, so a worker always finds one started.

Without ``reuse`` every account runs in a process of its own that is killed afterwards. With
``reuse`` (what ``relink batch`` asks for a notebook that changes no account, such as the audit
notebook) a kernel runs one account after another: between two, everything the notebook defined
is dropped and the execution counter restarts at ``In [1]`` (IPython's ``%reset``), and the
kernel keeps only what it imported (pandas, relink, warm caches), which is the point: an
account then costs its cells, not a kernel's start-up and first calls. A kernel whose run ended
otherwise than by its last cell or a cell's error (it died, timed out or was interrupted) is
killed and replaced. A notebook that changes accounts (the runbook) gets a fresh kernel per
account.

The fork server (:mod:`relink.batch.fork_server`) lives in the pool's private folder (its Unix
socket, the kernels' connection files and IPC sockets), never in the batch's output folder; it
kills its kernels and exits when the pool closes its stdin (or the batch dies). Environment
variables named in ``drop_env`` (the API settings, for a notebook that needs none) are left out
of the kernels' environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager

from relink import batch_helpers
from relink.batch.fork_server import HISTORY
from relink.batch.provisioner import NAME as PROVISIONER
from relink.batch_helpers import (
    FOLDER_PREFIX,
    FORKED,
    LOG_NAME,
    STANDARD,
    ForkServer,
    kernel_mode,
)
from relink.errors import BatchError

FORKED_KERNEL = "relink-forked"  # the kernelspec the pool writes for its fork server
STANDARD_KERNEL = "python3"
# Between two accounts on a reused kernel: IPython's %reset (every name the notebook defined
# dropped, its outputs' history cleared) and In [1] next, as in a new kernel. Then the account's
# cyclic garbage is collected and what survives (modules, caches) frozen out of the collector's
# sight, so that the next reset's collection scans only what the next account made: a full
# collection of a warm kernel's heap (pandas, IPython) costs more than an account's cells.
RESET = (
    "get_ipython().reset(new_session=True)\n__import__('gc').collect()\n__import__('gc').freeze()"
)
_log = logging.getLogger("relink.batch.kernels")


class KernelStartError(BatchError):
    """A kernel could not be started or did not answer in time."""


class KernelPool:
    """Hands out fresh, started kernels (``AsyncKernelManager``), ``size`` of them ahead.

    ``await pool.start()``, then ``km = await pool.acquire()`` per run and
    ``pool.release(km)`` after it (the kernel is killed); ``await pool.close()`` kills any
    left. ``kernels``: ``auto`` / ``forked`` / ``standard`` (:func:`kernel_mode`); after
    :meth:`start`, :attr:`mode` says which it runs (``forked`` falls back to ``standard`` when
    the fork server cannot start).
    """

    def __init__(
        self,
        size: int,
        *,
        startup_timeout: float = 60.0,
        drop_env: Iterable[str] = (),
        kernels: str | None = None,
        reuse: bool = False,
    ) -> None:
        self.size = max(1, size)
        self.reuse = reuse
        self.startup_timeout = startup_timeout
        self.drop_env = frozenset(drop_env)
        self.requested = kernels
        self.mode: str | None = None
        self._folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
        self._server: ForkServer | None = None
        self._specs: KernelSpecManager | None = None
        self._numbers = itertools.count(1)
        self._starting: list[asyncio.Task[AsyncKernelManager]] = []
        self._kernels: set[AsyncKernelManager] = set()
        self._clients: dict[AsyncKernelManager, Any] = {}  # with reuse: one client per kernel
        self._stopping: set[asyncio.Task[None]] = set()
        self._closed = False
        self._env = batch_helpers.kernels_env(self.drop_env)

    @property
    def kernel_name(self) -> str:
        return FORKED_KERNEL if self.mode == FORKED else STANDARD_KERNEL

    async def start(self) -> None:
        """Start the fork server (its imports take a second or two) and the first kernels.

        Without a fork server (not POSIX, ``standard`` asked for, or it did not start) the
        kernels are standard ones.
        """
        mode = kernel_mode(self.requested)
        if mode == FORKED:
            try:
                await self._start_server()
            except KernelStartError as exc:
                _log.warning("relink batch: %s; starting standard kernels instead", exc)
                await self._stop_server()
                mode = STANDARD
        if mode == STANDARD:
            self._specs = KernelSpecManager()
        self.mode = mode
        self._starting = [asyncio.create_task(self._start_kernel()) for _ in range(self.size)]

    @property
    def alive(self) -> bool:
        """The pool can still hand out kernels (its fork server, if any, is running)."""
        if self._closed or self.mode is None:
            return False
        return self.mode == STANDARD or (
            self._server is not None and self._server.process.poll() is None
        )

    async def acquire(self) -> AsyncKernelManager:
        """The next started (or, with ``reuse``, reset) kernel; without ``reuse``, starts
        another one to take its place.

        Raises:
            KernelStartError: that kernel could not be started (another one is started to
                take its place).
        """
        task = self._starting.pop(0)
        if not self.reuse:
            self._starting.append(asyncio.create_task(self._start_kernel()))
        try:
            return await task
        except KernelStartError:
            if self.reuse and not self._closed:  # the pool keeps its size
                self._starting.append(asyncio.create_task(self._start_kernel()))
            raise

    def client(self, km: AsyncKernelManager) -> Any:
        """With ``reuse``, the kernel's own started client (its channels open); else None."""
        return self._clients.get(km)

    def release(self, km: AsyncKernelManager, *, reusable: bool = False) -> None:
        """Give back a kernel handed out by :meth:`acquire`.

        With ``reuse`` and ``reusable`` (its run ended without the kernel dying, timing out or
        being interrupted), the kernel's namespace is cleared and its execution counter reset
        (IPython's ``%reset``, :data:`RESET`) in the background, and :meth:`acquire` hands it
        out again. Otherwise it is killed in the background (:meth:`close` waits), and with
        ``reuse`` a new kernel is started in its place.
        """
        if km not in self._kernels:
            return
        if self.reuse and reusable and not self._closed:
            self._starting.append(asyncio.create_task(self._reset(km)))
            return
        self._discard(km)
        if self.reuse and not self._closed:
            self._starting.append(asyncio.create_task(self._start_kernel()))

    def _discard(self, km: AsyncKernelManager) -> None:
        """Kill ``km`` in the background and close its client."""
        self._kernels.discard(km)
        kc = self._clients.pop(km, None)
        if kc is not None:
            kc.stop_channels()
        task = asyncio.ensure_future(_shutdown(km))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _reset(self, km: AsyncKernelManager) -> AsyncKernelManager:
        """``km`` with a fresh namespace and ``In [1]`` next; a new kernel if that fails."""
        try:
            await _execute_quietly(self._clients[km], RESET, self.startup_timeout)
        except Exception as exc:  # dead, or stuck: replace it
            _log.debug("kernel %s: reset failed (%s); starting another", km.kernel_id, exc)
            self._discard(km)
            return await self._start_kernel()
        return km

    async def close(self) -> None:
        """Kill every kernel, stop the fork server and delete the connection files."""
        self._closed = True
        for task in self._starting:
            task.cancel()
        await asyncio.gather(*self._starting, return_exceptions=True)
        for km in list(self._kernels):
            self._discard(km)
        await asyncio.gather(*list(self._stopping), return_exceptions=True)
        await self._stop_server()
        shutil.rmtree(self._folder, ignore_errors=True)

    async def _start_server(self) -> None:
        """Take the fork server ``relink batch`` started as it began, if it is the one this pool
        needs (:mod:`relink.batch_helpers`), else start one; wait until it has imported."""
        server = batch_helpers.take(self._env)
        if server is None:
            try:
                server = batch_helpers.launch(self._folder, self._env)
            except OSError as exc:
                raise KernelStartError(f"the kernel fork server did not start ({exc})") from exc
        else:  # its folder becomes the pool's
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = server.folder
        self._server = server
        if await asyncio.to_thread(server.process.stdout.readline) != b'{"ready": true}\n':
            raise KernelStartError(f"the kernel fork server did not start: {self._server_log()}")
        socket_path = server.socket_path
        # The kernelspec that selects the provisioner, where only this pool looks for it.
        spec = self._folder / "kernels" / FORKED_KERNEL
        spec.mkdir(parents=True)
        kernel = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (relink, forked)",
            "language": "python",
            "metadata": {
                "kernel_provisioner": {
                    "provisioner_name": PROVISIONER,
                    "config": {"fork_server": str(socket_path)},
                }
            },
        }
        (spec / "kernel.json").write_text(json.dumps(kernel, indent=1), encoding="utf-8")
        self._specs = KernelSpecManager(kernel_dirs=[str(spec.parent)])

    async def _stop_server(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        process = server.process
        if process.poll() is None:
            process.stdin.close()  # the server kills what it forked, then exits
            try:
                await asyncio.to_thread(process.wait, 5)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        server.close_pipes()

    async def _start_kernel(self) -> AsyncKernelManager:
        number = next(self._numbers)
        km = AsyncKernelManager(
            kernel_name=self.kernel_name,
            kernel_spec_manager=self._specs,
            # IPC sockets in the private folder: no TCP port races, nothing on a network.
            transport="ipc",
            ip=str(self._folder / f"k{number}"),
            connection_file=str(self._folder / f"kernel-{number}.json"),
        )
        self._kernels.add(km)
        try:
            await km.start_kernel(env=self._env, extra_arguments=[HISTORY])
        except Exception as exc:
            self._kernels.discard(km)
            with contextlib.suppress(Exception):
                await km.cleanup_resources()
            detail = self._server_log() if self.mode == FORKED else "no message"
            raise KernelStartError(f"a kernel did not start: {exc} ({detail})") from exc
        if self.reuse:  # one client for the kernel's life: its runs skip the handshake
            kc = km.client()
            self._clients[km] = kc
            try:
                kc.start_channels()
                await kc.wait_for_ready(timeout=self.startup_timeout)
            except Exception as exc:
                self._discard(km)
                raise KernelStartError(f"a kernel did not answer: {exc}") from exc
            kc.allow_stdin = False
        return km

    def _server_log(self) -> str:
        log = self._folder / LOG_NAME
        text = log.read_text(errors="replace").strip() if log.exists() else ""
        return text.splitlines()[-1] if text else "no message"


async def _execute_quietly(kc: Any, code: str, timeout: float) -> None:
    """Run ``code`` on ``kc``'s kernel without output or history (not an ``In [n]``).

    Raises:
        RuntimeError: the code failed. TimeoutError: no reply within ``timeout`` seconds.
    """
    msg_id = kc.execute(code, silent=True, store_history=False)
    async with asyncio.timeout(timeout):
        while True:
            reply = await kc.get_shell_msg()
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                break
    if reply["content"].get("status") != "ok":
        raise RuntimeError(f"{code!r}: {reply['content'].get('ename', 'failed')}")


async def _shutdown(km: AsyncKernelManager) -> None:
    """Kill the kernel now (it holds nothing worth a graceful shutdown); free its files."""
    try:
        await km.shutdown_kernel(now=True)
    except Exception:  # already gone, or never started: its files still go
        _log.debug("kernel %s: shutdown failed", km.kernel_id, exc_info=True)
        with contextlib.suppress(Exception):
            await km.cleanup_resources()
