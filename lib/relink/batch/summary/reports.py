"""Each account's report: its executed notebook as an HTML page without the code.

``DIR/<account>/<notebook>.html`` beside the ``.ipynb``, rendered by nbconvert's
``HTMLExporter`` (the lab template) with every code input and prompt left out, so a team lead
reads the banner, tables, charts and errors, not Python. The page needs no network: the
template's CDN scripts (require.js, MathJax, the widget renderer) are left out, charts are
embedded images, and :func:`remote_references` (empty for every page written here) checks it.

A report is rendered again only when its notebook is newer (:func:`render_missing`), so a
resumed batch renders only the accounts it ran. Rendering is CPU work (about 0.2 s a
notebook); many reports are rendered in a few processes.
"""

from __future__ import annotations

import html
import os
import re
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from relink.atomic_files import write_atomically

# The lab template with its network-bound blocks emptied.
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
"""
_CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "style-src 'unsafe-inline'; img-src data:; script-src 'unsafe-inline'\">"
)
# A script or stylesheet a browser would fetch: src/href to http(s) or protocol-relative.
_REMOTE = re.compile(
    r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)
_REMOTE_ATTRIBUTE = re.compile(
    r"""(<(?:script|link|img|iframe)\b[^>]*\s)((?:src|href)\s*=\s*["']?\s*(?:https?:)?//)""",
    re.IGNORECASE,
)
_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.IGNORECASE | re.DOTALL)
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_NAV_STYLE = "font-family:sans-serif;padding:8px 16px;background:#eee;border-bottom:1px solid #ccc"
# The account's message for the merchant, beside its notebook (relink.batch.summary.files).
MESSAGE_SUFFIXES = {"text": ".message.txt", "markdown": ".message.md"}
_URL = re.compile(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}/[^\s\"'<>)]*", re.IGNORECASE)
_exporter = None


def report_path(notebook: Path) -> Path:
    """Where the report of an executed notebook goes: beside it, ``.html``."""
    return notebook.with_suffix(".html")


def message_path(folder: Path, kind: str = "text") -> Path:
    """Where the account whose output folder is ``folder`` has its merchant message of ``kind``
    (``"text"`` or ``"markdown"``)."""
    return folder / f"{folder.name}{MESSAGE_SUFFIXES[kind]}"


def render_report(notebook: Path) -> Path:
    """Write ``notebook``'s report (atomically) and return its path.

    Raises:
        OSError: the notebook cannot be read or the report written.
        ValueError: the notebook is not valid JSON / nbformat.
    """
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    with warnings.catch_warnings():  # relink's record MIME type has no HTML: left out, fine
        warnings.simplefilter("ignore", UserWarning)
        body, _ = _html_exporter().from_notebook_node(
            nb, resources={"metadata": {"name": notebook.stem}}
        )
    body = _REMOTE_ATTRIBUTE.sub(r"\1data-removed-\2", body)  # none expected: belt and braces
    body = body.replace("<head>", "<head>\n" + _CSP, 1)
    body = _BODY.sub(lambda match: match.group(0) + _message_links(notebook), body, count=1)
    target = report_path(notebook)
    write_atomically(target, body.encode("utf-8"))
    return target


def render_missing(notebooks: Sequence[Path], *, processes: int | None = None) -> list[Path]:
    """Render the reports that are missing or older than their notebook; return all reports.

    A notebook that cannot be rendered gets no report (the summary then links the notebook).
    """
    todo = [nb for nb in notebooks if nb.is_file() and _stale(nb)]
    processes = max(1, min(processes or os.cpu_count() or 1, len(todo) // 8 or 1))
    if processes == 1:
        for nb in todo:
            _render_quietly(nb)
    else:
        with ProcessPoolExecutor(processes) as pool:
            list(pool.map(_render_quietly, todo, chunksize=8))
    return [report_path(nb) for nb in notebooks if report_path(nb).is_file()]


def _stale(notebook: Path) -> bool:
    """The report is missing, or older than its notebook or than the message it links."""
    try:
        rendered = report_path(notebook).stat().st_mtime_ns
    except OSError:
        return True
    sources = (notebook, message_path(notebook.parent))
    return any(path.is_file() and path.stat().st_mtime_ns > rendered for path in sources)


def _message_links(notebook: Path) -> str:
    """The links to the account's message for the merchant, at the top of its report."""
    labels = {"text": "as text", "markdown": "as Markdown"}
    found = [(message_path(notebook.parent, kind), labels[kind]) for kind in MESSAGE_SUFFIXES]
    links = " ".join(
        f'<a href="{html.escape(path.name)}">{label}</a>' for path, label in found if path.is_file()
    )
    if not links:
        return ""
    return f'\n<nav style="{_NAV_STYLE}">Message for the merchant: {links}</nav>'


def remote_references(page: str) -> list[str]:
    """What in ``page`` would fetch something over the network (nothing, for ours): a script,
    stylesheet, image or frame with a remote source, or a remote URL inside a script."""
    found = [match.group(0) for match in _REMOTE.finditer(page)]
    for script in _SCRIPT.findall(page):
        found += _URL.findall(script)
    return found


def _render_quietly(notebook: Path) -> None:
    import logging

    try:
        render_report(notebook)
    except Exception:  # one unreadable notebook must not stop the summary
        logging.getLogger("relink.batch.summary.reports").debug(
            "no report for %s", notebook, exc_info=True
        )


def _html_exporter():  # nbconvert is imported only when a report is rendered
    global _exporter
    if _exporter is None:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter

        _exporter = HTMLExporter(
            extra_loaders=[DictLoader({"relink_report.html.j2": _TEMPLATE})],
            template_file="relink_report.html.j2",
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )
    return _exporter
