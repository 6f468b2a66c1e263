"""Every registered page opens without an exception and shows its own title. Parametrised over the
router's own list (ui.navigation.PAGES), so a page added there is covered without further work."""

from __future__ import annotations

import pytest

from ui.navigation import PAGES

pytestmark = pytest.mark.app


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.file)
def test_the_page_opens_with_its_title_and_no_error(app, page):
    at = app(page.file)
    assert not at.exception, f"{page.title} raised: {at.exception}"
    assert [t.value for t in at.title] == [page.title]  # this page, not another one or the home page
    assert not at.error, f"{page.title} shows an error: {[e.value for e in at.error]}"


def test_switching_through_every_page_in_one_session(app):
    """The menu's path: one session, each page in turn (state left by one page must not break the next)."""
    at = app(PAGES[-1].file)
    for page in PAGES:
        at.switch_page(str(page.path)).run()
        assert not at.exception, f"{page.title} raised after switching: {at.exception}"
        assert [t.value for t in at.title] == [page.title]
