"""The processes ``relink batch`` runs beside itself, and how they start before its imports.

- The kernels' **fork server** (:mod:`relink.batch.fork_server`), started as the command begins
  (:func:`start`): the batch's own imports (papermill, nbclient, jupyter_client: about a
  second) and the fork server's (ipykernel, pandas, pyarrow, relink: about a second) used to
  run one after the other, since the pool started its fork server once the batch had imported
  everything; now the fork server imports on the other core meanwhile.
- The **report process** (:mod:`relink.batch.summary.report_process`, :data:`REPORT_PROCESS`),
  started with the runs. With :data:`REPORT_PROCESS_ENV` set, importing :mod:`relink.batch`
  there imports no papermill and keeps jsonschema from building its IRI grammar
  (:func:`skip_iri_grammar`) before nbformat is imported.

The fork server started ahead is a guess made before the notebook is read: a fork server for
a notebook that changes no account (its kernels, forks of it, have its environment: the API
settings left out). The kernel pool (:class:`relink.batch.kernels.KernelPool`) takes it with
:func:`take` only when it would have started the very same server (same kernels mode, same
environment); otherwise, and when the batch runs nothing (every account already done, a Dask
cluster, an error), it is killed before it forked anything and its folder removed
(:func:`discard`, called when the command ends whatever happened).

This module is not in :mod:`relink.batch`: importing that package imports papermill first (its
engine's entry point needs it), which is exactly what must not be waited for. It imports only
the standard library and relink's errors; :mod:`relink.batch.kernels` starts its own fork
servers with :func:`launch` too, and reads the kernels mode with :func:`kernel_mode`, so that
there is one way to do each.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from relink.errors import BatchError

# Set in the fork server while it imports (its relink.batch does not import papermill).
FORK_SERVER_ENV = "RELINK_FORK_SERVER"
MODE_ENV = "RELINK_BATCH_KERNELS"  # auto (the default), forked or standard
AUTO, FORKED, STANDARD = "auto", "forked", "standard"
# What the kernels of a notebook that changes no account never get.
API_SETTINGS = ("RELINK_API_TOKEN", "RELINK_API_URL")
# One thread per BLAS pool in every kernel would oversubscribe the cores.
KERNEL_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
SOCKET_NAME, LOG_NAME = "fork.sock", "fork-server.log"
FOLDER_PREFIX = "relink-kernels-"  # a kernel pool's private folder, in $TMPDIR
_log = logging.getLogger("relink.batch.kernels")
# Set in the report process: relink.batch imports no papermill and skips the IRI grammar there.
REPORT_PROCESS_ENV = "RELINK_REPORT_PROCESS"
REPORT_PROCESS = [sys.executable, "-m", "relink.batch.summary.report_process"]


def skip_iri_grammar() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` in this process.

    nbformat (under papermill, and for reports) imports jsonschema, which registers an IRI
    format checker from ``rfc3987_syntax`` when that is installed (jupyter_events pulls it in),
    and that module builds a grammar as it is imported: 1.3 s of CPU, more than the rest of the
    batch's start-up. No schema the batch validates (nbformat's) has an IRI format; without the
    module, jsonschema simply does not register that checker. Nothing changes if jsonschema is
    already imported.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


@dataclass
class ForkServer:
    """A started fork server: its process, its private folder and the environment it has."""

    process: subprocess.Popen[bytes]
    folder: Path
    env: dict[str, str]

    @property
    def socket_path(self) -> Path:
        return self.folder / SOCKET_NAME

    def close_pipes(self) -> None:
        """Close this side of its stdin and stdout, once it has exited."""
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()


def kernels_env(drop_env: Iterable[str]) -> dict[str, str]:
    """The kernels' environment: this process's without ``drop_env``, with :data:`KERNEL_ENV`."""
    dropped = frozenset(drop_env)
    return {**{k: v for k, v in os.environ.items() if k not in dropped}, **KERNEL_ENV}


def launch(folder: Path, env: Mapping[str, str]) -> ForkServer:
    """Start ``python -m relink.batch.fork_server`` on a socket in ``folder`` with ``env`` (its
    kernels' environment); it says ``{"ready": true}`` on its stdout once it has imported.

    Raises:
        OSError: the process could not be started.
    """
    with (folder / LOG_NAME).open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "relink.batch.fork_server", str(folder / SOCKET_NAME)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env={**env, FORK_SERVER_ENV: "1"},
        )
    return ForkServer(process, folder, dict(env))


_pending: ForkServer | None = None


def kernel_mode(requested: str | None = None) -> str:
    """The kernels a pool will try to start: ``forked`` or ``standard``.

    ``requested`` (else ``$RELINK_BATCH_KERNELS``, else ``auto``): ``auto`` and ``forked`` mean
    forked on POSIX, standard elsewhere (the fork server needs ``os.fork``).

    Raises:
        BatchError: an unknown value.
    """
    value = (requested or os.environ.get(MODE_ENV) or AUTO).strip().lower()
    if value not in {AUTO, FORKED, STANDARD}:
        raise BatchError(f"{MODE_ENV}={value}: say auto, forked or standard")
    if value == STANDARD:
        return STANDARD
    if os.name != "posix":
        if value == FORKED:
            _log.warning("relink batch: no fork server on %s; standard kernels instead", os.name)
        return STANDARD
    return FORKED


def start() -> None:
    """Start a fork server for a notebook that changes no account, if this machine's kernels
    would be forked (:func:`kernel_mode`). Nothing happens (no error) if it cannot start, or
    the mode is unknown: the pool starts its own then, or says what is wrong."""
    global _pending
    if _pending is not None or os.name != "posix":
        return
    try:
        if kernel_mode() != FORKED:
            return
    except BatchError:
        return
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    try:
        _pending = launch(folder, kernels_env(API_SETTINGS))
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)


def take(env: Mapping[str, str]) -> ForkServer | None:
    """The fork server :func:`start` started, if its kernels would have ``env``; else None
    (and it is discarded). The caller owns it from then on."""
    global _pending
    server, _pending = _pending, None
    if server is not None and (server.env != dict(env) or server.process.poll() is not None):
        _kill(server)
        return None
    return server


@contextlib.contextmanager
def started_ahead(wanted: bool = True) -> Iterator[None]:
    """:func:`start` (when ``wanted``) on entering, :func:`discard` on leaving, however: what
    the batch did not take is never left running."""
    if wanted:
        start()
    try:
        yield
    finally:
        discard()


def discard() -> None:
    """Kill the fork server :func:`start` started, if nobody took it, and remove its folder."""
    global _pending
    server, _pending = _pending, None
    if server is not None:
        _kill(server)


def _kill(server: ForkServer) -> None:
    # Nothing was forked from it yet: nothing else to stop.
    with contextlib.suppress(OSError):
        server.process.kill()
    server.process.wait()
    server.close_pipes()
    shutil.rmtree(server.folder, ignore_errors=True)
