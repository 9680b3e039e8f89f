"""relink batch --scheduler tls://: the README's TLS recipe works, on a cluster on loopback.

A ``dask scheduler`` and one ``dask worker`` on 127.0.0.1 with a self-signed certificate
(openssl), and relink given the client's certificates through Dask's configuration variables.
The warning for a plain scheduler off the machine is tests/unit/test_batch_hostile.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

pytest.importorskip("distributed")
from relink.samples import BUNDLED_DIR

pytestmark = pytest.mark.slow  # a scheduler and a worker

BIN = Path(sys.executable).parent
TLS_OPTIONS = ("--tls-ca-file", "cert.pem", "--tls-cert", "cert.pem", "--tls-key", "key.pem")


@pytest.fixture
def tls_cluster(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(the scheduler's tls:// address, the folder holding cert.pem and key.pem)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl makes the test's certificate")
    folder = tmp_path / "cluster"
    folder.mkdir()
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", "key.pem", "-out", "cert.pem", "-subj", "/CN=relink-test"),
        ],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    processes: list[subprocess.Popen] = []

    def spawn(*arguments: str) -> None:
        with (folder / f"{arguments[0]}.log").open("wb") as log:
            command = [BIN / "dask", *arguments, "--host", "127.0.0.1", "--no-dashboard"]
            processes.append(
                subprocess.Popen([*command, *TLS_OPTIONS], cwd=folder, stdout=log, stderr=log)
            )

    try:
        spawn("scheduler", "--port", "0", "--protocol", "tls", "--scheduler-file", "s.json")
        deadline = time.monotonic() + 60
        while not (folder / "s.json").exists():  # written once the scheduler listens
            assert time.monotonic() < deadline, (folder / "scheduler.log").read_text()
            time.sleep(0.1)
        spawn("worker", "--scheduler-file", "s.json", "--nthreads", "1", "--no-nanny")
        for _ in range(600):
            try:
                address = json.loads((folder / "s.json").read_text())["address"]
                break
            except ValueError:  # caught mid-write
                time.sleep(0.1)
        yield address, folder
    finally:
        for process in reversed(processes):
            family = psutil.Process(process.pid).children(recursive=True)
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
            for child in family:
                if child.is_running():
                    child.kill()


def test_a_tls_scheduler_with_the_configured_certificates(tls_cluster, tmp_path: Path) -> None:
    address, folder = tls_cluster
    assert address.startswith("tls://127.0.0.1:")
    export = BUNDLED_DIR / "fjord-kitchen.csv"
    command = [BIN / "relink", "batch", export, "--scheduler", address]
    bare = {k: v for k, v in os.environ.items() if not k.startswith("DASK_DISTRIBUTED__COMM")}

    refused = subprocess.run(
        [*command, "--out", tmp_path / "none"], capture_output=True, text=True, env=bare
    )
    assert refused.returncode == 2 and refused.stdout == "", refused.stderr
    assert refused.stderr.count("\n") == 1 and "TLS needs the client's certificates" in (
        refused.stderr
    )
    env = {
        **bare,
        "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(folder / "cert.pem"),
        "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(folder / "cert.pem"),
        "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(folder / "key.pem"),
    }
    done = subprocess.run(
        [*command, "--out", tmp_path / "out"], capture_output=True, text=True, env=env, timeout=240
    )
    assert done.returncode == 0, done.stderr
    assert f"Dask scheduler {address}" in done.stderr and "warning" not in done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert [row["status"] for row in summary["accounts"]] == ["completed"]
