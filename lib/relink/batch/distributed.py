"""``relink batch --scheduler tcp://HOST:PORT``: every account as a task on a Dask cluster.

Needs the ``relink[dask]`` extra on the client and on every worker; the workers need nothing
else from the client. Each task carries the notebook (its JSON), the account's parameters and
its files' paths; the exports are read where the worker runs, so the paths must mean the same
file there (a shared filesystem; fsspec URLs are not supported: a manifest names local files).

On a worker, accounts run exactly as locally (:func:`relink.batch.account_run.execute_account`): a
kernel from a :class:`~relink.batch.kernels.KernelPool` (one per worker process, started
when the batch registers its worker plugin, else by the first task, and kept warm for the next
batches), papermill's parameterisation and records, the API settings dropped from the kernels
of a notebook that changes no account. The executed notebook is written into a scratch folder
and its text returned with the status, error, duration and recorded result; the client writes
it to ``DIR/<account>/<notebook>``, so the output folder and the summary are those of a local
run.

A notebook that fails is a failed row (the task returns it; it does not raise). A worker lost
mid-batch: the scheduler runs its accounts again elsewhere, up to its ``allowed-failures``
(``distributed.scheduler.allowed-failures``, 3 by default); an account whose workers all died
is a failed row (``KilledWorker``). Every account is in the summary exactly once. Ctrl-C (or
SIGTERM, :mod:`relink.batch.stopping`) cancels what is left: the accounts on a worker at that
moment are listed as interrupted (their notebooks finish on the workers, unsaved), the others
as not run.

What travels: the notebook, every account's parameters and files' paths, and each executed
notebook with its results. Over ``tcp://`` (Dask's default) that is plain text on the network:
:func:`transport_warning` says so on stderr, before connecting, for a scheduler that is not on
this machine's loopback. ``tls://HOST:PORT`` encrypts it; the client's certificates come from
Dask's configuration (``distributed.comm.tls.ca-file``, ``.client.cert``, ``.client.key``, or
the environment variables ``DASK_DISTRIBUTED__COMM__TLS__CA_FILE``,
``DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT`` and ``DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY``),
which ``distributed.Client`` reads into its ``distributed.security.Security`` object.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import ipaddress
import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from relink.atomic_files import write_atomically
from relink.batch import resume as done_records
from relink.batch.account_run import (
    RunSettings,
    first_line,
)
from relink.batch.dask_worker import KernelPools, run_account
from relink.batch.manifest import AccountJob
from relink.batch.runner import pool_options
from relink.batch.runs import FAILED, INTERRUPTED, NOT_RUN, AccountRun, BatchReport
from relink.display import visible
from relink.errors import BatchError

SCHEDULER_ENV = "RELINK_DASK_SCHEDULER"
CONNECT_TIMEOUT = "10s"
RETRIES = 1  # for a task that raises (it never does for a failing notebook): once, elsewhere
PLUGIN_NAME = "relink-kernels"
ENCRYPTED_SCHEMES = frozenset({"tls", "wss"})  # Dask's TLS transports
LOCAL_SCHEMES = frozenset({"inproc"})  # within this process: nothing on a network


def on_cluster(scheduler: str) -> Callable[[BatchReport, RunSettings], None]:
    """What :func:`relink.batch.runner.run_batch` takes as ``distribute``: run there."""
    return functools.partial(run_distributed, scheduler=scheduler)


def run_distributed(batch: BatchReport, settings: RunSettings, scheduler: str) -> None:
    """Run every account of ``batch`` on the Dask cluster at ``scheduler``; fill in the runs.

    Raises:
        BatchError: Dask is not installed, or the scheduler cannot be reached.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise BatchError(
            "--scheduler runs accounts on a Dask cluster: pip install 'relink[dask]'"
        ) from None
    if not batch.runs:
        return  # --resume found every account done
    warning = transport_warning(scheduler)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    security = _tls_security(scheduler)
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False, security=security)
    except Exception as exc:  # whatever Dask raised while connecting: one line, never a crash
        raise BatchError(
            f"{visible(scheduler)}: cannot reach the Dask scheduler ({first_line(str(exc))})"
        ) from exc
    with client:
        options = pool_options(settings.template)
        drop_env, reuse = tuple(options["drop_env"]), bool(options["reuse"])
        _warm_workers(client, drop_env, reuse)
        threads = sum(client.nthreads().values())
        batch.workers = max(1, min(threads, len(batch.runs)))
        print(_announce(client, scheduler, threads), file=sys.stderr, flush=True)
        common = _common_spec(settings, drop_env, reuse)
        prefix = f"relink-account-{uuid.uuid4().hex[:8]}"
        futures = {
            client.submit(
                run_account,
                common,
                _job_spec(run.job),
                key=f"{prefix}-{index}",
                pure=False,
                retries=RETRIES,
            ): run
            for index, run in enumerate(batch.runs)
        }
        done = 0
        try:
            for future in as_completed(list(futures), loop=client.loop):
                run = futures.pop(future)
                _apply(run, future, settings.out_dir)
                done += 1
                if settings.on_done:
                    settings.on_done(run, done, len(batch.runs))
        except KeyboardInterrupt:
            batch.interrupted = True
            _stop(client, futures)


