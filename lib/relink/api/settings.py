"""The account API's settings: ``RELINK_API_URL`` and ``RELINK_API_TOKEN``, from one place.

They come from the process environment, or else from a ``.env`` file in the working directory
(gitignored; simple ``KEY=VALUE`` lines, ``#`` comments, optional quotes, nothing expanded).
Both come from the same place: a URL from one place and a token from another would send one
deployment's token to another deployment, so mixing them is refused. Nothing here accepts a
token as an argument: secrets never come from parameters; :func:`known_secrets` lists the secret
values a parameter must never carry.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from relink.errors import InputError

ENV_KEYS = ("RELINK_API_URL", "RELINK_API_TOKEN")
# An environment variable whose name says it holds a secret (GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY).
SECRET_NAME = re.compile(r"token|secret|passw|api_?key|credential|private", re.IGNORECASE)
MIN_SECRET_LENGTH = 4  # shorter values ("1", "yes") are switches, not secrets


def read_env_file(path: str | Path = ".env") -> dict[str, str]:
    """The ``RELINK_*`` settings of a ``.env`` file ({} when there is none).

    Only ``KEY=VALUE`` lines are read (an ``export`` prefix is allowed); quotes around the value
    are removed; anything else is ignored rather than guessed at.
    """
    file = Path(path)
    if not file.is_file():
        return {}
    found: dict[str, str] = {}
    for raw in file.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key in ENV_KEYS:
            found[key] = value
    return found


def api_settings(
    environ: dict[str, str] | None = None, env_file: str | Path = ".env"
) -> dict[str, str]:
    """``RELINK_API_URL``/``RELINK_API_TOKEN``, both from the environment or both from ``env_file``.

    When the environment sets either, both are taken from it alone; otherwise both come from
    ``env_file`` ({} when neither place sets anything).

    Raises:
        InputError: the two would come from different places, or only one is set.
    """
    env = dict(os.environ if environ is None else environ)
    from_env = {key: env[key].strip() for key in ENV_KEYS if env.get(key, "").strip()}
    from_file = {key: value for key, value in read_env_file(env_file).items() if value.strip()}
    settings, place = (from_env, "the environment") if from_env else (from_file, str(env_file))
    missing = [key for key in ENV_KEYS if key not in settings]
    if not settings or not missing:
        return settings
    if from_env and any(key in from_file for key in missing):
        raise InputError(
            f"{' and '.join(sorted(from_env))} is set in the environment but "
            f"{' and '.join(missing)} only in {env_file}: RELINK_API_URL and RELINK_API_TOKEN "
            "must both come from the same place (both in the environment, or both in .env)"
        )
    raise InputError(
        f"{' and '.join(sorted(settings))} is set in {place} but {' and '.join(missing)} is "
        "not: set both RELINK_API_URL and RELINK_API_TOKEN there"
    )


def known_secrets(
    environ: dict[str, str] | None = None, env_file: str | Path = ".env"
) -> list[tuple[str, str]]:
    """Every secret value relink can know of, as ``(where, value)`` pairs, for refusing them
    wherever they must not go (a notebook parameter): ``RELINK_API_TOKEN`` from the environment
    and from ``env_file``, the password in ``RELINK_API_URL`` (``https://user:PASSWORD@host``),
    and every environment variable whose name looks like a secret's (:data:`SECRET_NAME`).

    ``where`` names the setting (``RELINK_API_TOKEN``, ``.env's RELINK_API_TOKEN``), never the
    value. Values shorter than :data:`MIN_SECRET_LENGTH` are left out; so is an ``env_file``
    that cannot be read.
    """
    env = dict(os.environ if environ is None else environ)
    try:
        from_file = read_env_file(env_file)
    except (OSError, UnicodeDecodeError):
        from_file = {}
    found: list[tuple[str, str]] = []
    for place, settings in (("", env), (f"{Path(env_file).name}'s ", from_file)):
        for key, value in settings.items():
            if key == "RELINK_API_URL":
                value = _url_password(value)
            elif not SECRET_NAME.search(key):
                continue
            for candidate in dict.fromkeys((value, value.strip())):
                if len(candidate) >= MIN_SECRET_LENGTH:
                    found.append((f"{place}{key}", candidate))
    return found


def _url_password(url: str) -> str:
    try:
        return urlsplit(url.strip()).password or ""
    except ValueError:  # not a URL relink could use anyway
        return ""


# A secret of another tool's (GITHUB_TOKEN...) counts anywhere in a value from this length on;
# a shorter one only as the whole value ("true" in SOME_TOKEN_REQUIRED must not refuse
# -p confirm true). relink's own (RELINK_API_TOKEN, the URL's password) count anywhere.
_CONTAINED_FROM = 8


def secret_in(value: object, secrets: Sequence[tuple[str, str]] | None = None) -> str:
    """Which secret ``value`` holds (the setting's name, never its value), or ``""``.

    ``RELINK_API_TOKEN`` (the environment's or ``.env``'s) and the password in
    ``RELINK_API_URL`` count anywhere in the value (``" tok-X"``, ``"x tok-X"``), case
    sensitively and with nothing stripped; so does any other secret the environment holds
    (:func:`known_secrets`) of 8 characters or more, a shorter one as the
    whole value (spaces around it ignored). ``secrets``: :func:`known_secrets`'s answer, when
    the caller checks many values.
    """
    text = str(value)
    for where, secret in known_secrets() if secrets is None else secrets:
        ours = where.removeprefix(".env's ").startswith("RELINK_API_")
        if secret in text if ours or len(secret) >= _CONTAINED_FROM else text.strip() == secret:
            return where
    return ""
