"""The app's home page: the desk's queue, where Voilà would show its bare folder list.

``relink app`` without an account serves the whole desk through Voilà (:mod:`relink.desk.app`).
Voilà's root page lists folders; an analyst needs the queue (:mod:`relink.desk.queue`): every
ticket, its state and the next thing to do, each ticket linking to its page
(``voila/render/<account>/<ticket>/<ticket>.ipynb``). :class:`DeskVoila` is Voilà with its
root route, and that route only, served by :class:`QueueHomeHandler`, a subclass of Voilà's own
tree handler: the same token check (``tornado.web.authenticated``), the same settings; the
folder list stays at ``voila/tree``. The page is rendered on every request, so a reload shows
what the desk holds now.

Voilà is imported here, at the top: this module is imported only when the app is served.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import tornado.web
from voila.app import Voila
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from relink.desk import queue, queue_view
from relink.errors import InputError

TODAY_VARIABLE = "RELINK_TODAY"


def home_page(desk: Path, base_url: str = "/") -> str:
    """The queue of ``desk`` as the app's home page: each ticket linking to its page under
    ``base_url``, and a link to the desk's folder list.

    Raises:
        InputError: the desk cannot be read.
    """
    found = queue.collect(desk, today=queue.today_from(os.environ.get(TODAY_VARIABLE, "")))
    return queue_view.queue_html(
        found,
        title="Tickets on the desk",
        link=queue_view.render_link(base_url),
        tree_href=base_url.rstrip("/") + "/voila/tree",
    )


class QueueHomeHandler(TornadoVoilaTreeHandler):
    """Voilà's tree handler whose page, at the app's root, is the desk's queue."""

    def initialize(self, **kwargs: Any) -> None:
        self.desk = Path(kwargs.pop("desk"))
        super().initialize(**kwargs)

    @tornado.web.authenticated
    async def get(self, path: str = "") -> None:
        """The queue (behind Voilà's token, as every page of the app)."""
        try:
            page = home_page(self.desk, self.base_url)
        except InputError as exc:
            raise tornado.web.HTTPError(500, str(exc), reason="desk unreadable") from None
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")  # the queue changes: never a stale one
        self.finish(page)


class DeskVoila(Voila):
    """Voilà on the desk's folder, with the queue as its home page."""

    def init_handlers(self) -> list[Any]:
        """Voilà's handlers, the one for the exact root path replaced by
        :class:`QueueHomeHandler` (``voila/tree`` keeps the folder list)."""
        handlers = []
        for handler in super().init_handlers():
            if handler[0] == self.server_url and handler[1] is TornadoVoilaTreeHandler:
                options = {**handler[2], "desk": self.root_dir}
                handler = (handler[0], QueueHomeHandler, options)
            handlers.append(handler)
        return handlers
