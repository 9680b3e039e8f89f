"""``relink batch``: one notebook run per account, N at a time, and the summary of them all.

:mod:`~relink.batch.manifest` turns inputs (exports, folders, manifests) into accounts,
:mod:`~relink.batch.kernels` keeps warm forked kernels, :mod:`~relink.batch.runner` runs the
notebook per account (papermill's parameterisation and records) and
:mod:`~relink.batch.summary` writes the summary a team lead reads. It knows no audit rule: it
reads back what each notebook recorded.
"""

from relink.batch.manifest import AccountJob, collect_jobs
from relink.batch.runner import (
    COMPLETED,
    DEFAULT_NOTEBOOK,
    FAILED,
    AccountRun,
    BatchReport,
    run_batch,
)

__all__ = [
    "COMPLETED",
    "DEFAULT_NOTEBOOK",
    "FAILED",
    "AccountJob",
    "AccountRun",
    "BatchReport",
    "collect_jobs",
    "run_batch",
]
