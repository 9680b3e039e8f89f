"""``python -m relink``: the same as the ``relink`` command."""

from relink.cli import main

main()
