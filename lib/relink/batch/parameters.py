"""What a batch runs and with what: the notebook (:func:`load_template`), the ``-p`` parameters
(:func:`check_parameters`), the safeguards of a batch that changes accounts
(:func:`check_destructive`) and each account's own parameters (:func:`account_parameters`).

Nothing secret goes in as a parameter: :func:`check_parameters` refuses secret-looking names
and any value that holds a secret (:func:`secret_in`: ``RELINK_API_TOKEN`` anywhere in the
value, from the environment or the working directory's ``.env``, and the other secrets
:func:`relink.api.settings.known_secrets` knows), and :func:`check_account_values` does the same
for what a manifest gives each account (its name, target and ticket).

Nothing changes an account by accident: a batch whose notebook declares ``steps`` and will run
``unlink`` or ``relink`` (:func:`destructive_steps`) starts only with ``allow_destructive``
(``--allow-destructive``) and ``-p confirm true``, and only when every account comes from a
manifest naming its own target AliExpress account and ticket (:func:`check_destructive`).
Each account then gets its ``target_aliexpress_account`` and ``ticket`` from its manifest row.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from papermill.iorw import load_notebook_node
from papermill.translators import PythonTranslator

from relink.api.settings import SECRET_NAME, known_secrets, secret_in
from relink.batch.manifest import AccountJob
from relink.errors import BatchError
from relink.resources import AUDIT_NOTEBOOK, RUNBOOK_NOTEBOOK

DEFAULT_NOTEBOOK: Path = AUDIT_NOTEBOOK  # notebooks/audit.ipynb, packaged (relink.resources)
RUNBOOK_NOTEBOOK: Path = RUNBOOK_NOTEBOOK  # runbook/change_aliexpress_account.ipynb, packaged
ACCOUNT_PARAMETERS = ("export_path", "aliexpress_path", "account")  # set per account by batch
# Set per account from the manifest when the notebook declares them (the runbook does).
TICKET_PARAMETERS = ("target_aliexpress_account", "ticket")
DESTRUCTIVE_STEPS = frozenset({"unlink", "relink"})
_SECRET_NAME = SECRET_NAME


@dataclass(frozen=True)
class Template:
    """The notebook every account runs, outputs dropped, and its parameters' declared types."""

    path: Path
    notebook: NotebookNode
    declared: dict[str, str]
    defaults: dict[str, str] = field(default_factory=dict)  # each default's source text

    @property
    def changes_accounts(self) -> bool:
        """The notebook takes a target AliExpress account: it is the runbook, not an audit."""
        return "target_aliexpress_account" in self.declared


def load_template(path: str | Path) -> Template:
    """Load the notebook to run, with its stored outputs dropped (a run replaces them anyway).

    Raises:
        BatchError: the file is missing or not a notebook, has no ``parameters`` cell, is not a
            Python notebook, or does not declare the account parameters.
    """
    path = Path(path)
    if not path.is_file():
        hint = " (pass --notebook)" if path == DEFAULT_NOTEBOOK else ""
        raise BatchError(f"{path}: no such notebook{hint}")
    try:
        template = load_notebook_node(str(path))
    except Exception as exc:  # nbformat raises several unrelated types for a bad file
        raise BatchError(f"{path}: not a readable notebook ({type(exc).__name__})") from exc
    language = template.metadata.get("kernelspec", {}).get("language", "python")
    if language != "python":
        raise BatchError(f"{path}: relink batch runs Python notebooks, not {language}")
    tagged = [cell for cell in template.cells if "parameters" in cell.metadata.get("tags", [])]
    if not tagged:
        raise BatchError(f"{path}: no cell is tagged 'parameters'")
    # What `papermill --help-notebook` reads: the declared names, types and defaults.
    declared = {spec.name: spec for spec in PythonTranslator.inspect(tagged[0])}
    missing = [name for name in ACCOUNT_PARAMETERS if name not in declared]
    if missing:
        raise BatchError(f"{path}: its parameters cell lacks {', '.join(missing)}")
    for cell in template.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    types = {name: spec.inferred_type_name for name, spec in declared.items()}
    defaults = {name: spec.default for name, spec in declared.items()}
    return Template(path, template, types, defaults)


def check_parameters(
    template: Template, parameters: dict[str, str], *, destructive: bool = False
) -> dict[str, Any]:
    """Validate ``-p NAME VALUE`` pairs and convert each to the type its notebook declares.

    Raises:
        BatchError: a name is unknown to the notebook, set per account by batch (always for
            the account's files, in a ``destructive`` batch for its target and ticket), an
            override, or looks like a secret; a value holds a secret (:func:`secret_in`), or
            does not fit the type.
    """
    declared = template.declared
    converted: dict[str, Any] = {}
    secrets = known_secrets()
    for name, value in parameters.items():
        if name in ACCOUNT_PARAMETERS:
            raise BatchError(f"-p {name}: set per account by relink batch")
        if name not in declared:
            raise BatchError(f"-p {name}: the notebook has no such parameter")
        if destructive and name in TICKET_PARAMETERS:
            raise BatchError(
                f"-p {name}: per account, from the manifest (never one for the whole batch)"
            )
        if name.startswith("override"):
            raise BatchError(
                f"-p {name}: an override is decided for one ticket by a person, never in a batch"
            )
        where = secret_in(value, secrets)
        if _SECRET_NAME.search(name) or where:
            held = f" holds a secret (the value of {where});" if where else ""
            raise BatchError(
                f"-p {name}:{held} secrets never go in parameters (papermill writes them into "
                "the executed notebook and its report); the notebook reads them from the "
                "environment"
            )
        converted[name] = _convert(name, value, declared[name])
    return converted


