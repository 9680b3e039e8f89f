"""relink batch --scheduler: the accounts as tasks on a Dask cluster on loopback.

A ``dask scheduler`` and two ``dask worker`` processes (one thread each, no nanny, so a killed
worker stays dead) on 127.0.0.1, started and stopped by the fixtures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import psutil
import pytest

pytest.importorskip("distributed")
from relink.samples import BUNDLED_DIR

pytestmark = pytest.mark.slow  # a cluster of three processes per test

BIN = Path(sys.executable).parent


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in reversed(processes):
        if process.poll() is None:
            family = psutil.Process(process.pid).children(recursive=True)
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for child in family:  # fork servers and kernels, if any outlived their worker
                if child.is_running():
                    child.kill()


class Cluster:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.address = ""

    def start(self) -> None:
        folder = self.folder
        scheduler_file = folder / "scheduler.json"
        self._spawn(
            ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
            scheduler_file,
            "scheduler",
        )
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            assert time.monotonic() < deadline, (folder / "scheduler.log").read_text()
            time.sleep(0.1)
        time.sleep(0.2)  # written in one go, but be sure it is complete
        self.address = json.loads(scheduler_file.read_text())["address"]
        for number in (1, 2):
            self.workers.append(
                self._spawn(
                    [
                        "worker",
                        "--host",
                        "127.0.0.1",
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--name",
                        f"w{number}",
                    ],
                    scheduler_file,
                    f"worker-{number}",
                )
            )
        self._wait_for_workers(2)

    def _spawn(self, arguments: list[str], scheduler_file: Path, name: str) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("wb")
        command = [BIN / "dask", *arguments, "--scheduler-file", scheduler_file]
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.append(process)
        return process

    def _wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout="30s", set_as_default=False) as client:
            client.wait_for_workers(count, timeout=60)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    folder = tmp_path / "cluster"
    folder.mkdir()
    started = Cluster(folder)
    try:
        started.start()
        yield started
    finally:
        _stop(started.processes)


def batch(*arguments: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN / "relink", "batch", *arguments],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )


def comparable(out: Path) -> dict:
    document = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in ("started", "finished", "workers"):
        document.pop(key)
    for account in document["accounts"]:
        account.pop("duration_s")
    return document


def test_a_dask_run_summarises_as_a_local_run(cluster: Cluster, tmp_path: Path) -> None:
    manifest = BUNDLED_DIR / "manifest.csv"
    local = batch(manifest, "--out", tmp_path / "local", "--workers", "2")
    assert local.returncode == 0, local.stderr
    env = {**os.environ, "RELINK_DASK_SCHEDULER": cluster.address}  # the flag's variable
    remote = batch(manifest, "--out", tmp_path / "dask", env=env)
    assert remote.returncode == 0, remote.stderr
    assert f"Dask scheduler {cluster.address}, 2 worker(s)" in remote.stderr
    assert remote.stderr.count("/6] ") == 6 and "Traceback" not in remote.stderr
    assert remote.stdout.splitlines()[0] == local.stdout.splitlines()[0]
    assert comparable(tmp_path / "dask") == comparable(tmp_path / "local")
    for account in json.loads((tmp_path / "local" / "summary.json").read_text())["accounts"]:
        executed = nbformat.read(tmp_path / "dask" / account["notebook"], as_version=4)
        papermill = executed.metadata.papermill
        assert papermill.output_path == str(tmp_path / "dask" / account["notebook"])
        assert papermill.parameters["account"] == account["account"]


SLOW_CELLS = [
    'export_path: str = ""\naliexpress_path: str = ""\naccount: str = ""\nmarkers: str = ""',
    "import os, pathlib, time\n\nfrom relink.audit import notebook\n\n"
    "pathlib.Path(markers, account).write_text(str(os.getpid()))\n"
    "run = notebook.open_audit(export_path, aliexpress_path, account)\n"
    "time.sleep(2)",
    "notebook.record_audit(run)",
]


def test_a_killed_worker_loses_no_account(cluster: Cluster, fixture_accounts, tmp_path) -> None:
    cells = [nbformat.v4.new_code_cell(source) for source in SLOW_CELLS]
    cells[0].metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    nbformat.write(notebook, tmp_path / "slow.ipynb")
    accounts = [f"acct-{number}" for number in range(6)]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("account,export\n" + "".join(f"{a},safe.csv\n" for a in accounts))
    markers = tmp_path / "markers"
    markers.mkdir()
    out = tmp_path / "out"
    command = [BIN / "relink", "batch", manifest, "--out", out, "--notebook"]
    command += [tmp_path / "slow.ipynb", "-p", "markers", markers, "--scheduler", cluster.address]
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        victim = psutil.Process(cluster.workers[0].pid)
        deadline = time.monotonic() + 90
        # Kill worker 1 while one of its kernels is inside the notebook's slow cell.
        while True:
            assert time.monotonic() < deadline and running.poll() is None, running.stderr
            kernels = {child.pid for child in victim.children(recursive=True)}
            busy = [
                marker.name
                for marker in markers.iterdir()
                if marker.read_text()
                and int(marker.read_text()) in kernels
                and not (out / marker.name / "slow.ipynb").exists()
            ]
            if busy:
                break
            time.sleep(0.05)
        victim.kill()
        stdout, stderr = running.communicate(timeout=180)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 0, stderr
    assert "6 account(s): 6 audited" in stdout
    rows = json.loads((out / "summary.json").read_text(encoding="utf-8"))["accounts"]
    assert [row["account"] for row in rows] == accounts  # each exactly once, in input order
    assert {row["status"] for row in rows} == {"completed"}
    assert busy[0] in accounts  # that account ran again on the other worker
    assert (out / busy[0] / "slow.ipynb").exists()


def test_a_failing_notebook_is_a_failed_row(cluster: Cluster, fixture_accounts, tmp_path) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        f"account,export\nbroken,{fixture_accounts['broken']}\nsafe,{fixture_accounts['safe']}\n"
    )
    out = tmp_path / "out"
    failed = batch(manifest, "--out", out, "--scheduler", cluster.address, "--allow-outside-paths")
    assert failed.returncode == 1, failed.stderr
    assert "relink batch: broken failed at In [" in failed.stderr
    rows = {
        row["account"]: row for row in json.loads((out / "summary.json").read_text())["accounts"]
    }
    assert rows["broken"]["status"] == "failed" and rows["broken"]["error"].startswith(
        "ExportError"
    )
    assert rows["safe"]["status"] == "completed"
    partial = nbformat.read(out / rows["broken"]["notebook"], as_version=4)
    assert partial.cells[0].metadata.tags == ["papermill-error-cell-tag"]


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path: Path) -> None:
    refused = batch(
        BUNDLED_DIR / "manifest.csv", "--out", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9"
    )
    assert refused.returncode == 2 and "cannot reach the Dask scheduler" in refused.stderr
    assert "Traceback" not in refused.stderr
