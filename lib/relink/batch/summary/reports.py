"""Each account's report: its executed notebook as an HTML page without the code.

``DIR/<account>/<notebook>.html`` beside the ``.ipynb``, rendered by nbconvert's
``HTMLExporter`` (the lab template) with every code input and prompt left out, so a team lead
reads the banner, tables, charts and errors, not Python. It is titled with the account
("northwind-home: audit", in the browser's tab and as the page's first heading), and the cells
tagged :data:`REPORT_HIDDEN_TAG` (how to run the notebook, what ``relink batch`` reads back:
text for whoever runs it) are left out of the report and kept in the notebook. Table cells
are aligned left, so that a long sentence reads from its start. The page needs no network: the
template's CDN scripts (require.js, MathJax, the widget renderer) are left out, charts are
embedded images, and :func:`remote_references` (empty for every page written here) checks it.
A name in it (the title, the account and files the outputs name) cannot display as another:
bidirectional controls (U+202E...) are shown as escapes
(:func:`~relink.batch.summary.shown.without_bidi_controls`).

A report is rendered again only when its notebook is newer (:func:`render_missing`), so a
resumed batch renders only the accounts it ran. Rendering is CPU work (about 0.2 s a
notebook); many reports are rendered in a few processes.
"""

from __future__ import annotations

import html
import os
import re
import stat
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from relink.atomic_files import write_atomically
from relink.batch.summary.shown import without_bidi_controls
from relink.display import RECORD_MIMES, visible

# A notebook cell for whoever runs the notebook (how to run it, the record batch reads back):
# kept in the notebook, left out of its report.
REPORT_HIDDEN_TAG = "hide-in-report"
# The lab template with its network-bound blocks emptied, and its tables' cells aligned left
# (the lab's stylesheet aligns them right: a sentence would read from its end). After the lab's
# rule, and one class more specific than it.
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_css -%}
<style type="text/css">
.jp-Notebook :not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td,
.jp-Notebook :not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon th {
  text-align: left;
  vertical-align: top;
}
</style>
{%- endblock html_head_css -%}
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
_HEADING_STYLE = "font-family:sans-serif;font-size:1.6em;margin:12px 16px 4px"
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
    title = report_title(nb, notebook)
    nb.metadata.pop("title", None)  # the template would prefer it to the account's title
    with warnings.catch_warnings():  # relink's record MIME type has no HTML: left out, fine
        warnings.simplefilter("ignore", UserWarning)
        body, _ = _html_exporter().from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = _REMOTE_ATTRIBUTE.sub(r"\1data-removed-\2", body)  # none expected: belt and braces
    # A name in the notebook's outputs (the account, a file) cannot display as another: its
    # bidi controls are shown as escapes, as the summary page and the terminal show them.
    body = without_bidi_controls(body)
    body = body.replace("<head>", "<head>\n" + _CSP, 1)
    top = f'\n<h1 style="{_HEADING_STYLE}">{html.escape(title)}</h1>' + _message_links(notebook)
    body = _BODY.sub(lambda match: match.group(0) + top, body, count=1)
    target = report_path(notebook)
    write_atomically(target, body.encode("utf-8"))
    return target


def report_title(nb: Any, notebook: Path) -> str:
    """The report's title, "ACCOUNT: NOTEBOOK" (``northwind-home: audit``).

    The account is the one the notebook's record names (the label the notebook itself used),
    else its ``account`` parameter, else the name of the folder the notebook is in (the
    account's output folder in a batch). Control characters are shown escaped.
    """
    account = _recorded_account(nb)
    if not account:
        parameters = nb.metadata.get("papermill", {}).get("parameters", {})
        account = str(parameters.get("account") or "") if isinstance(parameters, dict) else ""
    return f"{visible(account or notebook.parent.name)}: {notebook.stem}"


def _recorded_account(nb: Any) -> str:
    """The account named by the notebook's last relink record (its output's metadata)."""
    for cell in reversed(nb.cells):
        for output in reversed(cell.get("outputs", [])):
            for mime, metadata in (output.get("metadata") or {}).items():
                if mime in RECORD_MIMES and isinstance(metadata, dict):
                    return str(metadata.get("account") or "")
    return ""


def warm_up() -> None:
    """Import nbconvert and compile the report's templates now (about a second of CPU), for
    instance while the batch's kernels start, rather than at the first report."""
    import nbformat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _html_exporter().from_notebook_node(nbformat.v4.new_notebook())


def render_missing(notebooks: Sequence[Path], *, processes: int | None = None) -> list[Path]:
    """Render the reports that are missing or older than their notebook; return all reports.

    A notebook that cannot be rendered gets no report (the summary then links the notebook).
    """
    render_stale(notebooks, processes=processes)
    return [report_path(nb) for nb in notebooks if report_path(nb).is_file()]


