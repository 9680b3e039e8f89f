"""The merchant message's languages: one template folder per language, found by its folder.

A language is a folder named by its tag (``en``, ``fr``, ``pt-BR``...) holding ``message.j2``
(every stage of the message, :mod:`relink.audit.message`) and, optionally, ``language.json``:
``{"name": "French", "locale": "fr", "sign_off": "Cordialement,\\nL'équipe support"}`` (the
Babel locale its dates, numbers and plurals follow, default the tag; the sign-off it ends with
when the desk sets none, default the English one). relink ships its own folders in
``relink/audit/templates/``; a team's templates folder (``--templates DIR``,
``RELINK_MESSAGE_TEMPLATES``) may add languages or replace relink's, folder by folder. Nothing
else lists the languages: a team adds one by adding its folder.

Tags are compared normalised (``pt_BR``, ``pt-br`` and ``PT-BR`` are ``pt-BR``). A language
without a folder falls back to one of the same base language (``fr-CA`` to ``fr``), else to
English, and :func:`choose_language` says so in a note for the analyst (never in the message).

Dates, numbers and plural forms are the locale's own, by Babel (CLDR): ``format_date`` in the
locale's full form, ``format_decimal``, and its plural categories (in French and Brazilian
Portuguese 0 is singular, as 1 is).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal

from relink.display import visible
from relink.errors import RelinkError

# A team's own templates folder (one folder per language), read by the messages and the desk
TEMPLATES_VARIABLE = "RELINK_MESSAGE_TEMPLATES"

DEFAULT_LANGUAGE = "en"
MESSAGE_FILE = "message.j2"  # a language folder's one template: every stage
LANGUAGE_FILE = "language.json"  # optional: its name, Babel locale and default sign-off
DEFAULT_SIGN_OFF = "Kind regards,\nThe support team"
MAX_LANGUAGE_FILE = 64 << 10
# language, optional script, optional region: en, pt-BR, zh-Hant-TW, es-419
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_]([A-Za-z]{2}|\d{3}))?$")


@dataclass(frozen=True)
class Language:
    """One language's folder: its tag, Babel locale, name and default sign-off."""

    tag: str
    locale: str
    name: str
    sign_off: str
    folder: Path | None  # a team's folder; None: relink's own (inside the package)


@dataclass(frozen=True)
class Choice:
    """The language a message is written in, and why it is not the one asked (``note``)."""

    language: Language
    asked: str
    note: str = ""


def normalise_tag(text: str | None) -> str | None:
    """``text`` as a language tag (``pt_br`` -> ``pt-BR``), or None when it is not one."""
    match = _TAG.match((text or "").strip())
    if not match:
        return None
    base, script, region = match.groups()
    parts = [base.lower()]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    return "-".join(parts)


def languages(templates: Path | None = None) -> dict[str, Language]:
    """Every language a message can be written in: relink's folders, then ``templates``'
    language folders (which replace relink's of the same tag), by tag.

    Raises:
        RelinkError: a ``language.json`` that is not a JSON object of texts, or whose locale
            Babel does not know (one line naming the file).
    """
    found = dict(_packaged())
    if templates is not None and templates.is_dir():
        for entry in sorted(templates.iterdir()):
            tag = normalise_tag(entry.name)
            if tag and entry.is_dir() and not entry.is_symlink() and _has_message(entry):
                spec = entry / LANGUAGE_FILE
                found[tag] = _language(tag, spec if _regular(spec) else None, entry)
    return found


def choose_language(asked: str | None, templates: Path | None = None) -> Choice:
    """The language to write in for ``asked`` (a tag in any spelling; empty: English).

    Raises:
        RelinkError: as :func:`languages`.
    """
    known = languages(templates)
    english = known[DEFAULT_LANGUAGE]
    shown = visible(str(asked or "").strip()[:40])
    if not shown:
        return Choice(english, "")
    tag = normalise_tag(asked)
    if tag is None:
        return Choice(english, shown, f"{shown!r} is not a language tag: the message is in English")
    by_case = {key.lower(): value for key, value in known.items()}
    if tag.lower() in by_case:
        return Choice(by_case[tag.lower()], tag)
    base = tag.split("-")[0]
    same = sorted(key for key in known if key.split("-")[0] == base)
    if same:
        chosen = known[same[0]]
        note = f"no message templates for {tag}: the message is in {chosen.name} ({chosen.tag})"
        return Choice(chosen, tag, note)
    offered = ", ".join(sorted(known))
    note = f"no message templates for {tag} (there are: {offered}): the message is in English"
    return Choice(english, tag, note)


