"""The analyst's desk: one folder and one runbook notebook per ticket (``relink open``).

The packaged runbook (:data:`relink.resources.RUNBOOK_NOTEBOOK`) is a template: running it in
place would store one account's outputs in the tracked file. :func:`open_ticket_folder` copies
it instead into ``DESK/<account>/<ticket>/<ticket>.ipynb`` with the ticket's values written
into its ``parameters`` cell, and the ticket's journal beside it (``journal.jsonl``). Folder
names are :func:`relink.filenames.safe_name` of the ids; the folder's ``ticket.json`` records
which ticket it holds, so two ids that make one folder name are told apart and refused.

Which ticket: the one named, else the desk's latest ticket of the account for the same target
(opening the same change twice never starts a second one), else a new id as
:func:`relink.runbook.tickets.choose_ticket` makes them (``PRACTICE-n`` on the embedded
sandbox). A practice ticket's journal is kept beside its notebook too, so ``relink journal``
shows the practice afterwards; as the embedded sandbox lives only as long as its kernel, a
practice ticket whose notebook has been run (or whose journal has entries: the app never saves
the notebook) is over, and opening the same change again starts the next one
(``PRACTICE-2``...).

Opening again reuses the folder; a notebook that has been run (it has outputs) is never
overwritten: it is the ticket's record. Secrets never become parameters: the kernels read
``RELINK_API_URL``/``RELINK_API_TOKEN`` from their environment, which the servers of
:mod:`relink.desk.app` hand them (JupyterLab for ``relink open``, Voilà for ``relink app``).
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relink.api.settings import api_settings, known_secrets, secret_in
from relink.atomic_files import (
    SHARED_FILE_MODE,
    fsync_folder,
    make_shared_folders,
    share_folder,
    write_atomically,
)
from relink.desk.accounts import check_account
from relink.desk.ticket_language import checked_language, set_language, ticket_language
from relink.display import visible
from relink.errors import InputError
from relink.filenames import safe_name
from relink.resources import RUNBOOK_NOTEBOOK
from relink.runbook import journal as jr
from relink.runbook.options import DEFAULT_OPTIONS, TicketOptions
from relink.runbook.tickets import choose_ticket

DESK_VARIABLE = "RELINK_DESK"
DEFAULT_DESK = Path("desk")
RECORD_NAME = "ticket.json"  # which ticket a folder holds (its id, account, target, API)
JOURNAL_NAME = "journal.jsonl"
MAX_NAME_LENGTH = 200
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class TicketFolder:
    """A ticket's folder on the desk, as :func:`open_ticket_folder` left it.

    ``state``: ``new`` (folder and notebook written now), ``refreshed`` (a notebook never run,
    written again from the template) or ``kept`` (a notebook that has been run, left as it is).
    """

    account: str
    target: str
    ticket: str
    folder: Path
    notebook: Path
    journal: Path
    practice: bool
    state: str
    notes: tuple[str, ...] = ()  # what could not be checked (the account, on an API down)
    language: str = ""  # the merchant's, for the ticket's messages ("" = English)

    def lines(self) -> list[str]:
        """What to tell the analyst: the ticket, the notebook, the journal, what was kept."""
        api = "practice on the embedded SANDBOX" if self.practice else "the account API"
        opened = "new" if self.state == "new" else "reopened"
        lines = [
            f"Ticket {self.ticket}: {self.account} to {self.target} ({opened}; {api})",
            f"notebook: {self.notebook}",
        ]
        lines.append(f"journal: {self.journal}")
        if self.state == "kept":
            lines.append(
                f"kept: {self.notebook.name} has been run: it is the ticket's record and is "
                "never overwritten (open it to continue the ticket)"
            )
        elif self.state == "refreshed":
            lines.append(f"{self.notebook.name} had not been run: filled in again")
        lines += [f"messages: in {self.language}"] if self.language else []
        lines.extend(self.notes)
        return [visible(line) for line in lines]


def desk_folder(desk: str | Path | None = None, environ: dict[str, str] | None = None) -> Path:
    """The desk: ``desk``, else ``$RELINK_DESK``, else ``./desk``."""
    env = os.environ if environ is None else environ
    return Path(desk or env.get(DESK_VARIABLE) or DEFAULT_DESK)


def is_practice(environ: dict[str, str] | None = None, env_file: str | Path = ".env") -> bool:
    """No account API is configured: the runbook will start the embedded practice sandbox.

    Raises:
        InputError: the API settings are split between the environment and ``env_file``.
    """
    return not api_settings(environ, env_file).get("RELINK_API_URL")


def open_ticket_folder(
    account: str,
    target: str,
    options: TicketOptions = DEFAULT_OPTIONS,
    *,
    desk: str | Path | None = None,
    environ: dict[str, str] | None = None,
    env_file: str | Path = ".env",
    template: str | Path = RUNBOOK_NOTEBOOK,
    language: str = "",
) -> TicketFolder:
    """Open (or reuse) the ticket's folder on the desk, with its runbook notebook filled in
    (``options``' ticket, operator and files; its journal is the folder's), and the merchant's
    ``language`` kept in its ``ticket.json`` (:mod:`relink.desk.ticket_language`) when given.

    Raises:
        InputError: an empty or unprintable account, target or operator; a ticket id that cannot
            be used, or one opened for another target; an export that is not a file; a value
            equal to the API token; a folder that holds another ticket; a split API setting; a
            language that is not a language tag.
        OSError: the desk cannot be written.
    """
    account = _checked("account", account)
    tag, language_note = checked_language(language) if language.strip() else ("", "")
    target = _checked("target AliExpress account", target)
    if re.search(r"\s", target):
        raise InputError(f"target AliExpress account {target!r}: no spaces in an account id")
    operator = _checked("operator", options.operator, required=False)
    ticket = options.ticket
    files = {
        "export_path": _existing_file(options.export_path),
        "aliexpress_path": _existing_file(options.aliexpress_path),
    }
    practice = is_practice(environ, env_file)
    _refuse_secrets([account, target, ticket, operator], environ, env_file)
    unchecked = check_account(account, environ, env_file)  # before anything is written
    account_dir = desk_folder(desk, environ).resolve() / safe_name(account)
    kind = "sandbox" if practice else "deployment"
    entries = [record for record in _records(account_dir, account) if record["api"] == kind]
    over = _practice_tickets_over(account_dir, entries) if practice else frozenset()
    chosen, _ = choose_ticket(
        entries,
        account=account,
        target=target,
        operator=operator,
        linked_now=None,
        requested=ticket,
        practice=practice,
        busy=over,
    )
    folder = account_dir / safe_name(chosen.ticket_id)
    notebook = folder / f"{safe_name(chosen.ticket_id)}.ipynb"
    journal = folder / JOURNAL_NAME
    _claim(folder, chosen.ticket_id, account, target, kind, operator, notebook.name)
    if tag:
        set_language(folder, tag)
    parameters: dict[str, Any] = {
        "account": account,
        "target_aliexpress_account": target,
        "ticket": chosen.ticket_id,
        "operator": operator,
        **files,
        "steps": "",
        "confirm": False,
        "journal_path": str(journal),
    }
    state = _place_notebook(Path(template), notebook, parameters)
    notes = tuple(note for note in (unchecked, language_note) if note)
    ticket = (account, target, chosen.ticket_id, folder, notebook, journal, practice, state)
    return TicketFolder(*ticket, notes, language=ticket_language(folder))


def _place_notebook(template: Path, notebook: Path, parameters: dict[str, Any]) -> str:
    """Write the ticket's notebook unless it has been run (it is then the ticket's record);
    say which: ``new``, ``refreshed`` or ``kept``."""
    if notebook.is_file() and has_run(notebook):
        return "kept"
    state = "refreshed" if notebook.is_file() else "new"
    write_ticket_notebook(template, notebook, parameters)
    return state


def _practice_tickets_over(account_dir: Path, entries: list[dict[str, Any]]) -> frozenset[str]:
    """The practice tickets whose notebook has been run, or whose journal has entries (the
    app runs the notebook without saving it). A practice sandbox lives as long as its
    kernel: such a ticket cannot be continued, so the same command opens the next one."""
    over = set()
    for entry in entries:
        folder = account_dir / safe_name(entry["ticket"])
        notebook = folder / f"{safe_name(entry['ticket'])}.ipynb"
        if has_run(notebook) or _journaled(folder / JOURNAL_NAME, entry["ticket"]):
            over.add(entry["ticket"])
    return frozenset(over)


def _journaled(journal: Path, ticket: str) -> bool:
    """Whether ``journal`` has an entry of ``ticket`` (a runbook opened it)."""
    try:
        return bool(jr.for_ticket(jr.Journal(journal).entries(), ticket))
    except OSError:
        return True  # unreadable: certainly not one to continue


def has_run(notebook: str | Path) -> bool:
    """Whether a notebook has been run: a code cell with outputs or an execution count."""
    import nbformat  # here, not at the top: the desk's readers (queue, recheck) need no notebook

    try:
        node = nbformat.read(notebook, as_version=4)
    except Exception:  # unreadable: certainly not ours to overwrite
        return True
    return any(
        cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
        for cell in node.cells
    )


def write_ticket_notebook(template: Path, destination: Path, parameters: dict[str, Any]) -> None:
    """``template`` without outputs, its ``parameters`` cell holding the ticket's values,
    written atomically.

    The values are written into the parameters cell itself (each declared name's default is
    replaced, its comment kept), not into a papermill ``injected-parameters`` cell: running the
    ticket's copy headless later (``papermill TICKET.ipynb out.ipynb -p steps audit,sync``)
    injects only what it is given, and the ticket, operator and journal stay the copy's. Only
    the parameters the template declares are written. The template itself is only read.

    Raises:
        InputError: the template is missing, unreadable, or has no ``parameters`` cell.
    """
    import nbformat
    from papermill.translators import PythonTranslator

    try:
        node = nbformat.read(template, as_version=4)
    except (OSError, ValueError) as exc:
        raise InputError(f"{template}: not a readable notebook ({type(exc).__name__})") from None
    tagged = [cell for cell in node.cells if "parameters" in cell.metadata.get("tags", [])]
    if not tagged:
        raise InputError(f"{template}: no cell is tagged 'parameters'")
    declared = {spec.name for spec in PythonTranslator.inspect(tagged[0])}
    chosen = {name: value for name, value in parameters.items() if name in declared}
    tagged[0].source = _with_values(tagged[0].source, chosen)
    for cell in node.cells:
        if cell.cell_type == "code":  # the template's stored outputs are another account's
            cell.outputs, cell.execution_count = [], None
    node.metadata.pop("widgets", None)
    # Where papermill records a notebook's parameters: tools read them from there.
    node.metadata["papermill"] = nbformat.from_dict({"parameters": chosen})
    make_shared_folders(destination.parent)
    # two opens of one ticket at once each replace the notebook whole
    write_atomically(destination, nbformat.writes(node), mode=SHARED_FILE_MODE)


_ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?P<annotation>\s*:[^=]+)?(?P<equals>\s*=\s*)")


def _with_values(source: str, values: dict[str, Any]) -> str:
    """The parameters cell with each named default replaced by its value (comments kept)."""
    from papermill.translators import PythonTranslator

    lines = []
    for line in source.splitlines():
        match = _ASSIGNMENT.match(line)
        if match and match["name"] in values:
            default = line[match.end() :]
            comment = default[default.index("  #") :] if "  #" in default else ""
            value = PythonTranslator.translate(values[match["name"]])
            line = f"{line[: match.end()]}{value}{comment}"
        lines.append(line)
    return "\n".join(lines)


def _checked(what: str, value: str, *, required: bool = True) -> str:
    cleaned = value.strip()
    if required and not cleaned:
        raise InputError(f"{what}: empty")
    if len(cleaned) > MAX_NAME_LENGTH or _UNSAFE.search(cleaned):
        raise InputError(
            f"{what} {visible(cleaned[:60])!r}: use printable characters (at most "
            f"{MAX_NAME_LENGTH})"
        )
    return cleaned


def _existing_file(path: str | Path) -> str:
    if not path:
        return ""
    if not Path(path).is_file():
        raise InputError(f"{visible(path)}: no such file")
    return str(Path(path).resolve())  # the kernel runs in the ticket's folder, not here


def _refuse_secrets(
    values: list[str], environ: dict[str, str] | None, env_file: str | Path
) -> None:
    secrets = known_secrets(environ, env_file)
    for value in values:
        if where := secret_in(value, secrets):  # anywhere in the value, as relink batch's -p
            raise InputError(
                f"a value holds the secret of {where}: secrets never go in parameters (they "
                "are written into the notebook); the runbook reads RELINK_API_TOKEN from its "
                "environment"
            )


def _records(account_dir: Path, account: str) -> list[dict[str, Any]]:
    """The desk's tickets of ``account``, oldest first, as journal ``ticket`` entries."""
    found = []
    for path in sorted(account_dir.glob(f"*/{RECORD_NAME}")):
        if path.parent.name.startswith("."):  # a folder being created (or left half-way)
            continue
        record = _read_record(path)
        if record.get("account") == account:
            found.append(
                {
                    "phase": jr.TICKET,
                    "time": str(record.get("opened_at", "")),
                    "ticket": str(record.get("ticket", "")),
                    "account": account,
                    "to_aliexpress_account": str(record.get("target", "")),
                    "api": record.get("api"),
                }
            )
    return sorted(found, key=lambda entry: entry["time"])