def transport_warning(scheduler: str) -> str:
    """What to say before connecting to ``scheduler`` (two lines), or ``""``: a scheduler
    reached over a plain transport (``tcp://``, Dask's default scheme, ``ws://``, ``ucx://``)
    on another machine sees the notebook, the parameters and every result travel unencrypted.

    Decided from the address alone (nothing is resolved or dialled): no warning for ``tls://``
    and ``wss://``, for ``inproc://``, nor for a loopback host (``localhost``, ``127.0.0.0/8``,
    ``::1``). Any other host name counts as another machine.
    """
    address = scheduler.strip()
    scheme, found, _ = address.partition("://")
    scheme = scheme.lower() if found else "tcp"
    if scheme in ENCRYPTED_SCHEMES | LOCAL_SCHEMES or _is_loopback(address, scheme, found):
        return ""
    return (
        f"relink batch: warning: {visible(address)} is not a loopback address and {scheme}:// is "
        "not encrypted: the notebook, its parameters and every account's results cross the "
        "network in clear.\n"
        "relink batch: use TLS: start the scheduler and workers with certificates (dask "
        "scheduler --tls-ca-file --tls-cert --tls-key) and pass --scheduler tls://HOST:PORT, the "
        "client's certificates in DASK_DISTRIBUTED__COMM__TLS__CA_FILE, __CLIENT__CERT and "
        "__CLIENT__KEY (README: Batch on a Dask cluster)"
    )


TLS_SETTINGS = (
    ("tls_ca_file", "DASK_DISTRIBUTED__COMM__TLS__CA_FILE"),
    ("tls_client_cert", "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT"),
)


def _tls_security(scheduler: str) -> Any:
    """For a ``tls://`` or ``wss://`` scheduler, the client's ``distributed.security.Security``
    from Dask's configuration (its certificates; the key may be in the certificate's file or in
    ``DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY``); ``None`` for any other scheme.

    Raises:
        BatchError: the configuration names no CA file or no client certificate.
    """
    scheme, found, _ = scheduler.strip().partition("://")
    if not found or scheme.lower() not in ENCRYPTED_SCHEMES:
        return None
    from distributed.security import Security

    security = Security()
    missing = [variable for field, variable in TLS_SETTINGS if not getattr(security, field)]
    if missing:
        raise BatchError(
            f"{visible(scheduler)}: TLS needs the client's certificates: set "
            f"{' and '.join(missing)} (and DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY unless the "
            "key is in the certificate's file), or distributed.comm.tls in Dask's configuration"
        )
    return security


