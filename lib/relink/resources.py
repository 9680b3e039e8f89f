"""Where the files relink ships beside its code are: the notebooks and the API contract.

Each has one copy in the repository, at the top where people look for it
(``notebooks/audit.ipynb``, ``runbook/change_aliexpress_account.ipynb``, ``api/openapi.json``);
the build maps those folders into the package as ``relink.bundled_notebooks``,
``relink.bundled_runbook`` and ``relink.bundled_api`` (``[tool.setuptools.package-dir]`` in
``pyproject.toml``), so an installed wheel finds them with :mod:`importlib.resources`.

In a source checkout (``pip install -e .`` or ``PYTHONPATH=lib``) those data packages cannot be
imported: setuptools' editable finder only imports a mapped folder that has an ``__init__.py``,
and these hold data only. There the files are the checkout's own, which is exactly what the
mapping points at, so ``relink sandbox openapi`` (which writes ``CONTRACT_PATH``) writes the
repository's ``api/openapi.json`` there.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[2]  # the checkout, when relink runs from one


def bundled(package: str, folder: str, name: str) -> Path:
    """The file ``name`` of the data package ``package``, mapped from the repository's ``folder``.

    The packaged copy when relink is installed from a wheel; in a source checkout, the
    repository's file itself.
    """
    try:
        found = importlib.resources.files(f"relink.{package}").joinpath(name)
    except ModuleNotFoundError:
        return SOURCE_ROOT / folder / name
    return found if isinstance(found, Path) else Path(str(found))


AUDIT_NOTEBOOK = bundled("bundled_notebooks", "notebooks", "audit.ipynb")
RUNBOOK_NOTEBOOK = bundled("bundled_runbook", "runbook", "change_aliexpress_account.ipynb")
OPENAPI_CONTRACT = bundled("bundled_api", "api", "openapi.json")
