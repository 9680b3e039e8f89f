"""The message an analyst sends the merchant: what to cancel, what waits, when the switch is.

Rendered from the audit's top-level JSON keys only (``verdict``, ``blocked_orders``,
``blocking``, ``forecast``, ``warnings``, ``order_dates``): never from the blocked orders' list,
which may hold half a million entries and names stores and store orders, and never from anything
personal. The only order numbers it names are the unpaid AliExpress orders of
``forecast.cancel_now``.

It states only what the audit stands behind: every blocked order is counted once, under the
one step it waits on (``forecast.next_steps``: a check by the team, a cancellation by the
merchant, a supplier, a sync), and the counts add up to the number of orders said to be in
progress; an export that is stale or looks filtered never gives "the switch can happen now"
but says a fresh export is needed; rows that could not be read are said as such. It ends with
the desk's sign-off (``sign_off``: ``relink audit --sign-off``, ``RELINK_MESSAGE_SIGN_OFF``,
else :data:`DEFAULT_SIGN_OFF`).

The wording is in Jinja2 templates shipped with the package
(``relink/audit/templates/merchant_message.txt.j2`` and ``.md.j2``); a support team rewords or
translates them by putting its own copy of either file in a folder and passing that folder
(``templates=``, ``relink audit --templates DIR`` or ``RELINK_MESSAGE_TEMPLATES``). Which
numbers and dates appear is decided here; a template receives plain values only (see
:func:`message_values`).

A template is text a team edits, not code: it is rendered by Jinja2's
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with no globals but :func:`count`, and
before it is rendered it is parsed and refused (one line naming its file and line) if it reads
any name but :data:`TEMPLATE_VALUES` or includes, imports or extends another template. What the
sandbox still catches while rendering (an attribute such as ``__class__``: a
:class:`~jinja2.sandbox.SecurityError`) is refused the same way. A custom template file is
opened without following a symbolic link (``O_NOFOLLOW``) and must be a regular file of at most
:data:`MAX_TEMPLATE_BYTES`.
"""

from __future__ import annotations

import functools
import os
import stat
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from relink.audit.verdict import AuditResult
from relink.display import visible
from relink.errors import RelinkError

TEMPLATES_VARIABLE = "RELINK_MESSAGE_TEMPLATES"
SIGN_OFF_VARIABLE = "RELINK_MESSAGE_SIGN_OFF"
DEFAULT_SIGN_OFF = "Kind regards,\nThe support team"
TEMPLATE_NAMES = {"text": "merchant_message.txt.j2", "markdown": "merchant_message.md.j2"}
KEYS = ("verdict", "export", "blocked_orders", "blocking", "forecast", "warnings")
OPTIONAL_KEYS = ("order_dates",)  # read when present (results of relink before it: absent)
# Warnings that say the export may not hold every order: a fresh export is needed first.
FRESH_EXPORT_WARNINGS = ("stale_export", "looks_filtered")

# English names, never the locale's: the same audit gives the same message on every machine.
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
MARKDOWN_SPECIAL = frozenset("\\`*_{}[]<>()#+-.!|~")
# Every name a template may read: the values of message_values() and the one global, count().
# A template that reads any other name is refused before it is rendered.
TEMPLATE_VALUES = frozenset(
    {
        "safe", "open_orders", "check_orders", "cancel_orders", "waiting_orders", "sync_first",
        "waiting_since", "late_orders", "cancel_now", "unpaid_without_number", "unpaid_orders",
        "has_unpaid", "rows_unread", "needs_check", "switch_date", "switch_today",
        "switch_date_if_nothing_done", "dates_differ", "payment_window_days", "as_of",
        "check_again", "fresh_export_needed", "export_stale", "orders_until", "sign_off",
        "count",
    }
)  # fmt: skip
MAX_TEMPLATE_BYTES = 1 << 20  # a message template is a page of text


@dataclass(frozen=True)
class HumanDay:
    """A day as a person reads it (``str()``: "Friday 4 December 2026"), with its parts for
    templates that write dates another way (``weekday``: 0 is Monday)."""

    iso: str
    year: int
    month: int
    day: int
    weekday: int

    @classmethod
    def of(cls, day: date) -> HumanDay:
        return cls(day.isoformat(), day.year, day.month, day.day, day.weekday())

    def __str__(self) -> str:
        return f"{DAY_NAMES[self.weekday]} {self.day} {MONTH_NAMES[self.month - 1]} {self.year}"


