"""The merchant message's Jinja2 templates: found, checked, loaded and rendered safely.

A template is text a team edits, not code: it is rendered by Jinja2's
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with no globals (its functions come with
its values), and before it is rendered it is parsed and refused (one line naming its file and
line) if it reads any name but :data:`TEMPLATE_VALUES` or includes, imports or extends another
template. What the sandbox still catches while rendering (an attribute such as ``__class__``: a
:class:`~jinja2.sandbox.SecurityError`) is refused the same way. A team's template file is
opened without following a symbolic link (``O_NOFOLLOW``) and must be a regular file of at most
:data:`MAX_TEMPLATE_BYTES`.

relink's own templates are ``relink/audit/templates/<language>/message.j2``
(:mod:`relink.audit.languages`); a team's templates folder holds its own language folders, and,
as before languages, ``merchant_message.txt.j2`` / ``merchant_message.md.j2`` at its top, which
replace the English first message (text or Markdown).
"""

from __future__ import annotations

import functools
import os
import stat
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from relink.audit.languages import MESSAGE_FILE, Language
from relink.display import visible
from relink.errors import RelinkError

# A team's top-level files from before languages: the English first message, by kind.
LEGACY_NAMES = {"text": "merchant_message.txt.j2", "markdown": "merchant_message.md.j2"}
# Every name a template may read: the values of relink.audit.message.message_values (its
# functions included). A template that reads any other name is refused before it is rendered.
TEMPLATE_VALUES = frozenset(
    {
        "safe", "open_orders", "check_orders", "cancel_orders", "waiting_orders", "sync_first",
        "waiting_since", "late_orders", "cancel_now", "unpaid_without_number", "unpaid_orders",
        "has_unpaid", "rows_unread", "needs_check", "switch_date", "switch_today",
        "switch_date_if_nothing_done", "dates_differ", "payment_window_days", "as_of",
        "check_again", "fresh_export_needed", "export_stale", "orders_until", "sign_off",
        "stage", "markdown", "previous_date", "date_moved", "count", "plural", "number",
        "strong",
    }
)  # fmt: skip
MAX_TEMPLATE_BYTES = 1 << 20  # a message template is a page of text


def render(
    values: Mapping[str, Any], language: Language, kind: str, folder: Path | None, *, first: bool
) -> str:
    """The message ``language``'s template writes with ``values``: the team's legacy file of
    ``kind`` for an English first message when ``folder`` has one, else the language's
    ``message.j2`` (a team's folder, or relink's).

    Raises:
        RelinkError: ``folder`` is not a folder; a template cannot be read, parsed or rendered
            (one line naming its file, and its line when known).
    """
    if folder is not None and not folder.is_dir():
        raise RelinkError(f"{visible(folder)}: the message templates folder does not exist")
    root = folder.resolve() if folder is not None else None
    legacy = LEGACY_NAMES[kind]
    if root is not None and first and language.tag == "en" and os.path.lexists(root / legacy):
        template = _template(legacy, root)
    elif language.folder is not None:
        template = _template(f"{language.folder.name}/{MESSAGE_FILE}", language.folder.parent)
    else:
        template = _template(f"{language.tag}/{MESSAGE_FILE}", None)
    try:
        text = template.render(values)
    except Exception as exc:  # a custom template is a support team's code: name where it broke
        raise RelinkError(_template_problem(template.filename, exc)) from None
    return text if text.endswith("\n") else text + "\n"


