"""``relink batch``: one notebook run per account, N at a time, and the summary of them all.

:mod:`~relink.batch.manifest` turns inputs (exports, folders, manifests) into accounts,
:mod:`~relink.batch.kernels` keeps warm kernels (forked by :mod:`~relink.batch.fork_server`
through the :mod:`~relink.batch.provisioner` kernel provisioner, or standard ones),
:mod:`~relink.batch.parameters` checks the notebook and its parameters,
:mod:`~relink.batch.runner` runs the notebook per account (papermill's parameterisation and
records, the :mod:`~relink.batch.engine` papermill engine; :mod:`~relink.batch.distributed` the
same on a Dask cluster, :mod:`~relink.batch.resume` the done-records of ``--resume``,
:mod:`~relink.batch.stopping` what Ctrl-C and SIGTERM do), and :mod:`~relink.batch.runs` holds
what became of each run. The summary, :mod:`relink.batch.summary`,
is what a team lead reads: the summary files and page, the plan of safe dates and export
warnings, the calendar, each account's report and merchant message, and what the command prints
at the end (its public names: ``write_summary``, ``load_previous``, ``terminal_report``...). It
knows no audit rule: it reads back what each notebook recorded.

The names below are imported on first use: papermill loads its ``relink`` engine
(:mod:`relink.batch.engine`) from its entry point while papermill itself is still importing,
so importing this package must not import papermill's other modules.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# Set in the batch's helper processes (relink.batch_helpers): the kernels' fork server while it
# imports, and the report process.
from relink.batch_helpers import FORK_SERVER_ENV, REPORT_PROCESS_ENV, skip_iri_grammar

# papermill first: importing it loads its engines' entry points, ours included, which needs
# nothing from papermill but ``papermill.engines`` (defined by then). Not in the helper
# processes: the fork server imports only relink.batch.fork_server, and papermill (nbformat,
# jsonschema: 1 to 2 s of CPU) would delay the batch's first kernel; the report process needs
# nbformat and nbconvert only, and nbformat without jsonschema's IRI grammar.
if os.environ.get(REPORT_PROCESS_ENV) == "1":
    skip_iri_grammar()
elif os.environ.get(FORK_SERVER_ENV) != "1":
    import papermill  # noqa: F401

_EXPORTS = {
    "AccountJob": "relink.batch.manifest",
    "collect_jobs": "relink.batch.manifest",
    "collect_inputs": "relink.batch.manifest",
    "COMPLETED": "relink.batch.runs",
    "DEFAULT_NOTEBOOK": "relink.batch.parameters",
    "FAILED": "relink.batch.runs",
    "AccountRun": "relink.batch.runs",
    "BatchReport": "relink.batch.runs",
    "run_batch": "relink.batch.runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
