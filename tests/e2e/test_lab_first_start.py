"""JupyterLab as ``relink open`` starts it, on an analyst's first start: no news pop-up asking
to fetch Jupyter's feed, no update check, so no call beyond this machine and nothing over the
ticket's notebook (issue 18: the news pop-up)."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.slow


def test_relink_open_starts_lab_without_news_or_update_checks(relink_lab) -> None:
    page = relink_lab.api("GET", "/lab/tree/northwind-home/HD-1/HD-1.ipynb")
    assert page.status_code == 200
    config = json.loads(
        re.search(
            r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
            page.text,
            re.S,
        ).group(1)
    )
    # the front end asks "Would you like to receive official Jupyter news?" unless disabled
    assert config["news"] == {"disabled": True}
    assert relink_lab.api("GET", "/lab/api/news").json() == {"news": []}
    assert relink_lab.api("GET", "/lab/api/update").json()["notification"] is None
