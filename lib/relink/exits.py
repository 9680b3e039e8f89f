"""How every ``relink`` command ends on a user's mistake: one line on stderr, then an exit code.

Shared by the command modules of each room (``relink.cli``, the desk's, practice's), so the
line reads the same whichever command printed it.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click

EXIT_UNREADABLE = 2  # an input (file, option, setting) cannot be used: nothing was done


def fail(message: str, code: int = EXIT_UNREADABLE) -> NoReturn:
    """Say ``message`` on one line of stderr (``relink: error: ...``) and exit with ``code``."""
    click.echo(f"relink: error: {message}", err=True)
    sys.exit(code)
