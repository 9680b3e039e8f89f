"""Files that are never half-written: the old one or the whole new one, even across a crash.

Every writer whose file someone else may read meanwhile (a browser reloading a page, a second
``relink open``, a batch resumed after a kill) goes through :func:`write_atomically`. It writes
a temporary file of its own in the same folder (each writer a name of its own, so two writers
at once never rename each other's half), flushes and fsyncs it, renames it over the target,
then fsyncs the folder so that the rename itself survives a power cut. With ``exclusive``, the
temporary file is linked in place instead of renamed, which fails if the name exists: of two
writers at once, one wins and the other is told.

A desk may be shared by a team (one folder on a shared disk, a JupyterHub): what relink writes
there is the team group's to read and write, never anyone else's. Files get
:data:`SHARED_FILE_MODE` and folders :data:`SHARED_FOLDER_MODE` (setgid: what is made inside
keeps the folder's group, so a desk whose folder belongs to the team's group stays the team's),
set with chmod so that the user's umask cannot take the group's write away.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

SHARED_FILE_MODE = 0o660  # the desk's files: owner and group read and write, others nothing
SHARED_FOLDER_MODE = 0o2770  # the desk's folders: the same, setgid (new entries keep the group)

# The mode open() would give a new file; mkstemp's own is 0600. Read once, at import.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def write_atomically(
    path: str | Path, data: bytes | str, *, mode: int | None = None, exclusive: bool = False
) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` whole, and return ``path``.

    Args:
        mode: the file's permission bits [default: as ``open()`` would create it].
        exclusive: fail if ``path`` exists instead of replacing it.

    Raises:
        FileExistsError: ``exclusive`` and ``path`` exists (nothing was written).
        OSError: the folder cannot be written; ``path`` is left as it was.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, (0o666 & ~_UMASK) if mode is None else mode)
        with os.fdopen(fd, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        if exclusive:
            os.link(temporary, path)
        else:
            os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)  # after a link, or when writing failed
    fsync_folder(path.parent)
    return path


def fsync_folder(folder: str | Path) -> None:
    """Make the folder's entries (a new or renamed file's name) durable; where the system
    cannot open a folder (Windows), the files' own fsync is all there is."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def share_folder(folder: str | Path) -> None:
    """Give ``folder`` :data:`SHARED_FOLDER_MODE`; a folder this user does not own is left as
    it is (its owner chose)."""
    with contextlib.suppress(PermissionError):
        os.chmod(folder, SHARED_FOLDER_MODE)


def make_shared_folders(folder: str | Path) -> Path:
    """Create ``folder`` and its missing parents, each made :func:`share_folder`'s way; folders
    that exist are left as they are. Returns ``folder``.

    Raises:
        OSError: a folder cannot be created.
    """
    folder = Path(folder)
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        try:
            candidate.mkdir()
        except FileExistsError:
            continue  # made meanwhile by another writer: theirs
        share_folder(candidate)
    return folder


def open_shared(path: str | Path, flags: int) -> int:
    """``os.open(path, flags | O_CREAT)`` whose new file gets :data:`SHARED_FILE_MODE` whatever
    the umask (an existing file keeps its mode). Returns the descriptor.

    Raises:
        OSError: the file cannot be opened or created.
    """
    try:
        return os.open(path, flags)
    except FileNotFoundError:
        pass
    fd = os.open(path, flags | os.O_CREAT, SHARED_FILE_MODE)
    with contextlib.suppress(PermissionError):
        os.fchmod(fd, SHARED_FILE_MODE)
    return fd
