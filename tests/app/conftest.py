"""AppTest fixtures: the real app.py by absolute path, caches cleared between tests."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from engine.paths import REPO_ROOT
from ui.navigation import PAGES

APP = str(REPO_ROOT / "app.py")


@pytest.fixture(autouse=True)
def clear_caches():
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def app():
    """A factory: app(page, **query_params) runs the app once, opened on that page (a file in
    app_pages/, default the home page) at that URL."""

    def make(page: str | None = None, **query_params: str | list[str]) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        for key, value in query_params.items():
            at.query_params[key] = value
        if page is not None:
            at.switch_page(str(next(p for p in PAGES if p.file == page).path))
        return at.run()

    return make
