"""``python -m relink.sandbox serve ...``: the sandbox's commands without the main CLI."""

from relink.sandbox.cli import sandbox

sandbox(prog_name="python -m relink.sandbox")