def _read_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _create_with_record(folder: Path, record: str) -> None:
    """Create ``folder`` with its ``record`` in it, in one step: the folder is written aside
    and renamed into place, so no open ever sees it without its record (of two opens at once,
    one rename wins; the other finds the winner's folder, record and all). A kill half-way
    leaves neither half a record nor a folder without one."""
    make_shared_folders(folder.parent)
    aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    try:
        share_folder(aside)  # mkdtemp's 0700 would shut the team out of the ticket
        write_atomically(aside / RECORD_NAME, record, mode=SHARED_FILE_MODE)
        os.rename(aside, folder)  # fails when another open made the folder first
    except OSError:
        shutil.rmtree(aside, ignore_errors=True)
        if not folder.exists():
            raise
    else:
        fsync_folder(folder.parent)


def _claim(
    folder: Path, ticket: str, account: str, target: str, kind: str, operator: str, name: str
) -> None:
    """Make ``folder`` the ticket's, or check that it already is.

    Raises:
        InputError: the folder exists and holds something else.
    """
    record_path = folder / RECORD_NAME
    record = {
        "ticket": ticket,
        "account": account,
        "target": target,
        "api": kind,
        "opened_at": jr.utc_now_iso(),
        "opened_by": operator or getpass.getuser(),
        "notebook": name,
    }
    if not folder.exists():
        _create_with_record(folder, json.dumps(record, indent=2) + "\n")
    if not record_path.is_file():
        raise InputError(f"{folder}: exists and is not a ticket's folder (no {RECORD_NAME})")
    held = _read_record(record_path)
    if (held.get("ticket"), held.get("account")) != (ticket, account):
        raise InputError(
            f"{folder}: holds ticket {visible(held.get('ticket'))} of "
            f"{visible(held.get('account'))}: pass another --ticket"
        )
    if held.get("target") != target:
        raise InputError(
            f"ticket {visible(ticket)} was opened to link {visible(held.get('target'))}, not "
            f"{visible(target)}: a change of target is a new ticket (pass another --ticket)"
        )
    if held.get("api") != kind:
        raise InputError(
            f"ticket {visible(ticket)} was opened on the {held.get('api')} API, and this is "
            f"the {kind}: a practice ticket and a real one are never the same ticket"
        )