def merchant_message(
    audit: AuditResult | Mapping[str, Any],
    kind: str = "text",
    templates: Path | None = None,
    *,
    sign_off: str | None = None,
) -> str:
    """The merchant's message for one audit, as plain text or Markdown.

    ``audit``: an :class:`AuditResult`, or its JSON result as a mapping (``relink audit
    --format json``, or the audit notebook's record of it). ``kind``: ``"text"`` or
    ``"markdown"``. ``templates``: a folder whose ``merchant_message.txt.j2`` /
    ``merchant_message.md.j2`` replace relink's own (either may be left out); when ``None``,
    the folder named by ``RELINK_MESSAGE_TEMPLATES``, if set. ``sign_off``: the message's last
    lines (a line break, or a typed backslash-n, starts a new line; "" for none); when ``None``,
    ``RELINK_MESSAGE_SIGN_OFF`` if set, else :data:`DEFAULT_SIGN_OFF`.

    Raises:
        RelinkError: an unknown ``kind``; an audit result without the keys the message needs
            (or with a date that is not ISO); a templates folder that is not a folder; a
            custom template that cannot be read, parsed or rendered (the one line names its
            file, and its line when known).
    """
    if kind not in TEMPLATE_NAMES:
        raise RelinkError(f"merchant message kind must be 'text' or 'markdown', not {kind!r}")
    values = message_values(_top_level(audit), markdown=kind == "markdown", sign_off=sign_off)
    folder = templates if templates is not None else os.environ.get(TEMPLATES_VARIABLE) or None
    template = _template(TEMPLATE_NAMES[kind], Path(folder) if folder else None)
    try:
        text = template.render(values)
    except Exception as exc:  # a custom template is a support team's code: name where it broke
        raise RelinkError(_template_problem(template.filename, exc)) from None
    return text if text.endswith("\n") else text + "\n"


def message_values(
    top: Mapping[str, Any], *, markdown: bool = False, sign_off: str | None = None
) -> dict[str, Any]:
    """What a template receives: counts, flags, AliExpress order numbers and days, nothing else.

    ``top``: the audit's top-level keys (:data:`KEYS`, and :data:`OPTIONAL_KEYS` when present).
    Order numbers and the sign-off are made safe to show (control characters escaped, and
    Markdown's own characters when ``markdown``). Every blocked order is counted in exactly
    one of ``check_orders``, ``cancel_orders``, ``waiting_orders`` and ``sync_first``, which add
    up to ``open_orders`` (``forecast.next_steps``).

    Raises:
        RelinkError: a blocked result without a forecast or its next steps (a result of an
            earlier relink: audit again), or a forecast date that is not ISO.
    """
    safe = top["verdict"] == "safe"
    plan = top["forecast"] or {}
    if not safe and not plan:
        raise RelinkError("the audit result has no forecast: audit the export again")
    steps = plan.get("next_steps")
    if not safe and not steps:
        raise RelinkError(
            "the audit result has no forecast.next_steps: audit the export again with this "
            "version of relink"
        )
    shown = _markdown_escaped if markdown else visible
    steps = {} if safe else steps
    waiting = steps.get("wait") or {}
    switch = _day(plan.get("earliest_safe_date_with_merchant_action"))
    unhelped = _day(plan.get("earliest_safe_date"))
    as_of = _day(plan.get("as_of"))
    cancel_now = [] if safe else [shown(str(number)) for number in plan.get("cancel_now") or []]
    unpaid_without_number = 0 if safe else int(plan.get("unpaid_without_aliexpress_number") or 0)
    codes = {warning.get("code") for warning in top["warnings"] or []}
    dates = top.get("order_dates") or {}
    return {
        "safe": safe,
        "open_orders": int(top["blocked_orders"]),
        # each blocked order once, under the one step it waits on: these add up to open_orders
        "check_orders": int((steps.get("check") or {}).get("orders") or 0),
        "cancel_orders": int((steps.get("cancel") or {}).get("orders") or 0),
        "waiting_orders": int(waiting.get("orders") or 0),
        "sync_first": int((steps.get("sync") or {}).get("orders") or 0),
        "waiting_since": _day(waiting.get("oldest_order_date")),
        "late_orders": int(waiting.get("late_orders") or 0),  # of the waiting orders
        "cancel_now": cancel_now,
        "unpaid_without_number": unpaid_without_number,
        "unpaid_orders": len(cancel_now) + unpaid_without_number,
        "has_unpaid": bool(cancel_now or unpaid_without_number),
        "rows_unread": 0 if safe else int(plan.get("rows_unread") or 0),
        # A reason (an unknown status, a dispute, rows not read) means no date holds yet.
        "needs_check": not safe and (plan.get("reason") is not None or switch is None),
        "switch_date": switch,
        "switch_today": switch is not None and switch == as_of,
        "switch_date_if_nothing_done": unhelped,
        "dates_differ": switch != unhelped,
        "payment_window_days": int((plan.get("estimates") or {}).get("payment_window_days", 20)),
        "as_of": as_of,
        "check_again": bool(top["warnings"]),  # a warning: look at the orders again first
        # the export may not hold every order: never "the switch can happen now"
        "fresh_export_needed": bool(codes & set(FRESH_EXPORT_WARNINGS)),
        "export_stale": "stale_export" in codes,
        "orders_until": _day(dates.get("last")) if "stale_export" in codes else None,
        "sign_off": _sign_off(sign_off, shown),
    }


