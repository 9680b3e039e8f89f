"""A jupyter_client kernel provisioner whose kernels are forked from relink's fork server.

Registered as ``relink-fork-server`` under the ``jupyter_client.kernel_provisioners`` entry
point (pyproject.toml), and selected the documented way: a kernelspec whose metadata names it,

.. code-block:: json

    {"metadata": {"kernel_provisioner": {"provisioner_name": "relink-fork-server",
                                         "config": {"fork_server": "/tmp/.../fork.sock"}}}}

``fork_server`` is the Unix socket of a running fork server (``python -m relink.batch.fork_server
SOCKET``, started by :class:`relink.batch.kernels.KernelPool`, which writes such a kernelspec
into its private folder). A ``KernelManager`` using this provisioner writes the connection file
as usual (:meth:`pre_launch`); :meth:`launch_kernel` asks the fork server to fork a kernel on it
instead of starting a new Python. The kernel is not a child of this process: it is watched,
signalled and killed by its process id (it leads its own session, so a signal reaches its
process group). POSIX only: the fork server uses ``os.fork``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from typing import Any

from jupyter_client.provisioning import KernelProvisionerBase
from traitlets import Unicode

NAME = "relink-fork-server"  # the entry point's name, as a kernelspec names it
REQUEST_TIMEOUT = 30.0  # seconds to wait for the fork server's reply


class ForkServerProvisioner(KernelProvisionerBase):  # type: ignore[misc]
    """Kernels forked by relink's fork server; see the module's documentation."""

    fork_server = Unicode(help="The fork server's Unix socket.").tag(config=True)

    pid: int | None = None

    @property
    def has_process(self) -> bool:
        return self.pid is not None

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Write the connection file (where the kernel manager says: transport, ip, file)."""
        km = self.parent
        km.write_connection_file()
        self.connection_info = km.get_connection_info()
        kwargs.pop("extra_arguments", None)  # a forked kernel takes no command line
        # No environment either: a forked kernel has the fork server's.
        kwargs.pop("env", None)
        return {"cmd": list(self.kernel_spec.argv), **kwargs}

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> dict[str, Any]:
        """Ask the fork server for a kernel on the connection file ``pre_launch`` wrote.

        Raises:
            RuntimeError: the fork server is gone, or did not answer.
        """
        if not self.fork_server:
            raise RuntimeError(f"kernel provisioner {NAME}: no fork_server in its config")
        request = json.dumps({"connection_file": self.parent.connection_file}) + "\n"
        try:
            reader, writer = await asyncio.open_unix_connection(self.fork_server)
        except OSError as exc:
            raise RuntimeError(f"the kernel fork server is not running ({exc})") from exc
        try:
            writer.write(request.encode())
            await writer.drain()
            reply = await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if not reply:
            raise RuntimeError("the kernel fork server closed the connection without a kernel")
        self.pid = int(json.loads(reply)["pid"])
        return self.connection_info

    async def poll(self) -> int | None:
        """None while the kernel runs; 0 once it is gone (its exit code is its parent's)."""
        return None if self.pid is not None and _exists(self.pid) else 0

    async def wait(self) -> int | None:
        while self.pid is not None and _exists(self.pid):
            await asyncio.sleep(0.01)
        self.pid = None
        return 0

    async def send_signal(self, signum: int) -> None:
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)  # the kernel leads its own process group

    async def kill(self, restart: bool = False) -> None:
        """SIGKILL, then a short wait so the manager finds the kernel gone at its first look."""
        pid = self.pid
        await self.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 1.0
        while pid is not None and _exists(pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.002)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGTERM)

    async def cleanup(self, restart: bool = False) -> None:
        """Nothing: the kernel manager deletes the connection file and IPC sockets."""

    async def get_provisioner_info(self) -> dict[str, Any]:
        info = await super().get_provisioner_info()
        info.update({"pid": self.pid, "fork_server": self.fork_server})
        return info

    async def load_provisioner_info(self, provisioner_info: dict[str, Any]) -> None:
        await super().load_provisioner_info(provisioner_info)
        self.pid = provisioner_info.get("pid")
        self.fork_server = provisioner_info.get("fork_server") or ""


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or no longer ours
        return False
    return True