def _is_loopback(address: str, scheme: str, found: str) -> bool:
    try:
        host = urlsplit(address if found else f"{scheme}://{address}").hostname or ""
    except ValueError:
        return False  # not an address: Client says so; no claim that it is this machine
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def _warm_workers(client: Any, drop_env: tuple[str, ...], reuse: bool) -> None:
    plugin = KernelPools(drop_env, reuse)
    # Best effort: a worker without relink fails its tasks, and says so, anyway.
    with contextlib.suppress(Exception):
        client.register_plugin(plugin, name=f"{PLUGIN_NAME}-{len(drop_env)}-{int(reuse)}")


def _announce(client: Any, scheduler: str, threads: int) -> str:
    try:
        served = "dashboard" in client.scheduler_info().get("services", {})
        dashboard = client.dashboard_link if served else None
    except Exception:  # an older scheduler, or one that says nothing of its services
        dashboard = None
    workers = len(client.nthreads())
    line = f"relink batch: Dask scheduler {scheduler}, {workers} worker(s), {threads} thread(s)"
    if not workers:
        line += " (the accounts wait for a worker to join)"
    return line + (f"; dashboard: {dashboard}" if dashboard else "")


def _common_spec(settings: RunSettings, drop_env: tuple[str, ...], reuse: bool) -> dict[str, Any]:
    template = settings.template
    text = json.dumps(template.notebook, sort_keys=True)
    return {
        "notebook": text,
        "digest": hashlib.sha256(text.encode()).hexdigest(),
        "path": str(template.path),
        "declared": dict(template.declared),
        "defaults": dict(template.defaults),
        "extra": dict(settings.extra),
        "out_dir": str(settings.out_dir),
        "cell_timeout": settings.cell_timeout,
        "drop_env": list(drop_env),
        "language": settings.language,
        "reuse": reuse,
    }


def _job_spec(job: AccountJob) -> dict[str, Any]:
    return {
        "account": job.account,
        "export": str(job.export),
        "aliexpress": str(job.aliexpress) if job.aliexpress else None,
        "folder": job.folder,
        "target": job.target,
        "ticket": job.ticket,
        "language": job.language,
    }


def _apply(run: AccountRun, future: Any, out_dir: Path) -> None:
    """Fill ``run`` from its finished task; save the executed notebook where a local run would."""
    if future.status != "finished":
        try:
            exc = future.exception()
        except BaseException as error:  # cancelled: no exception to ask for
            exc = error
        run.status = FAILED
        run.error = f"{type(exc).__name__}: {first_line(str(exc))}"
        return
    outcome = future.result()
    run.status, run.error = outcome["status"], outcome["error"]
    run.duration, run.result = outcome["duration"], outcome["result"]
    run.failed_cell = outcome["failed_cell"]
    run.failed_execution_count = outcome["failed_execution_count"]
    folder = out_dir / run.job.folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
        done_records.forget(folder)  # as locally: what an earlier run left is not done
        # The notebook first, then what the run wrote after it (its done-record).
        for name, data in outcome["files"]:
            write_atomically(folder / name, data)
            if name == outcome["notebook_name"]:
                run.notebook = folder / name
    except OSError as exc:
        run.status, run.error = FAILED, f"cannot save into {folder}: {exc.strerror}"


def _stop(client: Any, futures: dict[Any, AccountRun]) -> None:
    """Ctrl-C or SIGTERM: cancel what is left; running accounts are interrupted, the others not
    run."""
    try:
        running = {key for keys in client.processing().values() for key in keys}
    except Exception:
        running = set()
    for future, run in futures.items():
        if future.key in running:
            run.status, run.error = INTERRUPTED, "stopped by Ctrl-C"
        else:
            run.status = NOT_RUN
    with contextlib.suppress(Exception):
        client.cancel(list(futures), force=True)


__all__ = [
    "SCHEDULER_ENV",
    "KernelPools",
    "on_cluster",
    "run_account",
    "run_distributed",
    "transport_warning",
]
