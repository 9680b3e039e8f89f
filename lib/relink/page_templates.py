"""The one way relink renders a page: Jinja2 with the shared skeleton, and scripts inlined.

The batch summary and the ticket's journal page each have their own templates (a package's
``templates/`` folder) and extend the skeleton every relink page shares (``relink/pages/
page.html.j2``). :func:`page_environment` builds that environment once per room;
:func:`inline_script` reads a ``.js`` asset to inline, so a page stays one self-contained file.
"""

from __future__ import annotations

from collections.abc import Callable

import jinja2
from jinja2.filters import do_mark_safe


def page_environment(package: str, text: Callable[[object], str]) -> jinja2.Environment:
    """The templates of ``package`` (its ``templates/`` folder) and the shared skeleton.

    ``text`` turns a value that is not markup into escaped HTML (``html.escape``, or one that
    also shows control and bidi characters as escapes); markup (``|safe``) is written as it is.
    """

    def as_html(value: object) -> object:
        return value if hasattr(value, "__html__") else do_mark_safe(text(value))

    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.PackageLoader(package, "templates"), jinja2.PackageLoader("relink", "pages")]
        ),
        autoescape=True,
        finalize=as_html,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def inline_script(environment: jinja2.Environment, name: str) -> str:
    """The asset ``name`` of ``environment``'s templates, to inline in a ``<script>`` element.

    Raises:
        ValueError: the asset holds ``</script``, which would end its element early.
    """
    assert environment.loader is not None
    script = environment.loader.get_source(environment, name)[0]
    if "</script" in script.lower():
        raise ValueError(f"{name}: an inline script cannot hold '</script'")
    return script
