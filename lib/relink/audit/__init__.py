"""The audit: which orders of an account block an unlink, and what clears each.

Pure pandas, no network I/O. :mod:`~relink.audit.statuses` holds the rules (DSers statuses,
AliExpress codes, what blocks, the actions that clear it), :mod:`~relink.audit.files` reads CSV
and XLSX files, :mod:`~relink.audit.exports` turns an export's rows into orders,
:mod:`~relink.audit.verdict` decides, and :mod:`~relink.audit.text` and
:mod:`~relink.audit.notebook` show the result to people.

::

    from relink.audit import audit, read_export
    result = audit(read_export("orders.csv"))
    result.safe, result.blockers
"""

from relink.audit.exports import AliExpressSide, Export, read_aliexpress, read_export
from relink.audit.verdict import SCHEMA_VERSION, AuditResult, audit

__all__ = [
    "SCHEMA_VERSION",
    "AliExpressSide",
    "AuditResult",
    "Export",
    "audit",
    "read_aliexpress",
    "read_export",
]