@functools.cache
def _packaged() -> tuple[tuple[str, Language], ...]:
    """relink's own language folders (read once: they ship with the package)."""
    root = resources.files("relink.audit") / "templates"
    found = []
    for entry in root.iterdir():
        tag = normalise_tag(entry.name)
        if tag and entry.is_dir() and (entry / MESSAGE_FILE).is_file():
            spec = entry / LANGUAGE_FILE
            found.append((tag, _language(tag, spec if spec.is_file() else None, None)))
    return tuple(sorted(found))


def _has_message(folder: Path) -> bool:
    return _regular(folder / MESSAGE_FILE)


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()  # a team's files: never followed links


def _language(tag: str, spec: object, folder: Path | None) -> Language:
    """The language of folder ``tag`` from its optional ``language.json`` (``spec``)."""
    values = _read_spec(spec) if spec is not None else {}
    locale_name = values.get("locale") or tag.replace("-", "_")
    try:
        locale = Locale.parse(locale_name)
    except (UnknownLocaleError, ValueError):
        raise RelinkError(
            f"{visible(spec or tag)}: Babel knows no locale {visible(locale_name)!r}"
        ) from None
    return Language(
        tag=tag,
        locale=str(locale),
        name=values.get("name") or locale.get_display_name("en") or tag,
        sign_off=values.get("sign_off", DEFAULT_SIGN_OFF),
        folder=folder,
    )


def _read_spec(spec: object) -> dict[str, str]:
    """``language.json``: an object of texts (name, locale, sign_off), at most 64 KiB.

    Raises:
        RelinkError: not JSON, not an object of texts, or too large (naming the file).
    """
    try:
        data = spec.read_bytes()  # type: ignore[attr-defined]  # Path or Traversable
        if len(data) > MAX_LANGUAGE_FILE:
            raise ValueError("too large")
        values = json.loads(data.decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise RelinkError(f"{visible(spec)}: not a readable language file ({exc})") from None
    if not isinstance(values, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in values.items()
    ):
        raise RelinkError(f"{visible(spec)}: a language file is a JSON object of texts")
    return values


@dataclass(frozen=True)
class HumanDay:
    """A day as a person reads it in a locale (``str()``: the locale's full form, by Babel:
    "Friday, 4 December 2026", "vendredi 4 décembre 2026"), with its parts for templates that
    write dates another way (``weekday``: 0 is Monday)."""

    iso: str
    year: int
    month: int
    day: int
    weekday: int
    locale: str = "en_GB"

    @classmethod
    def of(cls, day: date, locale: str = "en_GB") -> HumanDay:
        return cls(day.isoformat(), day.year, day.month, day.day, day.weekday(), locale)

    def __str__(self) -> str:
        return _full_date(self.iso, self.locale)


# A batch writes a message per account, each with a few days and counts: Babel's formatting
# (the locale's data looked up at each call) is done once per value and locale.
@functools.lru_cache(maxsize=4096)
def _full_date(iso: str, locale: str) -> str:
    return format_date(date.fromisoformat(iso), format="full", locale=_locale(locale))


@functools.lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


@functools.lru_cache(maxsize=4096)
def _number(n: int, locale: str) -> str:
    return format_decimal(n, locale=_locale(locale))


@functools.lru_cache(maxsize=4096)
def _category(n: int, locale: str) -> str:
    return _locale(locale).plural_form(abs(n))


def number_words(locale: str) -> tuple[Callable[..., str], Callable[..., str], Callable[..., str]]:
    """The template functions ``number(n)``, ``plural(n, one, other, many=None)`` and
    ``count(n, one, other=None, many=None)`` in ``locale``: the number in the locale's form
    (Babel's ``format_decimal``), the word of the locale's plural category for ``n`` (CLDR:
    ``one``, else ``many`` when given and the locale has it, else ``other``; an English
    ``other`` defaults to ``one`` + "s"), and the two together ("3 orders", "1 234 commandes")."""
    _locale(locale)  # an unknown locale fails here, not in a template

    def number(n: int) -> str:
        return _number(n, locale)

    def plural(n: int, one: str, other: str | None = None, many: str | None = None) -> str:
        category = _category(n, locale)
        if category == "one":
            return one
        if category == "many" and many is not None:
            return many
        return other if other is not None else one + "s"

    def count(n: int, one: str, other: str | None = None, many: str | None = None) -> str:
        return f"{number(n)} {plural(n, one, other, many)}"

    return number, plural, count
