"""Every page opens by its own path and by the root, with its heading and no exception."""

from __future__ import annotations

import pytest

from tests.browser.harness import assert_no_exception, wait_idle
from ui.navigation import PAGES

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["", *[p.url_path for p in PAGES]])
def test_each_page_opens_by_its_path(page, server_url, path):
    spec = next(p for p in PAGES if p.default) if path == "" else next(p for p in PAGES if p.url_path == path)
    page.goto(f"{server_url}/{path}")
    page.get_by_role("heading", name=spec.title, exact=True).first.wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=90_000)
    assert_no_exception(page)
    assert page.get_by_text("Page not found").count() == 0
