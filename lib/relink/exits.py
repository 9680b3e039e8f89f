"""How every ``relink`` command speaks: a line that may quote text from elsewhere, and the one
line on stderr and the exit code that end a command on a user's mistake.

Shared by the command modules of each room (``relink.cli``, the desk's, practice's), so the
line reads the same whichever command printed it.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from relink.display import visible

EXIT_UNREADABLE = 2  # an input (file, option, setting) cannot be used: nothing was done


def fail(message: str, code: int = EXIT_UNREADABLE) -> NoReturn:
    """Say ``message`` on one line of stderr (``relink: error: ...``) and exit with ``code``.

    The message goes through :func:`say`'s escaping: it may quote a file name or a server's
    words.
    """
    say(f"relink: error: {message}", err=True)
    sys.exit(code)


def say(text: object, *, err: bool = False) -> None:
    """Print one line that may hold text from elsewhere (a server's answer, a journal, a file,
    an account name): every control character shown as an escape
    (:func:`relink.display.visible`), so none can drive the terminal, break the line or
    reorder it (bidirectional overrides)."""
    click.echo(visible(text), err=err)