@functools.lru_cache(maxsize=8)
def _environment(folder: Path | None) -> jinja2.Environment:
    """One environment per templates folder (None: relink's own): a batch renders hundreds of
    messages, and Jinja2 compiles each template once per environment (an edited custom file is
    reloaded).

    Sandboxed and immutable, with no globals (Jinja2's ``range``, ``cycler``, ``joiner``,
    ``namespace``, ``lipsum`` and ``dict`` are removed): a template reaches only the values it
    is given. Each template is checked when loaded (:class:`_CheckedLoader`)."""
    loader: jinja2.BaseLoader = (
        jinja2.PackageLoader("relink.audit", "templates")
        if folder is None
        else _FolderLoader(folder)
    )
    environment = ImmutableSandboxedEnvironment(
        loader=_CheckedLoader(loader),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text and Markdown: values are escaped in message_values
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.clear()
    return environment


class _FolderLoader(jinja2.BaseLoader):
    """A team's templates folder: each file read without following a symbolic link."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        path = self.folder / template
        try:
            before = path.lstat()
        except FileNotFoundError:
            raise jinja2.TemplateNotFound(template) from None  # relink's own is used
        if stat.S_ISLNK(before.st_mode):
            raise RelinkError(
                f"{visible(path)}: is a symbolic link: relink reads message templates only "
                "from regular files in the templates folder"
            )
        try:
            handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:  # ELOOP: replaced by a link since
            raise RelinkError(f"{visible(path)}: cannot be read ({exc.strerror})") from None
        with os.fdopen(handle, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise RelinkError(f"{visible(path)}: is not a regular file")
            data = file.read(MAX_TEMPLATE_BYTES + 1)
        if len(data) > MAX_TEMPLATE_BYTES:
            raise RelinkError(
                f"{visible(path)}: is larger than a message template may be "
                f"({MAX_TEMPLATE_BYTES >> 20} MiB)"
            )
        source = data.decode("utf-8")  # UnicodeDecodeError: named by _template

        def uptodate() -> bool:
            try:
                now = path.lstat()
            except OSError:
                return False
            return (now.st_mtime_ns, now.st_size, now.st_ino) == (
                info.st_mtime_ns,
                info.st_size,
                info.st_ino,
            )

        return source, str(path), uptodate


class _CheckedLoader(jinja2.BaseLoader):
    """Refuses, before it is compiled, a template that reads a name no template receives or
    that pulls in another template: one line naming its file and line."""

    def __init__(self, inner: jinja2.BaseLoader) -> None:
        self.inner = inner

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = self.inner.get_source(environment, template)
        tree = environment.parse(source, template, filename)  # TemplateSyntaxError: named
        where = visible(filename or template)
        for node in tree.find_all(
            (jinja2.nodes.Include, jinja2.nodes.Import, jinja2.nodes.FromImport)
        ):
            raise RelinkError(
                f"{where}, line {node.lineno}: includes or imports another template: a message "
                "template is one file"
            )
        for node in tree.find_all(jinja2.nodes.Extends):
            raise RelinkError(
                f"{where}, line {node.lineno}: extends another template: a message template is "
                "one file"
            )
        unknown = jinja2.meta.find_undeclared_variables(tree) - TEMPLATE_VALUES
        if unknown:
            line, name = min(
                (node.lineno, node.name)
                for node in tree.find_all(jinja2.nodes.Name)
                if node.name in unknown
            )
            raise RelinkError(
                f"{where}, line {line}: {visible(repr(name))} is undefined: a message template "
                "receives only the values listed in relink's templates' opening comment"
            )
        return source, filename, uptodate


def _template(name: str, folder: Path | None) -> jinja2.Template:
    """``name`` from ``folder`` (None: relink's own templates)."""
    try:
        return _environment(folder).get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or str((folder or Path()) / (exc.name or name))
        problem = _one_line(f"{exc.message}")
        raise RelinkError(f"{visible(where)}, line {exc.lineno}: {visible(problem)}") from None
    except jinja2.TemplateNotFound:
        where = folder / name if folder is not None else f"relink's {name}"
        raise RelinkError(f"{visible(where)}: the message template is missing") from None
    except (UnicodeDecodeError, OSError) as exc:
        where = folder / name if folder is not None else Path(name)
        raise RelinkError(f"{visible(where)}: cannot be read as UTF-8 text ({exc})") from None


def _template_problem(filename: str | None, exc: Exception) -> str:
    """One line: the template file and line that failed (Jinja2's frames carry both)."""
    where, line = filename or "merchant message template", None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(".py") or frame.filename.startswith("<"):
            continue
        where, line = frame.filename, frame.lineno
    at = f", line {line}" if line else ""
    problem = _one_line(f"{type(exc).__name__}: {exc}")
    return f"{visible(where)}{at}: {visible(problem)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