def _sign_off(text: str | None, shown: Any) -> str:
    """The desk's sign-off as shown: a line break, or a typed backslash-n, starts a line."""
    if text is None:
        text = os.environ.get(SIGN_OFF_VARIABLE)
    if text is None:
        text = DEFAULT_SIGN_OFF
    lines = [line.strip() for line in text.replace("\\n", "\n").splitlines()]
    return "\n".join(shown(line) for line in lines if line)


def count(number: int, singular: str, plural: str | None = None) -> str:
    """``count(1, "order")`` is "1 order", ``count(3, "order")`` "3 orders" (a template global)."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def _top_level(audit: AuditResult | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(audit, AuditResult):  # its attributes: never to_dict(), which builds blockers
        return {key: getattr(audit, key) for key in KEYS + OPTIONAL_KEYS}
    if not isinstance(audit, Mapping):
        raise RelinkError(f"a merchant message needs an audit result, not {type(audit).__name__}")
    missing = [key for key in KEYS if key not in audit]
    if missing:
        raise RelinkError(
            f"the audit result has no {', '.join(missing)}: audit the export again "
            "with this version of relink"
        )
    if audit["verdict"] not in ("safe", "blocked"):
        raise RelinkError(f"the audit result's verdict is {str(audit['verdict'])[:40]!r}")
    return {key: audit[key] for key in KEYS} | {key: audit.get(key) for key in OPTIONAL_KEYS}


def _day(text: object) -> HumanDay | None:
    if text is None:
        return None
    try:
        return HumanDay.of(date.fromisoformat(str(text)))
    except ValueError:
        raise RelinkError(f"the audit result holds {str(text)[:40]!r} as a date") from None


def _markdown_escaped(text: str) -> str:
    return "".join("\\" + c if c in MARKDOWN_SPECIAL else c for c in visible(text))


@functools.lru_cache(maxsize=8)
def _environment(folder: Path | None) -> jinja2.Environment:
    """One environment per templates folder: a batch renders hundreds of messages, and Jinja2
    compiles each template once per environment (an edited custom file is reloaded).

    Sandboxed and immutable, with no globals but :func:`count` (Jinja2's ``range``,
    ``cycler``, ``joiner``, ``namespace``, ``lipsum`` and ``dict`` are removed): a template
    reaches only the values it is given. Each template is checked when loaded
    (:class:`_CheckedLoader`)."""
    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("relink.audit", "templates")]
    if folder is not None:
        loaders.insert(0, _FolderLoader(folder))
    environment = ImmutableSandboxedEnvironment(
        loader=_CheckedLoader(jinja2.ChoiceLoader(loaders)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text and Markdown: values are escaped in message_values
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.clear()
    environment.globals["count"] = count
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
    """``name`` from ``folder`` when it has one, else relink's own."""
    if folder is not None and not folder.is_dir():
        raise RelinkError(f"{visible(folder)}: the message templates folder does not exist")
    try:
        return _environment(folder.resolve() if folder is not None else None).get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or str((folder or Path()) / (exc.name or name))
        problem = _one_line(f"{exc.message}")
        raise RelinkError(f"{visible(where)}, line {exc.lineno}: {visible(problem)}") from None
    except jinja2.TemplateNotFound:
        raise RelinkError(f"{name}: the message template is not in relink's package") from None
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
