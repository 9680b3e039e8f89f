"""The audit: which orders of an account block an unlink, and what clears each.

No network I/O: it reads files and decides, column-wise with numpy, pandas and pyarrow (CSV
through pyarrow's reader, pandas' as the fallback; XLSX through python-calamine); Jinja2
words the merchant's message and Pillow draws the notebook's charts.
:mod:`~relink.audit.statuses` holds the vocabulary (DSers statuses, AliExpress codes, the
actions that clear a blocker), :mod:`~relink.audit.classification` the one rule of what a
part of an order means for an unlink (also the live audit's and the sandbox's),
:mod:`~relink.audit.files` reads CSV and XLSX files, :mod:`~relink.audit.exports` turns an
export's rows into orders, :mod:`~relink.audit.verdict` decides, and
:mod:`~relink.audit.text` and :mod:`~relink.audit.notebook` show the result to people.

::

    from relink.audit import audit, read_export
    result = audit(read_export("orders.csv"))
    result.safe, result.blockers
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use (PEP 562): importing any of the audit's modules runs this file, and the
# desk's commands (relink tickets, recheck) read only its vocabulary, never pandas.
_WHERE = {
    "AliExpressSide": "relink.audit.exports",
    "Export": "relink.audit.exports",
    "read_aliexpress": "relink.audit.exports",
    "read_export": "relink.audit.exports",
    "SCHEMA_VERSION": "relink.audit.verdict",
    "AuditResult": "relink.audit.verdict",
    "audit": "relink.audit.verdict",
}

__all__ = [
    "SCHEMA_VERSION",
    "AliExpressSide",
    "AuditResult",
    "Export",
    "audit",
    "read_aliexpress",
    "read_export",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'relink.audit' has no attribute {name!r}")
