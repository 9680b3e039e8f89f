"""``relink batch --resume``: skip the accounts a previous batch into the same folder finished.

After an account's executed notebook is written (atomically: :func:`write_notebook`), its
*done-record* ``DIR/<account>/.relink-run.json`` is written (atomically too), holding:

- ``inputs``: a SHA-256 over what the run depends on: the export's and the AliExpress file's
  bytes, the notebook's bytes, the account's parameters (``-p`` included) and relink's version;
- ``notebook_sha256``: the executed notebook's bytes as written;
- the run's status, duration and error.

An account is *done* (:func:`restore`) when its record says ``completed``, its ``inputs`` hash
matches the inputs of this batch, and its notebook is there with exactly the recorded bytes.
Its result is then read back from that notebook. Anything else (no record, a failed or
interrupted run, a changed input, a notebook half written when the batch was killed, or
edited since) runs again. Since the record is written only after the whole notebook is in
place, a batch killed at any instant (even ``kill -9``) leaves no account that looks done but
is not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from relink.atomic_files import write_atomically

RECORD_NAME = ".relink-run.json"
SCHEMA_VERSION = 1
_CHUNK = 1 << 20


def record_path(folder: Path) -> Path:
    return folder / RECORD_NAME


def inputs_hash(
    export: Path, aliexpress: Path | None, notebook: Path, parameters: Mapping[str, Any]
) -> str:
    """SHA-256 (hex) of everything an account's run depends on.

    Raises:
        OSError: a file cannot be read.
    """
    from relink import __version__

    digest = hashlib.sha256()
    for label, path in (("export", export), ("aliexpress", aliexpress), ("notebook", notebook)):
        digest.update(f"\0{label}\0".encode())
        if path is not None:
            digest.update(_file_hash(path).encode())
    digest.update(b"\0parameters\0")
    digest.update(json.dumps(dict(parameters), sort_keys=True, default=str).encode())
    digest.update(f"\0relink\0{__version__}".encode())
    return digest.hexdigest()


def write_notebook(nb: Any, path: Path) -> str:
    """Write an executed notebook atomically; return the SHA-256 of its bytes."""
    import nbformat

    text = nbformat.writes(nb)
    data = (text if text.endswith("\n") else text + "\n").encode("utf-8")  # as nbformat.write
    write_atomically(path, data)
    return hashlib.sha256(data).hexdigest()


def write_record(folder: Path, **fields: Any) -> None:
    """Write the account's done-record (atomically), after its notebook."""
    record = {"schema_version": SCHEMA_VERSION, **fields}
    data = json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n"
    write_atomically(record_path(folder), data.encode("utf-8"))


def forget(folder: Path) -> None:
    """Remove an account's done-record before it runs again, and the temporary files of a
    write a ``kill -9`` cut short (:func:`~relink.atomic_files.write_atomically`'s)."""
    record_path(folder).unlink(missing_ok=True)
    clear_leftovers(folder)


def clear_leftovers(folder: Path) -> None:
    """Remove the temporary files of writes a ``kill -9`` cut short in an account's folder:
    also in a done account's, whose messages and report are written after its done-record."""
    for leftover in folder.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)


def restore(folder: Path, notebook_name: str, inputs: str) -> dict[str, Any] | None:
    """The record of a finished run whose inputs are ``inputs`` and notebook is intact, or None.

    The returned record also holds ``result`` (read back from the notebook) and
    ``notebook_path``.
    """
    from relink.display import read_record

    try:
        record = json.loads(record_path(folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("schema_version") != SCHEMA_VERSION:
        return None
    if record.get("status") != "completed" or record.get("inputs") != inputs:
        return None
    if record.get("notebook") != notebook_name:
        return None
    notebook = folder / notebook_name
    try:
        if _file_hash(notebook) != record.get("notebook_sha256"):
            return None  # half written when the batch was killed, or changed since
        result = read_record(notebook)
    except Exception:  # unreadable: run it again
        return None
    if not result:
        return None
    return {**record, "result": result, "notebook_path": notebook}


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
