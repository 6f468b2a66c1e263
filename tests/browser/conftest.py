"""A real app server on a free local port and Debian's chromium driven by Playwright (see harness)."""

from __future__ import annotations

import pytest

from tests.browser import harness


@pytest.fixture(scope="session")
def server_url(tmp_path_factory) -> str:
    db_path = tmp_path_factory.mktemp("browser") / "app.duckdb"
    log_path = tmp_path_factory.mktemp("logs") / "streamlit.log"
    with harness.serve_app(db_path, log_path=log_path) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not harness.CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing at /usr/bin/chromium; `make test` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = harness.launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()
