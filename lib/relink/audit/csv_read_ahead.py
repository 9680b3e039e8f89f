"""A CSV export's first pass, started in a thread before pandas is imported.

``relink audit`` spends about a third of a second importing pandas; Arrow's read of the export
(and the whole file's UTF-8 check before it) runs in C++ with the GIL released. So the command
starts :func:`relink.audit.csv_layout.first_pass` here, in a thread, then imports the rest of
the audit; :func:`relink.audit.csv_reader.read_csv` takes the finished pass instead of running
it. The pass is the same code either way: the read ahead only moves when it runs.

Nothing is decided here. The file's kind is told again by :func:`relink.audit.files.read_table`
in the usual order (a missing file, a workbook, a legacy ``.xls``: the same errors as
without the read ahead); the pass's result, or the error it raised, is taken only when that
read reaches the CSV reader, for the same file, the same first bytes and the same columns.
An error the thread caught is raised there, in the reader's thread, as if raised there.
Only a regular file is read ahead: a pipe or a device can be read once only.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa

from relink.audit.column_specs import ColumnSpec
from relink.audit.csv_layout import SAMPLE_BYTES, CsvLayout, first_pass


class CsvReadAhead:
    """The first pass over ``path`` for the columns ``specs``, running in a thread of its own.

    A daemon thread: a command that stops early (a bad option) does not wait for it.
    """

    def __init__(self, path: str | Path, specs: tuple[ColumnSpec, ...]) -> None:
        self.path = Path(path)
        self.specs = specs
        self._head: bytes | None = None  # None: nothing was read ahead
        self._done: tuple[CsvLayout, pa.Table | None] | None = None
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="relink-read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            if not self.path.is_file():
                return  # a pipe or a device: read once, by read_table, as it always was
            with self.path.open("rb") as handle:
                head = handle.read(SAMPLE_BYTES)
        except OSError:
            return  # nothing read ahead: read_table says why, as it always has
        self._head = head
        try:
            self._done = first_pass(self.path, head, self.specs)
        except Exception as exc:  # raised again where the result is taken
            self._error = exc

    def wait(self) -> None:
        """Wait for the thread: a command that ends without taking the result (its file refused
        for another reason) does not exit while Arrow reads in the thread."""
        self._thread.join()

    def result(
        self, path: Path, head: bytes, specs: tuple[ColumnSpec, ...]
    ) -> tuple[CsvLayout, pa.Table | None] | None:
        """The pass's result once it has finished (waiting for it), or ``None`` when it was
        not for this read (another file, other first bytes, other columns): read it now.

        Raises:
            Exception: whatever the pass raised (an :class:`~relink.errors.ExportError`, a
                ``MemoryError``), raised again here.
        """
        self._thread.join()
        if self._head != head or Path(path) != self.path or specs is not self.specs:
            return None
        if self._error is not None:
            raise self._error
        return self._done
