"""The Runs page through AppTest: a real file through the uploader, a fit, and the fit on the
Scaling laws page."""

from __future__ import annotations

import pytest

from engine.store import REPO_ROOT
from ui.navigation import PAGES

pytestmark = pytest.mark.app

RUNS_PAGE = str(next(p for p in PAGES if p.file == "runs.py").path)
SWEEP = (REPO_ROOT / "datasets" / "hoffmann2022_chinchilla_runs.csv").read_bytes() + b"1e9,-5,2e10,2.5\n"


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_upload_fit_save_and_find_the_fit_on_the_scaling_page(app):
    at = app("runs.py")
    assert not at.exception

    at.file_uploader(key="uploads").set_value(("my_sweep.csv", SWEEP, "text/csv")).run()
    assert metric(at, "Accepted rows") == "234" and metric(at, "Rejected rows") == "1"
    rejected = at.dataframe[0].value
    assert rejected.iloc[0].to_dict() == {"row": 235, "column": "N", "reason": "not positive: -5"}

    store_button = next(b for b in at.button if b.label == "Store 234 rows")
    store_button.click().run()
    assert any("Stored 234 runs" in s.value for s in at.success)

    at.multiselect(key="sources").set_value(["user"]).run()
    at.slider(key="bootstrap").set_value(50).run()
    at.button(key="run_fit").click().run(timeout=120)
    assert not at.exception
    assert any(md.value.startswith("**Fit on 234 runs**") for md in at.markdown)

    at.text_input(key="fit_name").set_value("mine").run()
    at.button(key="save_fit").click().run()
    assert any("Saved as 'mine'" in s.value for s in at.success)

    at.switch_page(str(next(p for p in PAGES if p.file == "scaling.py").path)).run()
    assert "fit:mine" in at.multiselect(key="laws").options
    at.multiselect(key="laws").set_value(["fit:mine", "chinchilla"]).run()
    assert not at.exception
    assert any("Your fit: mine" in md.value for md in at.markdown)

    at.switch_page(str(next(p for p in PAGES if p.file == "plan.py").path)).run()
    at.selectbox(key="plan_law").set_value("fit:mine").run()
    assert not at.exception
    assert any(c.value.startswith("Your fit's 95% bootstrap band") for c in at.caption)


def test_a_file_with_no_usable_rows_says_so(app):
    at = app("runs.py")
    at.file_uploader(key="uploads").set_value(("bad.csv", b"params,tokens,loss\n-1,1e9,2\n", "text/csv")).run()
    assert not at.exception
    assert any("No usable rows" in e.value for e in at.error)
    assert not [b for b in at.button if b.label.startswith("Store")]


def test_an_unreadable_file_gets_a_message_not_a_traceback(app):
    at = app("runs.py")
    at.file_uploader(key="uploads").set_value(("x.csv", bytes(range(256)), "text/csv")).run()
    assert not at.exception
    assert any("binary" in e.value for e in at.error)
