"""How every ``relink`` command speaks: a line that may quote text from elsewhere, and the one
line on stderr and the exit code that end a command on a user's mistake.

Shared by the command modules of each room (``relink.cli``, the desk's, practice's), so the
line reads the same whichever command printed it.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

import click

from relink.display import visible

EXIT_UNREADABLE = 2  # an input (file, option, setting) cannot be used: nothing was done

# Whether the command line runs as the process itself (see own_process): only then may a
# command end it without the interpreter's teardown.
_owned = False


def own_process() -> None:
    """Say that the command line runs as the process itself (the ``relink`` script, ``python -m
    relink``: it reads the process's own arguments), not called from Python (a test's
    ``CliRunner``, a notebook), which :func:`finish` must return to."""
    global _owned
    _owned = True


def finish(code: int) -> NoReturn:
    """End a command that has written everything it had to say, with ``code``.

    As the process itself (:func:`own_process`): stdout and stderr flushed, then ``os._exit``,
    skipping the interpreter's teardown, which frees every frame and module one by one (0.1 to
    0.2 s after a million-row audit, for output already written; nothing else is registered to
    run at exit but ``logging.shutdown``, which is run). Called from Python: ``sys.exit``.
    """
    if not _owned:
        sys.exit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


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
