"""The papermill engine ``relink``, and every papermill function relink batch uses.

:class:`RelinkEngine` is a :class:`papermill.engines.Engine` registered under the
``papermill.engine`` entry point (pyproject.toml), so ``papermill --engine relink IN OUT`` and
``papermill.execute_notebook(..., engine_name="relink")`` run it too. It executes the notebook
with nbclient's public :class:`~nbclient.NotebookClient` on a kernel manager the caller already
started (``km=``, as nbclient's constructor takes it), or on a kernel nbclient starts itself
when there is none, and reports every cell to papermill's execution manager as the engine API
asks (``cell_start``, ``cell_exception``, ``cell_complete``): the executed notebook carries
papermill's metadata, exactly as papermill's own nbclient engine writes it.

``relink batch`` awaits :meth:`RelinkEngine.async_execute_notebook` (the coroutine under
papermill's synchronous ``execute_notebook``), so several accounts run on one event loop. The
rest of papermill relink uses (loading a notebook, its parameters, the injected-parameters
cell, the input and output paths, the error markers) is papermill's public functions, imported
by :mod:`relink.batch.runner`; pyproject.toml pins papermill below its next major version.
"""

from __future__ import annotations

import copy
import logging
import weakref
from typing import Any

from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode

# Only papermill.engines at import time: papermill imports this module from its entry point
# while papermill.execute is still importing (the functions below import theirs when called).
from papermill.engines import Engine, NotebookExecutionManager

NAME = "relink"  # the entry point's name: papermill --engine relink
RUNNING = NotebookExecutionManager.RUNNING  # a cell's papermill status while it runs
_log = logging.getLogger("relink.batch.engine")

__all__ = ["NAME", "RUNNING", "RelinkEngine", "parameterize"]


class RelinkEngine(Engine):
    """papermill's nbclient engine, able to run on a kernel the caller started (``km=``)."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: NotebookExecutionManager,
        kernel_name: str,
        km: Any = None,
        execution_timeout: float | None = None,
        start_timeout: float = 60,
        **kwargs: Any,
    ) -> NotebookNode:
        """The engine API's entry point (what ``papermill.execute_notebook`` calls)."""
        run = run_sync(cls.async_execute_managed_notebook)
        return run(
            nb_man,
            kernel_name,
            km=km,
            timeout=execution_timeout or kwargs.get("timeout"),
            startup_timeout=start_timeout,
        )

    @classmethod
    async def async_execute_notebook(
        cls,
        nb: NotebookNode,
        kernel_name: str,
        *,
        km: Any = None,
        kc: Any = None,
        timeout: float | None = None,
        startup_timeout: float = 60,
    ) -> NotebookNode:
        """:meth:`Engine.execute_notebook`, awaitable, without saving (the caller saves).

        ``nb`` is executed in place: after an exception it holds what ran. ``kc``: a started
        client of ``km``'s kernel to use (and leave open), instead of a new one.
        """
        nb_man = NotebookExecutionManager(nb, output_path=None, progress_bar=False)
        nb_man.notebook_start()
        try:
            await cls.async_execute_managed_notebook(
                nb_man,
                kernel_name,
                km=km,
                kc=kc,
                timeout=timeout,
                startup_timeout=startup_timeout,
            )
        finally:
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    async def async_execute_managed_notebook(
        cls,
        nb_man: NotebookExecutionManager,
        kernel_name: str,
        *,
        km: Any = None,
        kc: Any = None,
        timeout: float | None = None,
        startup_timeout: float = 60,
    ) -> NotebookNode:
        """Run every cell on ``km``'s kernel (a new one without ``km``); stop at an error.
        ``kc``: a started client of ``km``'s kernel, used and left open."""
        client = NotebookClient(
            nb_man.nb,
            km=km,
            kernel_name=kernel_name,
            timeout=timeout,
            startup_timeout=startup_timeout,
            raise_on_iopub_timeout=True,
            log=_log,
        )
        if km is None:  # nbclient starts a kernel, and shuts it down afterwards
            async with client.async_setup_kernel():
                await _run_cells(nb_man, client)
            return nb_man.nb
        if kc is not None:  # the pool's client of a reused kernel: it stays open
            client.kc = kc
            await _run_cells(nb_man, client)
            return nb_man.nb
        kc = await client.async_start_new_kernel_client()
        try:
            await _run_cells(nb_man, client)
        finally:
            kc.stop_channels()
        return nb_man.nb


async def _run_cells(nb_man: NotebookExecutionManager, client: NotebookClient) -> None:
    """The engine contract: every cell through the manager's callbacks, up to the first error."""
    nb = nb_man.nb
    client.reset_execution_trackers()
    for index, cell in enumerate(nb.cells):
        try:
            nb_man.cell_start(cell, index)
            await client.async_execute_cell(cell, index)
        except CellExecutionError as exc:
            nb_man.cell_exception(nb.cells[index], cell_index=index, exception=exc)
            break
        finally:
            nb_man.cell_complete(nb.cells[index], cell_index=index)
    language_info = await _language_info(client)
    if language_info is not None:
        nb.metadata["language_info"] = copy.deepcopy(language_info)
    client.set_widgets_metadata()


# A reused kernel's language (a kernel_info round trip per account otherwise): by client.
_LANGUAGE_INFO: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


async def _language_info(client: NotebookClient) -> dict[str, Any] | None:
    """The kernel's ``language_info``, asked once per kernel client."""
    known = _LANGUAGE_INFO.get(client.kc)
    if known is not None:
        return known
    reply = await client.async_wait_for_reply(client.kc.kernel_info())
    if not reply:
        return None
    _LANGUAGE_INFO[client.kc] = reply["content"]["language_info"]
    return reply["content"]["language_info"]


def parameterize(
    nb: NotebookNode, parameters: dict[str, Any], *, input_path: str, output_path: str
) -> NotebookNode:
    """papermill's injected-parameters cell and its input and output paths, as papermill does."""
    from papermill.execute import prepare_notebook_metadata
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(nb, parameters, kernel_name="python3", language="python")
    return prepare_notebook_metadata(nb, input_path, output_path)