def render_stale(notebooks: Sequence[Path], *, processes: int | None = None) -> None:
    """Render the reports that are missing or older than their notebook (or the message it
    links); a notebook that cannot be rendered gets no report."""
    todo = [nb for nb in notebooks if _stale(nb)]
    processes = max(1, min(processes or os.cpu_count() or 1, len(todo) // 8 or 1))
    if processes == 1:
        for nb in todo:
            _render_quietly(nb)
    else:
        with ProcessPoolExecutor(processes) as pool:
            list(pool.map(_render_quietly, todo, chunksize=8))


def _stale(notebook: Path) -> bool:
    """The notebook is there, and its report is missing, or older than the notebook or than
    the message it links. (Paths as text: a resumed batch asks this of every account.)"""
    written = _modified(notebook)
    if written is None or not stat.S_ISREG(written[1]):
        return False  # no notebook: nothing to render
    folder, name = os.path.split(str(notebook))
    rendered = _modified(os.path.join(folder, os.path.splitext(name)[0] + ".html"))
    if rendered is None:
        return True
    message = os.path.join(folder, os.path.basename(folder) + MESSAGE_SUFFIXES["text"])
    sources = [written, _modified(message)]
    return any(s is not None and stat.S_ISREG(s[1]) and s[0] > rendered[0] for s in sources)


def _modified(path: str | Path) -> tuple[int, int] | None:
    """The file's modification time (ns) and mode, or ``None`` when it cannot be read."""
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    return found.st_mtime_ns, found.st_mode


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


_FOCUSABLE_DIV = re.compile(
    r"<div\b[^>]*\bclass=\"(?:[^\"]*\s)?(?:jp-OutputArea-output|jp-Cell-inputWrapper)[\s\"][^>]*"
)
_IMAGE_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)")
NO_ALT = "No description has been provided for this image"  # nbconvert's words


def _accessible(page: str) -> str:
    """What nbconvert's HTML exporter adds to a page: every cell's input and output focusable
    (``tabindex="0"``, as in JupyterLab) and an ``alt`` text on an image without one."""
    page = _FOCUSABLE_DIV.sub(lambda tag: tag.group(0) + ' tabindex="0"', page)
    return _IMAGE_WITHOUT_ALT.sub(f'<img alt="{NO_ALT}"', page)


def _html_exporter():  # nbconvert is imported only when a report is rendered
    global _exporter
    if _exporter is None:
        from jinja2 import DictLoader, pass_context
        from nbconvert import HTMLExporter, TemplateExporter
        from nbconvert.filters.highlight import Highlight2HTML
        from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
        from nbconvert.preprocessors import TagRemovePreprocessor

        class ReportExporter(HTMLExporter):
            """The markdown of a notebook's own cells (the same in every account's report)
            converted once per process; the page as nbconvert writes it, without reading it
            back with BeautifulSoup (:meth:`from_notebook_node`)."""

            _converted: ClassVar[dict[str, str]] = {}

            def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> Any:
                """:meth:`HTMLExporter.from_notebook_node` without its last step: it parsed
                the whole page with BeautifulSoup and wrote it out again to add two
                attributes, half a report's time; :func:`_accessible` adds them to the
                markup instead."""
                info = nb.metadata.get("language_info", {})
                lexer = info.get("pygments_lexer", info.get("name", None))
                highlight = self.filters.get(
                    "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
                )
                resources = self._init_resources(resources)
                data_types = WidgetsDataTypeFilter(
                    notebook_metadata=self._nb_metadata, parent=self, resources=resources
                )
                self.register_filter("highlight_code", highlight)
                self.register_filter("filter_data_type", data_types)
                page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
                return _accessible(page), resources

            @pass_context
            def markdown2html(self, context: Any, source: str) -> str:
                cell = context.get("cell", {})
                if cell.get("cell_type") != "markdown" or cell.get("attachments"):
                    return super().markdown2html(context, source)
                path = context.get("resources", {}).get("metadata", {}).get("path", "")
                key = f"{path}\0{source}"
                if key not in self._converted:
                    if len(self._converted) > 256:
                        self._converted.clear()
                    self._converted[key] = super().markdown2html(context, source)
                return self._converted[key]

        _exporter = ReportExporter(
            extra_loaders=[DictLoader({"relink_report.html.j2": _TEMPLATE})],
            template_file="relink_report.html.j2",
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
            # The notebook was validated as it was read, and the preprocessors only drop cells
            # and prompts: validated once after them, not after each of its dozen (a third of
            # a report's time).
            optimistic_validation=True,
        )
        hidden = TagRemovePreprocessor(remove_cell_tags={REPORT_HIDDEN_TAG})
        _exporter.register_preprocessor(hidden, enabled=True)
    return _exporter