def destructive_steps(template: Template, parameters: dict[str, str]) -> list[str]:
    """The steps that change an account (unlink, relink) the notebook will run; [] for none.

    Only a notebook that declares ``steps`` runs steps: those of ``-p steps``, else its
    default. A default that cannot be read as a literal counts as destructive.
    """
    if "steps" not in template.declared:
        return []
    if "steps" in parameters:
        steps: Any = parameters["steps"]
    else:
        try:
            steps = ast.literal_eval(template.defaults.get("steps") or "''")
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return sorted(DESTRUCTIVE_STEPS)  # unknown: assume the worst
    names = re.split(r"[\s,]+", steps) if isinstance(steps, str) else list(steps or [])
    found = [str(n).strip().lower() for n in names]
    return [name for name in dict.fromkeys(found) if name in DESTRUCTIVE_STEPS]


def check_destructive(
    template: Template,
    parameters: dict[str, str],
    jobs: Sequence[AccountJob],
    *,
    allow_destructive: bool = False,
) -> list[str]:
    """Refuse a batch that would change accounts without every safeguard; return its steps.

    A destructive batch (:func:`destructive_steps`) needs ``allow_destructive``, a notebook
    that takes ``target_aliexpress_account`` and ``ticket``, ``-p confirm true`` (when the
    notebook declares ``confirm``), and every account from a manifest with its own target and
    ticket, each account once.

    Raises:
        BatchError: one safeguard is missing; the message names the account and its row.
    """
    steps = destructive_steps(template, parameters)
    if not steps:
        return []
    what = f"steps {','.join(steps)} change accounts"
    if not allow_destructive:
        raise BatchError(f"{what}: pass --allow-destructive (and -p confirm true) to run them")
    lacking = [name for name in TICKET_PARAMETERS if name not in template.declared]
    if lacking:
        raise BatchError(
            f"{what}, but {template.path.name} takes no {' nor '.join(lacking)} parameter: "
            "batch could not give each account its own target and ticket from the manifest"
        )
    confirm = parameters.get("confirm", "")
    if "confirm" in template.declared and confirm.strip().lower() not in {"true", "1", "yes"}:
        raise BatchError(f"{what}: pass -p confirm true as well as --allow-destructive")
    accounts: dict[str, AccountJob] = {}
    for job in jobs:
        if not job.from_manifest:
            raise BatchError(
                f"{job.account} ({job.export.name}): {what}, so every account must come from a "
                "manifest naming its target and ticket, not from a plain export or folder"
            )
        missing = [key for key in ("target", "ticket") if not getattr(job, key)]
        if missing:
            raise BatchError(
                f"{job.source} (account {job.account}): no {' and no '.join(missing)}; {what}, "
                "so each account needs its own target AliExpress account and ticket"
            )
        if job.account in accounts:
            raise BatchError(
                f"{job.source}: account {job.account} is listed twice (also at "
                f"{accounts[job.account].source}): one ticket per account per batch"
            )
        accounts[job.account] = job
    return steps


def account_parameters(
    job: AccountJob, template: Template, extra: dict[str, Any]
) -> dict[str, Any]:
    """The parameters one account's run gets: its files and name, ``-p``, its ticket."""
    parameters = {
        "export_path": str(job.export),
        "aliexpress_path": str(job.aliexpress or ""),
        "account": job.account,
        **extra,
    }
    for name, value in (("target_aliexpress_account", job.target), ("ticket", job.ticket)):
        if name in template.declared and value:
            parameters[name] = value  # the manifest's, for this account
    return parameters


def check_account_values(jobs: Sequence[AccountJob]) -> None:
    """Refuse an account whose name, target or ticket (the parameters batch sets per account
    from a manifest or a file name) holds a secret (:func:`secret_in`).

    Raises:
        BatchError: one line naming the account's entry and the setting, never the value.
    """
    secrets = known_secrets()
    for job in jobs:
        for what in ("account", "target", "ticket"):
            where = secret_in(getattr(job, what), secrets)
            if where:
                raise BatchError(
                    f"{job.source or job.export}: its {what} holds a secret (the value of "
                    f"{where}): batch writes it into the account's notebook"
                )


def _convert(name: str, value: str, type_name: str) -> Any:
    try:
        if type_name == "int":
            return int(value)
        if type_name == "float":
            return float(value)
    except ValueError:
        raise BatchError(f"-p {name}: {value!r} is not a {type_name}") from None
    if type_name == "bool":
        if value.lower() not in {"true", "false", "1", "0", "yes", "no"}:
            raise BatchError(f"-p {name}: {value!r} is not true or false")
        return value.lower() in {"true", "1", "yes"}
    return value
