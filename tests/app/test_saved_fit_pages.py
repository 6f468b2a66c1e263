"""A saved fit whose constants have no frontier (beta < 0, saved before fits were assessed, or saved
anyway with its warning) opens the Scaling laws and Plan pages with a message, not a traceback."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.app

NAME = "collinear nine"
PARAMS = {"E": 0.5, "A": 300.0, "B": 9.0, "alpha": 0.31, "beta": -0.059}  # what nine collinear runs fitted to


@pytest.fixture(scope="module", autouse=True)
def saved_degenerate_fit():
    from engine.data.store import list_fits, save_fit
    from ui import db

    with db.get_store().connect() as con:
        if NAME not in {f["name"] for f in list_fits(con)}:
            save_fit(con, NAME, "chinchilla", 9, {"params": PARAMS, "selection": {"sources": ["user"]}})


def texts(elements) -> str:
    return " ".join(e.value for e in elements).replace("\\\\", "")


def test_the_scaling_page_says_the_fit_has_no_frontier(app):
    at = app("scaling.py", laws=["chinchilla", f"fit:{NAME}"])
    assert not at.exception
    assert "beta = -0.059 is not positive" in texts(at.warning) + texts(at.info)
    assert any("Chinchilla" in md.value for md in at.markdown)  # the other law still answers


def test_the_plan_page_says_so_and_stops_cleanly(app):
    at = app(plan_law=f"fit:{NAME}")
    assert not at.exception
    assert "not usable" in texts(at.warning)
    assert "not positive" in texts(at.error)
